"""Checks that more than one assignment grades the same way. A grader test stays one line that calls one of
these, so each assignment's question keeps its own id, points and visibility."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gradekit import checks
from gradekit.proxy import Submission


def binary_accuracy_matches_reference(submission: Submission, reference: Callable, n: int,
                                      gen: torch.Generator) -> None:
    """binary_accuracy on n random logits equals the reference's, with a hint for the two usual mistakes."""
    # |logit| >= 1.5: rounding a logit without its sigmoid is then wrong for every element, whatever the seed
    sign = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    preds = sign * (1.5 + 3 * torch.rand(n, generator=gen))
    y = torch.randint(0, 2, (n,), generator=gen).float()
    y[0] = float(preds[0] > 0)  # at least one right answer, so "always wrong" never matches by chance
    got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
    expected = float(reference(preds, y))
    hint = ""
    if abs(got - (torch.round(preds) == y).float().mean().item()) < 1e-6 and abs(got - expected) > 1e-6:
        hint = ": preds are logits, apply a sigmoid before rounding"
    elif got > 1:
        hint = ": return the fraction of correct predictions, not their number"
    assert abs(got - expected) < 1e-6, f"binary_accuracy gave {got:.4f} on {n} logits, expected {expected:.4f}{hint}"


def binary_accuracy_hand_made_case(submission: Submission) -> None:
    preds = torch.tensor([2.0, -1.0, 0.3, -0.2])
    y = torch.tensor([1.0, 0.0, 0.0, 0.0])
    got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
    assert abs(got - 0.75) < 1e-6, (
        f"binary_accuracy([2.0, -1.0, 0.3, -0.2], [1, 0, 0, 0]) gave {got:.4f}, expected 0.75 (a logit above 0 "
        "predicts 1)")
