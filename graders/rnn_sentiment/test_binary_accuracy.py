"""Q6 binary_accuracy: accuracy of logits against 0/1 labels, as a number in [0, 1]."""

import pytest
import torch

from gradekit import checks

Q = "binary_accuracy"


@pytest.mark.parametrize("n", [1, 10, 257])
@pytest.mark.question(Q, points=1)
def test_matches_reference(submission, reference, n, gen):
    """Matches the reference on random logits"""
    # |logit| >= 1.5: rounding a logit without its sigmoid is then wrong for every element, whatever the seed
    sign = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    preds = sign * (1.5 + 3 * torch.rand(n, generator=gen))
    y = torch.randint(0, 2, (n,), generator=gen).float()
    y[0] = float(preds[0] > 0)  # at least one right answer, so "always wrong" never matches by chance
    got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
    expected = reference.binary_accuracy(preds, y).item()
    hint = ""
    if abs(got - (torch.round(preds) == y).float().mean().item()) < 1e-6 and abs(got - expected) > 1e-6:
        hint = ": preds are logits, apply a sigmoid before rounding"
    elif got > 1:
        hint = ": return the fraction of correct predictions, not their number"
    assert abs(got - expected) < 1e-6, f"binary_accuracy gave {got:.4f} on {n} logits, expected {expected:.4f}{hint}"


@pytest.mark.question(Q, points=1)
def test_hand_made_case(submission):
    """Four logits, three right: 0.75"""
    preds = torch.tensor([2.0, -1.0, 0.3, -0.2])
    y = torch.tensor([1.0, 0.0, 0.0, 0.0])
    got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
    assert abs(got - 0.75) < 1e-6, (
        f"binary_accuracy([2.0, -1.0, 0.3, -0.2], [1, 0, 0, 0]) gave {got:.4f}, expected 0.75 (a logit above 0 "
        "predicts 1)")
