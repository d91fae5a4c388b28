"""Whose mistake a wrong accuracy is (gradekit.shared_checks.said_by_own_binary_accuracy): a train or evaluate that
averages what the student's own wrong binary_accuracy said of the right inputs did its job, and the mistake is
binary_accuracy's alone; one that gave binary_accuracy the wrong inputs, skipped a batch, or made its figure up did
not. (Fast: the records a probe run returns, made here.)"""

from __future__ import annotations

import pytest
import torch

from gradekit.shared_checks import said_by_own_binary_accuracy
from reference.rnn_sentiment import binary_accuracy

gen = torch.Generator().manual_seed(0)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """32 logits and labels, about four in five of them right (so that no shortcut gives the true accuracy)."""
    y = torch.randint(0, 2, (32,), generator=gen).float()
    return (2 * y - 1) * (torch.randn(32, generator=gen) + 1), y


BATCHES = [batch() for _ in range(3)]
TRUE = sum(float(binary_accuracy(p, y)) for p, y in BATCHES) / len(BATCHES)


def record(inputs=BATCHES, said=lambda p, y: 1.0) -> dict:
    return {"accuracy_calls": [{"preds": p, "y": y, "value": said(p, y)} for p, y in inputs]}


@pytest.mark.parametrize("out, returned, blamed_on_binary_accuracy", [
    # binary_accuracy says 1.0 of every batch, and train returned the mean of what it said
    (record(), 1.0, True),
    # ... but a figure that is not that mean is the function's own
    (record(), 0.75, False),
    # binary_accuracy given probabilities (the rnn model's output) instead of logits: the inputs were wrong
    (record([(torch.sigmoid(p), y) for p, y in BATCHES], said=lambda p, y: float(binary_accuracy(p, y))),
     sum(float(binary_accuracy(torch.sigmoid(p), y)) for p, y in BATCHES) / 3, False),
    # one batch never measured
    (record(BATCHES[:2]), 1.0, False),
    # binary_accuracy returned something that is not a number
    (record(said=lambda p, y: None), 1.0, False),
    # never called (the assignment has no binary_accuracy, or the function computed its own figure)
    ({}, 1.0, False),
    # inputs of shapes that do not go together
    (record([(p[:5], y) for p, y in BATCHES]), 1.0, False),
])
def test_a_wrong_accuracy_is_blamed_on_binary_accuracy_only_when_it_said_so(out, returned, blamed_on_binary_accuracy):
    assert said_by_own_binary_accuracy(out, returned, TRUE, len(BATCHES), binary_accuracy) is blamed_on_binary_accuracy


def test_without_a_reference_nothing_is_blamed_on_binary_accuracy():
    assert not said_by_own_binary_accuracy(record(), 1.0, TRUE, len(BATCHES), None)
