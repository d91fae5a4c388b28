"""Checks that more than one assignment grades the same way. A grader test stays one line that calls one of
these, so each assignment's question keeps its own id, points and visibility."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
import torch

from gradekit import checks
from gradekit.proxy import Submission


@pytest.fixture(scope="session")
def held_out_seed() -> int:
    """The seed of a grading run's held-out set: drawn on the host apart from the plugin's `seed` (whose draws
    enter the kernel as inputs) and never sent to the kernel, so nothing there can rebuild the set or its
    labels. Far above the small seeds the bundled data uses. An assignment's conftest imports it."""
    return 2**32 + secrets.randbits(62)


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


def near_zero_case(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels): a handful of logits near 0 and far from it, rounded to 2 decimals so that the feedback
    shows them exactly. Every small positive logit is labelled 1, so rounding a logit, or a threshold of 0.5 on
    it, always scores lower than the right answer; one large logit is labelled wrongly, so that answer is neither
    0 nor 1. Drawn per run: no table of answers to a case seen in feedback fits."""
    n = int(torch.randint(4, 8, (), generator=gen))
    small = torch.rand(n, generator=gen) < 0.5
    small[0], small[1] = True, False
    size = torch.where(small, 0.05 + 0.4 * torch.rand(n, generator=gen), 1 + 3 * torch.rand(n, generator=gen))
    preds = size * (torch.randint(0, 2, (n,), generator=gen) * 2 - 1)
    preds[0] = preds[0].abs()  # a small positive logit: it predicts 1
    y = torch.randint(0, 2, (n,), generator=gen).float()
    y[small & (preds > 0)] = 1.0
    y[1] = float(preds[1] <= 0)  # a large logit, labelled the other way
    return torch.tensor([round(float(p), 2) for p in preds]), y


def binary_accuracy_hand_made_case(submission: Submission, reference: Callable, gen: torch.Generator) -> None:
    preds, y = near_zero_case(gen)
    got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
    expected = float(reference(preds, y))
    shown = [round(float(p), 2) for p in preds]
    assert abs(got - expected) < 1e-6, (
        f"binary_accuracy({shown}, {[int(v) for v in y.tolist()]}) gave {got:.4f}, expected {expected:.4f} (a "
        "logit above 0 predicts 1)")


# Runs in the student's kernel, after an assignment's prefix has defined `model` (a probe model of the grader's own),
# `batches`, `criterion` and `which`: the student's train or evaluate on the probe, recording how the model was
# called. The assignment's suffix adds its predictions and sets `result`. The weights are read with the agent's
# gk_state_dict / gk_parameters (from the module's storage), not through nn.Module methods a notebook can patch.
RUN_TRAIN_OR_EVALUATE = """
calls = []
hook = model.register_forward_hook(lambda m, i, o: calls.append([torch.is_grad_enabled(), m.training]))
before = {k: v.clone() for k, v in gk_state_dict(model).items()}
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
if which == "train":
    model.eval()
    returned = train(model, batches, optimizer, criterion)
else:
    model.train()
    returned = evaluate(model, batches, criterion)
hook.remove()
after = {k: v.clone() for k, v in gk_state_dict(model).items()}
has_grad = [n for n, p in gk_parameters(model) if p.grad is not None and bool(p.grad.abs().sum() > 0)]
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
    assert out["calls"], "evaluate never called the model, so it measured nothing"  # doing nothing earns nothing
    assert not out["changed"], f"evaluate changed weights ({', '.join(out['changed'])}); it must not train"


def evaluate_ran_without_gradient_in_eval_mode(out: dict) -> None:
    assert out["calls"], "evaluate never called the model"
    assert not any(grad for grad, _ in out["calls"]), "evaluate: wrap the loop in `with torch.no_grad():`"
    assert not any(training for _, training in out["calls"]), "evaluate: call model.eval() first"
    assert not out["has_grad"], "evaluate computed gradients (loss.backward()); it must only measure"
