import pytest

from gradekit.written.checks import grade_free_text, grade_math


@pytest.mark.question("rnn_recurrence", points=3)
def test_closed_form(answer, reference, math_checker, record_property):
    """y_T in closed form"""
    kind, spec = reference.MATH["rnn_recurrence"]
    grade_math(math_checker, answer("rnn_recurrence"), spec, record_property, kind=kind)


@pytest.mark.question("rnn_recurrence", points=1)
def test_meaning(answer, reference):
    """What the output unit computes, in words (graded by a TA)"""
    grade_free_text(answer("rnn_meaning"), reference.RUBRICS["rnn_meaning"])
