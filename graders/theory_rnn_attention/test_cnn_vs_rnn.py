import pytest


@pytest.mark.question("cnn_vs_rnn", points=2)
def test_cnn_vs_rnn(check_free_text):
    """CNNs and RNNs compared (graded by a TA)"""
    check_free_text("cnn_vs_rnn")
