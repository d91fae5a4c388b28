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
def test_one_probability_per_review(submission, classifier, batch, gen):
    """Returns shape (batch,) of probabilities, the sigmoid of the output layer"""
    text, lengths = padded_batch(gen, [5] * batch)
    out = checks.shape(classifier(text, lengths, no_grad=True), (batch,),
                       f"RNNClassifier output for a batch of {batch}")
    assert ((out >= 0) & (out <= 1)).all(), (
        f"RNNClassifier should return probabilities in [0, 1]; got values from {out.min():.3g} to "
        f"{out.max():.3g} (apply a sigmoid to the final linear layer)")
    sigmoid_of_the_output_layer(submission, classifier, text, lengths, gen)


def sigmoid_of_the_output_layer(submission, classifier, text, lengths, gen):
    """With the output layer's weight loaded as zeros and its bias as a drawn b, every review's probability is
    sigmoid(b), whatever the embedding and the LSTM compute: a second sigmoid (all probabilities in (0.5, 0.73),
    which the range check cannot see) or none shows. Skipped for a classifier whose output layer is not one
    (1, hidden) weight and one (1,) bias, which the other checks judge."""
    bias = float(torch.empty(()).uniform_(1.0, 3.0, generator=gen)) * (
        1 if bool(torch.randint(0, 2, (), generator=gen)) else -1)
    found = {}

    def output_layer_is_constant(drawn):
        weights = [k for k, v in drawn.items() if tuple(v.shape) == (1, HID)]
        biases = [k for k, v in drawn.items() if tuple(v.shape) == (1,)]
        if len(weights) == 1 and len(biases) == 1:
            drawn[weights[0]].zero_()
            drawn[biases[0]].fill_(bias)
            found["layer"] = weights[0], biases[0]
        zero_padding_rows(drawn)

    checks.load_drawn_weights(submission, classifier, gen, adjust=output_layer_is_constant)
    if not found:
        return
    out = checks.tensor(classifier(text, lengths, no_grad=True), "RNNClassifier output").reshape(-1).double()
    want = torch.sigmoid(torch.tensor(bias, dtype=torch.float64))
    if bool(((out - want).abs() < 1e-5).all()):
        return
    weight, b = found["layer"]
    got = float(out[0])
    why = ("apply a sigmoid to the final linear layer's output" if abs(got - bias) < 1e-5 else
           "the sigmoid is applied more than once: apply it once, to the final linear layer's output"
           if abs(got - float(torch.sigmoid(want))) < 1e-5 else
           "the probability should be sigmoid(output layer(final hidden state)), with nothing after it")
    pytest.fail(f"with the graders' weights loaded and the output layer set to {weight} = 0, {b} = {bias:.3f}, "
                f"every review's probability should be sigmoid({bias:.3f}) = {float(want):.4f}; RNNClassifier gave "
                f"{got:.4f}: {why}")


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
