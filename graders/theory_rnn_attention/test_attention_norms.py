import pytest

from gradekit.written.checks import grade_math


@pytest.mark.question("attention_norms", points=1)
@pytest.mark.parametrize("answer_id", ["norm_x1", "norm_x2", "norm_x3"])
def test_norm(answer_id, answer, reference, math_checker, record_property):
    """The norm of x_i in terms of beta"""
    kind, spec = reference.MATH[answer_id]
    grade_math(math_checker, answer(answer_id), spec, record_property, kind=kind)
