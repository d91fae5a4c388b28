"""Q5 RNNClassifier: one probability per review, and padding that changes nothing (judged with weights the
graders draw and load, so that a model whose own weights make every review look alike cannot pass it)."""

import pytest
import torch

from gradekit import checks

Q = "rnn_classifier"
V, E, HID = 50, 8, 6


def padded_batch(gen, lengths):
    text = torch.zeros(max(lengths), len(lengths), dtype=torch.long)
    for column, n in enumerate(lengths):
        text[:n, column] = torch.randint(2, V, (n,), generator=gen)
    return text, torch.tensor(lengths)


@pytest.fixture
def classifier(submission):
    model = submission.new("RNNClassifier", V, E, HID)
    model.method("eval")
    return model


@pytest.mark.parametrize("batch", [1, 3, 8])
@pytest.mark.question(Q, points=0.5)
def test_one_probability_per_review(classifier, batch, gen):
    """Returns shape (batch,) of probabilities"""
    text, lengths = padded_batch(gen, [5] * batch)
    out = checks.shape(classifier(text, lengths, no_grad=True), (batch,),
                       f"RNNClassifier output for a batch of {batch}")
    assert ((out >= 0) & (out <= 1)).all(), (
        f"RNNClassifier should return probabilities in [0, 1]; got values from {out.min():.3g} to "
        f"{out.max():.3g} (apply a sigmoid to the final linear layer)")


@pytest.mark.question(Q, points=0.5)
def test_runs_without_lengths(classifier, gen):
    """Works when lengths is None"""
    text, _ = padded_batch(gen, [4, 4])
    checks.shape(classifier(text, no_grad=True), (2,), "RNNClassifier output without lengths")


def zero_padding_rows(drawn):
    """The embedding table (V, E) keeps its padding row (id 0) at zero, as the model keeps it."""
    for value in drawn.values():
        if tuple(value.shape) == (V, E):
            value[0] = 0


@pytest.mark.question(Q, points=2)
def test_padding_does_not_change_a_review(submission, classifier, gen):
    """A review's probability is the same alone and padded in a batch"""
    checks.load_drawn_weights(submission, classifier, gen, adjust=zero_padding_rows)
    text, lengths = padded_batch(gen, [9, 3, 6])
    batched = checks.shape(classifier(text, lengths, no_grad=True), (3,), "RNNClassifier output")
    # A finite constant is what a model with no path from the review gives; NaNs are a failure of their own (the
    # probability checks above name them) and this check compares them as NaNs, as before.
    assert not bool(torch.isfinite(batched).all()) or float(batched.max() - batched.min()) > 1e-6, (
        f"with the graders' random weights loaded, RNNClassifier gave three different reviews the same probability "
        f"({float(batched[0]):.4f}): the output must come from the review, through the embedding, the LSTM and "
        "the linear layer")
    alone = checks.shape(classifier(text[:3, 1:2], torch.tensor([3]), no_grad=True), (1,),
                         "RNNClassifier output for one review")
    checks.close(batched[1:2], alone, "the probability of a 3-word review padded to 9 words", atol=1e-5,
                 hint="pass lengths to pack_padded_sequence and classify from the final hidden state of each "
                      "review, not from the padded time steps")


@pytest.mark.question(Q, points=1, hidden=True)
def test_every_parameter_learns(submission, gen):
    """Every parameter receives gradient"""
    model = submission.new("RNNClassifier", V, E, HID)
    text, lengths = padded_batch(gen, [5, 2])
    grads = model.forward_backward(text, lengths)["grads"]
    frozen = [name for name, g in grads.items() if isinstance(g, torch.Tensor) and torch.count_nonzero(g) == 0]
    assert not frozen, f"RNNClassifier: these parameters receive no gradient: {frozen}"
