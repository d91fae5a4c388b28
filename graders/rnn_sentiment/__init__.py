"""The graders of rnn_sentiment: pytest checks collected as the package `graders.rnn_sentiment`."""
