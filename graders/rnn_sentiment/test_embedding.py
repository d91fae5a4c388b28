"""Q3 Embedding: shapes for any index shape, N(0, 1) weights, and a padding row that stays zero."""

import pytest
import torch

from gradekit import checks

Q = "embedding"


def weight_of(module, num_embeddings, embedding_dim):
    """The student's table, found by shape whatever they named it."""
    params = module.parameters(values=True)
    tables = [p for p in params if tuple(p["shape"]) == (num_embeddings, embedding_dim)]
    if len(tables) != 1:
        pytest.fail(f"Embedding({num_embeddings}, {embedding_dim}, ...) should have one weight parameter of shape "
                    f"({num_embeddings}, {embedding_dim}); its parameters are "
                    f"{[(p['name'], tuple(p['shape'])) for p in params] or 'none'}")
    return tables[0]


@pytest.mark.parametrize("index_shape", [(), (7,), (5, 3), (2, 3, 4)], ids=str)
@pytest.mark.question(Q, points=0.25)
def test_output_shape(submission, index_shape, gen):
    """Output shape is (*inputs.shape, embedding_dim)"""
    emb = submission.new("Embedding", 11, 6, 0)
    inputs = torch.randint(0, 11, index_shape, generator=gen)
    out = emb(inputs)
    checks.shape(out, (*index_shape, 6), f"Embedding(11, 6, 0) on ids of shape {checks.fmt_shape(index_shape)}")


@pytest.mark.question(Q, points=1)
def test_lookup_matches_its_own_table(submission, gen):
    """Returns the rows of its own weight for the given ids"""
    emb = submission.new("Embedding", 13, 5, 0)
    weight = weight_of(emb, 13, 5)["value"]
    inputs = torch.randint(1, 13, (6, 4), generator=gen)
    checks.close(emb(inputs), weight[inputs], "Embedding output",
                 hint="each id should select its row of self.weight")


@pytest.mark.parametrize("padding_idx", [0, 3])
@pytest.mark.question(Q, points=0.5)
def test_padding_row_is_zero(submission, padding_idx, gen):
    """The padding id embeds to zeros"""
    emb = submission.new("Embedding", 9, 4, padding_idx)
    inputs = torch.full((3, 2), padding_idx)
    out = checks.shape(emb(inputs), (3, 2, 4), "Embedding output")
    assert torch.count_nonzero(out) == 0, (
        f"Embedding: the padding id {padding_idx} must embed to zeros; use the padding mask in forward")


@pytest.mark.question(Q, points=1)
def test_padding_row_gets_no_gradient(submission, gen):
    """The padding row receives no gradient; used rows do"""
    emb = submission.new("Embedding", 10, 4, 0)
    name = weight_of(emb, 10, 4)["name"]
    inputs = torch.tensor([[0, 2], [5, 0]])
    grad_output = torch.randn(2, 2, 4, generator=gen)
    grads = emb.forward_backward(inputs, grad_output=grad_output)["grads"]
    grad = checks.tensor(grads.get(name), f"the gradient of Embedding.{name}")
    assert torch.count_nonzero(grad[0]) == 0, "Embedding: the padding row receives gradient; it must never learn"
    assert torch.count_nonzero(grad[2]) > 0 and torch.count_nonzero(grad[5]) > 0, (
        "Embedding: rows of ids used in the input receive no gradient; is the weight an nn.Parameter used in "
        "forward?")


@pytest.mark.question(Q, points=1, hidden=True)
def test_initialised_standard_normal(submission):
    """Weights start from N(0, 1)"""
    emb = submission.new("Embedding", 2000, 64, 0, seed=1234)
    weight = weight_of(emb, 2000, 64)["value"][1:].to(torch.float64)
    mean, std = weight.mean().item(), weight.std().item()
    assert abs(mean) < 0.02 and 0.97 < std < 1.03, (
        f"Embedding: weights should start from a standard normal N(0, 1) (torch.randn); yours have mean "
        f"{mean:.3f} and standard deviation {std:.3f}")
