import pytest


@pytest.mark.question("rnn_recurrence", points=3)
def test_closed_form(check_math):
    """y_T in closed form"""
    check_math("rnn_recurrence")


@pytest.mark.question("rnn_recurrence", points=1)
def test_meaning(check_free_text):
    """What the output unit computes, in words (graded by a TA)"""
    check_free_text("rnn_meaning")
