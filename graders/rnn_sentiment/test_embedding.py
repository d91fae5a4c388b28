"""Q3 Embedding: shapes for any index shape, N(0, 1) weights, and a padding row that stays zero. What the
look-up returns is judged with a table the graders draw and load, never with the module's own values."""

import pytest
import torch

from gradekit import checks

Q = "embedding"


def table_of(module, num_embeddings, embedding_dim, values=False):
    """The student's table, found by shape whatever they named it: its row {name, shape[, value]}."""
    params = checks.read_module(module).parameters(values)
    tables = [p for p in params if tuple(p["shape"]) == (num_embeddings, embedding_dim)]
    if len(tables) != 1:
        pytest.fail(f"Embedding({num_embeddings}, {embedding_dim}, ...) should have one weight parameter of shape "
                    f"({num_embeddings}, {embedding_dim}); its parameters are "
                    f"{[(p['name'], tuple(p['shape'])) for p in params] or 'none'}")
    return tables[0]


def load_table(submission, module, num_embeddings, embedding_dim, padding_idx, gen):
    """Load a drawn table (its padding row zero, as the module keeps it) and return it."""
    name = table_of(module, num_embeddings, embedding_dim)["name"]
    table = torch.randn(num_embeddings, embedding_dim, generator=gen)
    table[padding_idx] = 0
    checks.load_weights(submission, module, {name: table})
    return table


@pytest.mark.parametrize("index_shape", [(), (7,), (5, 3), (2, 3, 4)], ids=str)
@pytest.mark.question(Q, points=0.25)
def test_output_shape(submission, index_shape, gen):
    """Output shape is (*inputs.shape, embedding_dim)"""
    emb = submission.new("Embedding", 11, 6, 0)
    inputs = torch.randint(0, 11, index_shape, generator=gen)
    out = emb(inputs)
    checks.shape(out, (*index_shape, 6), f"Embedding(11, 6, 0) on ids of shape {checks.fmt_shape(index_shape)}")


@pytest.mark.question(Q, points=1)
def test_lookup_returns_rows_of_the_table(submission, gen):
    """Returns the rows of its weight for the given ids, with a weight the graders load"""
    emb = submission.new("Embedding", 13, 5, 0)
    table = load_table(submission, emb, 13, 5, 0, gen)
    inputs = torch.randint(1, 13, (6, 4), generator=gen)
    checks.close(emb(inputs), table[inputs], "Embedding output",
                 hint="each id should select its row of self.weight")


@pytest.mark.parametrize("padding_idx", ["first", "drawn"])
@pytest.mark.question(Q, points=0.5)
def test_padding_row_is_zero(submission, padding_idx, gen):
    """The padding id embeds to zeros, the other ids to their rows"""
    padding_idx = 0 if padding_idx == "first" else int(torch.randint(1, 9, (), generator=gen))
    emb = submission.new("Embedding", 9, 4, padding_idx)
    load_table(submission, emb, 9, 4, padding_idx, gen)
    others = torch.tensor([i for i in range(9) if i != padding_idx])
    inputs = torch.stack([torch.full((8,), padding_idx), others])  # (2, 8): padding ids, then every other id
    out = checks.shape(emb(inputs), (2, 8, 4), "Embedding output")
    assert torch.count_nonzero(out[0]) == 0, (
        f"Embedding: the padding id {padding_idx} must embed to zeros; use the padding mask in forward")
    assert bool((out[1].abs().sum(-1) > 0).all()), (
        f"Embedding: with a random table loaded, ids other than the padding id {padding_idx} embed to zeros; each "
        "id should select its row of self.weight")


@pytest.mark.question(Q, points=1)
def test_padding_row_gets_no_gradient(submission, gen):
    """The padding row receives no gradient; used rows do"""
    emb = submission.new("Embedding", 10, 4, 0)
    name = table_of(emb, 10, 4)["name"]
    inputs = torch.randint(1, 10, (2, 3), generator=gen)
    inputs[0, 0] = inputs[1, 2] = 0
    grad_output = torch.randn(2, 3, 4, generator=gen)
    grads = emb.forward_backward(inputs, grad_output=grad_output)["grads"]
    grad = checks.tensor(grads.get(name), f"the gradient of Embedding.{name}")
    assert torch.count_nonzero(grad[0]) == 0, "Embedding: the padding row receives gradient; it must never learn"
    used = inputs[inputs != 0].unique()
    assert all(torch.count_nonzero(grad[i]) > 0 for i in used.tolist()), (
        "Embedding: rows of ids used in the input receive no gradient; is the weight an nn.Parameter used in "
        "forward?")


@pytest.mark.question(Q, points=1, hidden=True)
def test_initialised_standard_normal(submission):
    """Weights start from N(0, 1)"""
    emb = submission.new("Embedding", 2000, 64, 0, seed=1234)
    weight = table_of(emb, 2000, 64, values=True)["value"][1:].to(torch.float64)
    mean, std = weight.mean().item(), weight.std().item()
    assert abs(mean) < 0.02 and 0.97 < std < 1.03, (
        f"Embedding: weights should start from a standard normal N(0, 1) (torch.randn); yours have mean "
        f"{mean:.3f} and standard deviation {std:.3f}")
