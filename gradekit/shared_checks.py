"""Checks that more than one assignment grades the same way. A grader test stays one line that calls one of
these, so each assignment's question keeps its own id, points and visibility."""

from __future__ import annotations

from collections.abc import Callable

import pytest
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


# Runs in the student's kernel, after an assignment's prefix has defined `model` (a probe model of the grader's own),
# `batches`, `criterion` and `which`: the student's train or evaluate on the probe, recording how the model was
# called. The assignment's suffix adds its predictions and sets `result`.
RUN_TRAIN_OR_EVALUATE = """
calls = []
hook = model.register_forward_hook(lambda m, i, o: calls.append([torch.is_grad_enabled(), m.training]))
before = {k: v.detach().clone() for k, v in model.state_dict().items()}
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
if which == "train":
    model.eval()
    returned = train(model, batches, optimizer, criterion)
else:
    model.train()
    returned = evaluate(model, batches, criterion)
hook.remove()
after = {k: v.detach().clone() for k, v in model.state_dict().items()}
has_grad = [n for n, p in model.named_parameters() if p.grad is not None and bool(p.grad.abs().sum() > 0)]
model.eval()
"""


def returned_loss_and_accuracy(name: str, returned: object) -> tuple[float, float]:
    """The (mean loss, mean accuracy) pair a train or evaluate function returned, as two floats."""
    if not (isinstance(returned, tuple) and len(returned) == 2):
        pytest.fail(f"{name} should return (mean loss, mean accuracy); it returned {checks.describe_value(returned)}")
    loss, acc = returned
    return checks.number(loss, f"{name}'s returned loss"), checks.number(acc, f"{name}'s returned accuracy")


def changed_weights(out: dict) -> list[str]:
    """Which weights train or evaluate changed, decided on the host from the before/after state dicts the probe
    run returns: a kernel that patches torch.equal cannot make an unchanged model look trained."""
    before, after = out.get("before"), out.get("after")
    if not (isinstance(before, dict) and isinstance(after, dict) and before.keys() == after.keys()
            and all(isinstance(v, torch.Tensor) for v in [*before.values(), *after.values()])):
        pytest.fail("the probe model's weights could not be read back from your kernel; run your notebook from "
                    "the top and check that train and evaluate leave the model in place")
    return [k for k in sorted(before) if before[k].shape != after[k].shape or not torch.equal(before[k], after[k])]


def evaluate_changed_nothing(out: dict) -> None:
    assert not out["changed"], f"evaluate changed weights ({', '.join(out['changed'])}); it must not train"


def evaluate_ran_without_gradient_in_eval_mode(out: dict) -> None:
    assert out["calls"], "evaluate never called the model"
    assert not any(grad for grad, _ in out["calls"]), "evaluate: wrap the loop in `with torch.no_grad():`"
    assert not any(training for _, training in out["calls"]), "evaluate: call model.eval() first"
    assert not out["has_grad"], "evaluate computed gradients (loss.backward()); it must only measure"
