"""Written answers about the outputs, and the layer itself as code: a formula with matrix products is not
safe to read as a scalar expression, so the layer is asked for as a function and tested numerically."""

import pytest
import torch


@pytest.mark.question("attention_outputs", points=2)
def test_y2_exact(check_math):
    """y_2 exactly, for any beta"""
    check_math("y2_exact")


@pytest.mark.question("attention_outputs", points=1)
@pytest.mark.parametrize("answer_id", ["y1_limit", "y2_limit", "y3_limit"])
def test_limit(answer_id, check_math):
    """y_i as beta grows without bound"""
    check_math(answer_id)


@pytest.mark.question("attention_outputs", points=1)
def test_meaning(check_free_text):
    """What the layer does for large beta, in words (graded by a TA)"""
    check_free_text("attention_meaning")


@pytest.fixture
def tokens(gen) -> torch.Tensor:
    """(T, d): its size and values fresh every grading run, so no answer fits in advance."""
    T, d = int(torch.randint(3, 9, (), generator=gen)), int(torch.randint(2, 7, (), generator=gen))
    return torch.randn(T, d, generator=gen, dtype=torch.float64)


@pytest.mark.question("attention_outputs", points=0.5)
def test_self_attention_shape(submission, tokens):
    """self_attention keeps the (T, d) shape"""
    out = submission.call("self_attention", tokens)
    assert isinstance(out, torch.Tensor), f"self_attention should return a tensor, not {type(out).__name__}"
    assert tuple(out.shape) == tuple(tokens.shape), (
        f"self_attention(x) for x of shape {tuple(tokens.shape)} returned shape {tuple(out.shape)}")


@pytest.mark.question("attention_outputs", points=1.5)
def test_self_attention_values(submission, reference, tokens):
    """self_attention computes softmax(x x^T) x"""
    out = submission.call("self_attention", tokens)
    expected = reference.self_attention(tokens)
    assert isinstance(out, torch.Tensor) and out.shape == expected.shape, "self_attention returned the wrong shape"
    over_queries = (tokens @ tokens.T).softmax(dim=0) @ tokens
    if torch.allclose(out.double(), over_queries, atol=1e-5):
        pytest.fail("self_attention takes the softmax over the wrong dimension: each row i (a query) should sum "
                    "to 1 over the keys j")
    worst = (out.double() - expected).abs().max().item()
    assert worst < 1e-5, (f"self_attention(x) differs from softmax(x x^T) x by up to {worst:.3g}; use the "
                          "unscaled scores x_i . x_j, a softmax over j, and the rows of x as values")
