import pytest


@pytest.mark.question("attention_norms", points=1)
@pytest.mark.parametrize("answer_id", ["norm_x1", "norm_x2", "norm_x3"])
def test_norm(answer_id, check_math):
    """The norm of x_i in terms of beta"""
    check_math(answer_id)
