import pytest

from gradekit.written.checks import grade_free_text


@pytest.mark.question("cnn_vs_rnn", points=2)
def test_cnn_vs_rnn(answer, reference):
    """CNNs and RNNs compared (graded by a TA)"""
    grade_free_text(answer("cnn_vs_rnn"), reference.RUBRICS["cnn_vs_rnn"])
