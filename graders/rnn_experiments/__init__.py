"""The graders of rnn_experiments: pytest checks collected as the package `graders.rnn_experiments`."""
