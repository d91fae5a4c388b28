import pytest

from gradekit.written.checks import grade_free_text, grade_math


@pytest.mark.question("linear_attention_complexity", points=1)
def test_cost_in_t(answer, reference, math_checker, record_property):
    """The cost as a function of T"""
    kind, spec = reference.MATH["cost_in_T"]
    grade_math(math_checker, answer("cost_in_T"), spec, record_property, kind=kind)


@pytest.mark.question("linear_attention_complexity", points=2)
def test_cost_in_t_and_d(answer, reference, math_checker, record_property):
    """The cost as a function of T and d"""
    kind, spec = reference.MATH["cost_in_T_and_d"]
    grade_math(math_checker, answer("cost_in_T_and_d"), spec, record_property, kind=kind)


@pytest.mark.question("linear_attention_complexity", points=1)
def test_why(answer, reference):
    """Why it is linear in T (graded by a TA)"""
    grade_free_text(answer("linear_attention_why"), reference.RUBRICS["linear_attention_why"])
