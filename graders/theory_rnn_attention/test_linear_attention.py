import pytest


@pytest.mark.question("linear_attention_complexity", points=1)
def test_cost_in_t(check_math):
    """The cost as a function of T"""
    check_math("cost_in_T")


@pytest.mark.question("linear_attention_complexity", points=2)
def test_cost_in_t_and_d(check_math):
    """The cost as a function of T and d"""
    check_math("cost_in_T_and_d")


@pytest.mark.question("linear_attention_complexity", points=1)
def test_why(check_free_text):
    """Why it is linear in T (graded by a TA)"""
    check_free_text("linear_attention_why")
