"""The graders of theory_rnn_attention: pytest checks collected as the package `graders.theory_rnn_attention`."""
