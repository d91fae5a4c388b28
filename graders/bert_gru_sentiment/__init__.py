"""The graders of bert_gru_sentiment: pytest checks collected as the package `graders.bert_gru_sentiment`."""
