"""Checks that more than one assignment grades the same way. A grader test stays one line that calls one of
these, so each assignment's question keeps its own id, points and visibility."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from gradekit import checks
from gradekit.figures import Panel, Series, confusion_matrix, line_chart
from gradekit.plugin import CONTEXT
from gradekit.proxy import Submission


@pytest.fixture(scope="session")
def held_out_seed(request: pytest.FixtureRequest) -> int:
    """The seed of a grading's held-out set: derived on the host apart from the plugin's `seed` (whose draws
    enter the kernel as inputs) and never sent to the kernel, so nothing there can rebuild the set or its
    labels (gradekit.seeds). An assignment's conftest imports it."""
    return request.config.stash[CONTEXT].seeds.held_out


def _accuracy_case(n: int, gen: torch.Generator, right_first: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """n logits with |logit| >= 1.5 (rounding a logit without its sigmoid is then wrong for every element, whatever
    the seed) and random 0/1 labels, the first of which is right (`right_first`) or wrong."""
    sign = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    preds = sign * (1.5 + 3 * torch.rand(n, generator=gen))
    y = torch.randint(0, 2, (n,), generator=gen).float()
    y[0] = float(preds[0] > 0) if right_first else float(preds[0] <= 0)
    return preds, y


def accuracy_cases(n: int, gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two cases of n logits whose true accuracies differ, so that no constant answers both (issue 11: a lone
    one-logit case, always right, was passed by `return 1.0`). The first case has a right answer, the second a
    wrong one; for n > 1 the second is redrawn until its accuracy differs from the first's."""
    first = _accuracy_case(n, gen, right_first=True)
    accuracy = ((first[0] > 0).float() == first[1]).float().mean()
    while True:
        second = _accuracy_case(n, gen, right_first=False)
        if ((second[0] > 0).float() == second[1]).float().mean() != accuracy:
            return [first, second]


def binary_accuracy_matches_reference(submission: Submission, reference: Callable, n: int,
                                      gen: torch.Generator) -> None:
    """binary_accuracy on two drawn batches of n random logits (of different accuracies) equals the reference's,
    with a hint for the two usual mistakes."""
    for preds, y in accuracy_cases(n, gen):
        got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
        expected = float(reference(preds, y))
        hint = ""
        if abs(got - (torch.round(preds) == y).float().mean().item()) < 1e-6 and abs(got - expected) > 1e-6:
            hint = ": preds are logits, apply a sigmoid before rounding"
        elif got > 1:
            hint = ": return the fraction of correct predictions, not their number"
        assert abs(got - expected) < 1e-6, (
            f"binary_accuracy gave {got:.4f} on {n} logit{'s' if n > 1 else ''}, expected {expected:.4f}{hint}")


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


def near_zero_cases(gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two near_zero_case draws whose answers differ: no constant matches both."""
    first = near_zero_case(gen)
    while True:
        second = near_zero_case(gen)
        if _true_accuracy(*second) != _true_accuracy(*first):
            return [first, second]


def _true_accuracy(preds: torch.Tensor, y: torch.Tensor) -> float:
    return float(((preds > 0).float() == y).float().mean())


def binary_accuracy_hand_made_case(submission: Submission, reference: Callable, gen: torch.Generator) -> None:
    for preds, y in near_zero_cases(gen):
        got = checks.number(submission.call("binary_accuracy", preds, y), "binary_accuracy(preds, y)")
        expected = float(reference(preds, y))
        shown = [round(float(p), 2) for p in preds]
        assert abs(got - expected) < 1e-6, (
            f"binary_accuracy({shown}, {[int(v) for v in y.tolist()]}) gave {got:.4f}, expected {expected:.4f} (a "
            "logit above 0 predicts 1)")


# -- train and evaluate on a probe model ----------------------------------------------------------------------
#
# A train or evaluate function is run in the student's kernel on a probe model of the graders' own (so a mistake in
# the student's model cannot fail it), with batches the graders drew and plain SGD. RUN_TRAIN_OR_EVALUATE runs
# after an assignment's prefix has defined `model`, `batches` (a list whose items hold the model's input first),
# `criterion`, `which` and `lr`; it records every call of the model in `calls` (RECORD_CALLS: grad mode, training
# mode, which batch, the output) and the weights before and after, read with the agent's gk_state_dict /
# gk_parameters (from the module's storage, not through nn.Module methods a notebook can patch). The assignment's
# suffix sets `result`.
RECORD_CALLS = """
calls = []
def _batch_of(args, kwargs):
    x = args[0] if args else next(iter(kwargs.values()), None)
    for k, b in enumerate(batches):
        if b[0] is x:
            return k
    for k, b in enumerate(batches):  # a copy of the batch's input (.clone(), .to(...))
        if isinstance(x, torch.Tensor) and x.shape == b[0].shape and bool((x == b[0]).all()):
            return k
    return -1
def _record(m, args, kwargs, output):
    calls.append({"grad": torch.is_grad_enabled(), "training": m.training, "batch": _batch_of(args, kwargs),
                  "output": output.detach().clone() if isinstance(output, torch.Tensor) else None})
hook = model.register_forward_hook(_record, with_kwargs=True)
"""
# The student's own binary_accuracy, where the notebook has one, is watched during the call as the model is: what it
# was given and what it said, so that train or evaluate are not charged for a mistake that is binary_accuracy's.
RECORD_ACCURACY = """
accuracy_calls = []
_scope = getattr(train if which == "train" else evaluate, "__globals__", {})
_accuracy = _scope.get("binary_accuracy")
def _recording_accuracy(*args, **kwargs):
    value = _accuracy(*args, **kwargs)
    given = [*args, *kwargs.values()]
    if len(given) == 2 and all(isinstance(t, torch.Tensor) for t in given):
        try:
            said = float(value)
        except Exception:
            said = None
        accuracy_calls.append({"preds": given[0].detach().clone(), "y": given[1].detach().clone(), "value": said})
    return value
if callable(_accuracy):
    _scope["binary_accuracy"] = _recording_accuracy
"""
RUN_TRAIN_OR_EVALUATE = RECORD_CALLS + RECORD_ACCURACY + """
before = {k: v.clone() for k, v in gk_state_dict(model).items()}
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
try:
    if which == "train":
        model.eval()
        returned = train(model, batches, optimizer, criterion)
    else:
        model.train()
        returned = evaluate(model, batches, criterion)
finally:
    if callable(_accuracy):
        _scope["binary_accuracy"] = _accuracy
hook.remove()
after = {k: v.clone() for k, v in gk_state_dict(model).items()}
has_grad = [n for n, p in gk_parameters(model) if p.grad is not None and bool(p.grad.abs().sum() > 0)]
model.eval()
"""


@dataclass(frozen=True)
class Call:
    """One call of the probe model during a train or evaluate run, as the kernel recorded it."""

    grad: bool  # torch.is_grad_enabled()
    training: bool  # model.training
    batch: int  # which batch's input it was given (-1: none of them)
    output: torch.Tensor | None


def recorded_calls(out: dict) -> list[Call]:
    rows = out.get("calls")
    ok = isinstance(rows, list) and all(
        isinstance(r, dict) and isinstance(r.get("grad"), bool) and isinstance(r.get("training"), bool)
        and isinstance(r.get("batch"), int) and (r.get("output") is None or isinstance(r["output"], torch.Tensor))
        for r in rows)
    if not ok:
        pytest.fail("the graders' record of how your function called the model could not be read back from your "
                    "kernel; run your notebook from the top and check that it does not change torch")
    return [Call(r["grad"], r["training"], r["batch"], r["output"]) for r in rows]


def outputs_per_batch(calls: list[Call], n: int) -> list[torch.Tensor] | None:
    """The model's first output on each of the n batches, in batch order; None unless every batch was given to
    the model (a function that skipped some batches did not do its job)."""
    first: dict[int, torch.Tensor] = {}
    for call in calls:
        if 0 <= call.batch < n and call.batch not in first and call.output is not None:
            first[call.batch] = call.output
    return [first[k] for k in range(n)] if len(first) == n else None


Score = Callable[[torch.Tensor, tuple], tuple[float, float]]  # (model output, batch) -> (loss, accuracy)


Accuracy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # binary_accuracy(preds, y), the reference's


@dataclass(frozen=True)
class AccuracyCall:
    """One call of the student's binary_accuracy during a train or evaluate run: what it was given, what it said."""

    preds: torch.Tensor
    y: torch.Tensor
    value: float | None  # None: what it returned is not a number


def accuracy_calls(out: dict) -> list[AccuracyCall]:
    """The binary_accuracy calls a probe run recorded (none where the assignment has no binary_accuracy)."""
    rows = out.get("accuracy_calls", [])
    if not (isinstance(rows, list) and all(
            isinstance(r, dict) and isinstance(r.get("preds"), torch.Tensor) and isinstance(r.get("y"), torch.Tensor)
            and (r.get("value") is None or isinstance(r["value"], float)) for r in rows)):
        pytest.fail("the graders' record of how your function called binary_accuracy could not be read back from "
                    "your kernel; run your notebook from the top and check that it does not change torch")
    return [AccuracyCall(r["preds"], r["y"], r["value"]) for r in rows]


def said_by_own_binary_accuracy(out: dict, returned_acc: float, want_acc: float, n: int,
                                accuracy: Accuracy | None) -> bool:
    """Whether an accuracy that is not the predictions' own is the mean of what the student's binary_accuracy said,
    one call per batch, on inputs for which the reference `accuracy` gives the predictions' accuracy. The function
    then did its job, and the figure is wrong because binary_accuracy is, which its own question charges."""
    calls = accuracy_calls(out)
    if accuracy is None or len(calls) != n or any(c.value is None for c in calls):
        return False
    try:
        given = sum(float(accuracy(c.preds, c.y)) for c in calls) / n
    except RuntimeError:  # inputs whose shapes do not go together: not what the notebook gives it
        return False
    said = sum(c.value for c in calls) / n  # type: ignore[misc]
    return abs(given - want_acc) < 1e-4 and abs(returned_acc - said) < 1e-4


def figures_of(outputs: list[torch.Tensor], batches: list[tuple], score: Score) -> tuple[float, float]:
    """Mean (loss, accuracy) over batches of the outputs the model gave, as the notebook defines both."""
    scored = [score(o, b) for o, b in zip(outputs, batches, strict=True)]
    return sum(s[0] for s in scored) / len(scored), sum(s[1] for s in scored) / len(scored)


def returned_loss_and_accuracy(name: str, returned: object) -> tuple[float, float]:
    """The (mean loss, mean accuracy) pair a train or evaluate function returned, as two floats (a tuple or a list:
    "return (loss, acc)" and "return [loss, acc]" both return the pair)."""
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        pytest.fail(f"{name} should return (mean loss, mean accuracy); it returned {checks.describe_value(returned)}")
    loss, acc = returned
    return checks.number(loss, f"{name}'s returned loss"), checks.number(acc, f"{name}'s returned accuracy")


def changed_weights(out: dict) -> list[str]:
    """Which weights train or evaluate changed, decided on the host from the before/after state dicts the probe
    run returns: a kernel that patches torch.equal cannot make an unchanged model look trained."""
    before, after = states(out)
    return [k for k in sorted(before) if before[k].shape != after[k].shape or not torch.equal(before[k], after[k])]


def states(out: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    before, after = out.get("before"), out.get("after")
    if not (isinstance(before, dict) and isinstance(after, dict) and before.keys() == after.keys()
            and all(isinstance(v, torch.Tensor) for v in [*before.values(), *after.values()])):
        pytest.fail("the probe model's weights could not be read back from your kernel; run your notebook from "
                    "the top and check that train and evaluate leave the model in place")
    return before, after


def train_returned_its_loss(name: str, out: dict, batches: list[tuple], score: Score,
                            trained_on: Callable[[torch.Tensor, tuple], torch.Tensor] | None = None,
                            wrong_losses: tuple[Loss, ...] = (), accuracy: Accuracy | None = None,
                            hint: str = "") -> None:
    """train's returned loss and accuracy are the means over batches of those of the predictions it trained on (so
    no constant passes). A train that trained on one of `wrong_losses` and returned its mean is charged for that
    once, by the epoch's check, not again here; `trained_on` maps a recorded output to what the losses take (the
    notebook's squeeze, say). An accuracy that is the mean of what a wrong binary_accuracy said is binary_accuracy's
    mistake, not train's (`accuracy` is the reference binary_accuracy)."""
    loss, acc = returned_loss_and_accuracy(name, out["returned"])
    outputs = outputs_per_batch(recorded_calls(out), len(batches))
    assert outputs is not None, f"{name} did not give every batch to the model, so the loss it returned measures " \
                                "nothing: call the model on each batch of the iterator"
    want_loss, want_acc = figures_of(outputs, batches, score)
    prepare = trained_on or (lambda o, b: o)
    with torch.no_grad():
        own = [sum(w.of(prepare(o, b), b).item() for o, b in zip(outputs, batches, strict=True)) / len(batches)
               for w in wrong_losses]
    if any(abs(loss - v) < 1e-4 * max(1.0, abs(v)) for v in own):
        return
    assert abs(loss - want_loss) < 1e-4 * max(1.0, abs(want_loss)), (
        f"{name} returned a mean loss of {loss:.4f}; the mean of its batches' losses is {want_loss:.4f}: add up "
        "loss.item() for each batch and divide by the number of batches")
    assert abs(acc - want_acc) < 1e-4 or said_by_own_binary_accuracy(out, acc, want_acc, len(batches), accuracy), (
        f"{name} returned an accuracy of {acc:.4f}; the mean accuracy of the predictions it trained on is "
        f"{want_acc:.4f}: add up each batch's accuracy and divide by the number of batches{hint}")


def evaluate_did_its_job(out: dict, batches: list[tuple], score: Score) -> None:
    """Evidence, in the same call, that evaluate measured the model: it gave every batch to the model and returned
    the mean loss or the mean accuracy of what the model answered. "Leaves the weights unchanged" and "runs
    without gradient" earn their points only with it: an evaluate that does nothing has both properties."""
    calls = recorded_calls(out)
    assert calls, "evaluate never called the model, so it measured nothing"
    outputs = outputs_per_batch(calls, len(batches))
    assert outputs is not None, ("evaluate did not give every batch to the model, so it measured nothing: call the "
                                 "model on each batch of the iterator")
    loss, acc = returned_loss_and_accuracy("evaluate", out["returned"])
    want_loss, want_acc = figures_of(outputs, batches, score)
    assert abs(loss - want_loss) < 1e-4 * max(1.0, abs(want_loss)) or abs(acc - want_acc) < 1e-4, (
        f"evaluate returned loss {loss:.4f} and accuracy {acc:.4f}, neither of them what the model's predictions "
        f"give (loss {want_loss:.4f}, accuracy {want_acc:.4f}), so it measured nothing: compute both from the "
        "model's predictions on each batch")


def evaluate_changed_nothing(out: dict, batches: list[tuple], score: Score) -> None:
    evaluate_did_its_job(out, batches, score)
    changed = changed_weights(out)
    assert not changed, f"evaluate changed weights ({', '.join(changed)}); it must not train"


def evaluate_ran_without_gradient_in_eval_mode(out: dict, batches: list[tuple], score: Score) -> None:
    evaluate_did_its_job(out, batches, score)
    calls = recorded_calls(out)
    assert not any(c.grad for c in calls), "evaluate: wrap the loop in `with torch.no_grad():`"
    assert not any(c.training for c in calls), "evaluate: call model.eval() first"
    assert not out["has_grad"], "evaluate computed gradients (loss.backward()); it must only measure"


def evaluate_reported_its_figures(out: dict, batches: list[tuple], score: Score, hint: str = "",
                                  accuracy: Accuracy | None = None) -> None:
    """evaluate's returned loss and accuracy are the means over batches of the model's predictions' loss and
    accuracy (the predictions it was given during the call), or, for the accuracy, the mean of what a wrong
    binary_accuracy said of them (that mistake is binary_accuracy's; `accuracy` is the reference's)."""
    loss, acc = returned_loss_and_accuracy("evaluate", out["returned"])
    outputs = outputs_per_batch(recorded_calls(out), len(batches))
    assert outputs is not None, ("evaluate did not give every batch to the model: call the model on each batch of "
                                 "the iterator")
    want_loss, want_acc = figures_of(outputs, batches, score)
    assert abs(loss - want_loss) < 1e-4 * max(1.0, abs(want_loss)), (
        f"evaluate returned loss {loss:.4f}; the mean batch loss is {want_loss:.4f}")
    assert abs(acc - want_acc) < 1e-4 or said_by_own_binary_accuracy(out, acc, want_acc, len(batches), accuracy), (
        f"evaluate returned accuracy {acc:.4f}; the predictions' mean batch accuracy is {want_acc:.4f}{hint}")


# -- a training epoch, judged by its effect ---------------------------------------------------------------------
#
# "The weights changed" holds for a train that never clears its gradients, steps once per epoch or trains on the
# wrong loss (issue 11). So an epoch is judged by where it takes the weights: the host builds the same probe from
# the weights the kernel's started from, replays the epoch the notebook describes on the same batches with the same
# plain SGD (no momentum: a step is exactly lr times the gradient, so every difference shows), and compares the
# weights that came out of the kernel with the replay's. When they differ, the epoch is replayed as each usual
# mistake would run it (the loops below, and the assignment's wrong losses), like the LSTM's gate-order search: the
# mistake whose weights match is named, in the student's words.


def probe_class(source: str) -> type[nn.Module]:
    """The `_Probe` class a grader's probe source defines, built on the host for the replay of an epoch (our own
    code: the same source defines the probe in the kernel, so both sides train the same module)."""
    scope = {"nn": nn, "torch": torch}
    exec(compile(source, "<probe model>", "exec"), scope)
    return scope["_Probe"]


@dataclass(frozen=True)
class Loop:
    """One way to run an epoch: the ops each batch performs ("zero" the gradients, compute the "loss", "backward",
    optimizer "step"), those run once after the loop, and whether every step reads the first batch. `why` is what a
    student who wrote it did, in their words ("" for the notebook's loop)."""

    each: tuple[str, ...]
    after: tuple[str, ...] = ()
    first_batch_only: bool = False
    why: str = ""


ACCUMULATED = "the gradients add up across batches: is optimizer.zero_grad() called before each backward?"
RIGHT_LOOP = Loop(("zero", "loss", "backward", "step"))
LOOP_MISTAKES = (
    Loop(("loss", "backward", "step"), why=ACCUMULATED),
    Loop(("zero", "loss", "backward"), ("step",),
         why="optimizer.step() runs once, after the loop, so only the last batch's gradient was used: take one step "
             "per batch, inside the loop, after loss.backward()"),
    Loop(("loss", "backward"), ("step",),
         why="there is one optimizer step per epoch, after the loop, on the gradients of every batch added up: call "
             "optimizer.zero_grad(), loss.backward() and optimizer.step() for each batch, inside the loop"),
    Loop(("zero", "loss", "backward", "step", "step"),
         why="each batch moved the weights twice as far as one optimizer step: is optimizer.step() (or "
             "loss.backward()) called twice per batch?"),
    Loop(("zero", "loss", "backward", "step"), first_batch_only=True,
         why="every step trained on the first batch: use the batch the loop is at"),
)


@dataclass(frozen=True)
class Loss:
    """A batch's loss computed from the probe's output: the one the notebook asks for (`why` empty), or a usual
    mistake, with what the student did in their words."""

    of: Callable[[torch.Tensor, tuple], torch.Tensor]  # (model output, batch) -> scalar
    why: str = ""


@dataclass(frozen=True)
class EpochCase:
    """What the host needs to replay one epoch on the probe."""

    name: str  # the student's function, for messages: "train", "train_epoch"
    make_model: Callable[[], nn.Module]  # a fresh probe of the same architecture (its weights are replaced)
    forward: Callable[[nn.Module, tuple], torch.Tensor]  # the probe on one batch, as the notebook calls it
    batches: list[tuple]
    loss: Loss  # the notebook's loss
    wrong_losses: tuple[Loss, ...]
    lr: float
    step: str  # one batch's step in the notebook's words, for the message when no mistake matches


TOLERANCE = 1e-3  # of the largest change one epoch makes to a weight: rounding differs by ~1e-6 of it


def replay(case: EpochCase, before: dict[str, torch.Tensor], loop: Loop, loss: Loss) -> dict[str, torch.Tensor]:
    """The probe's weights after running `loop` with `loss` from `before`, with plain SGD at case.lr."""
    model = case.make_model()
    model.load_state_dict(before)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=case.lr)
    current = None

    def run(op: str, batch: tuple) -> None:
        nonlocal current
        if op == "zero":
            optimizer.zero_grad()
        elif op == "loss":
            current = loss.of(case.forward(model, batch), batch)
        elif op == "backward":
            current.backward()
        elif op == "step":
            optimizer.step()

    with torch.enable_grad():
        for batch in case.batches:
            for op in loop.each:
                run(op, case.batches[0] if loop.first_batch_only else batch)
        for op in loop.after:
            run(op, case.batches[-1])
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
# (No loop steps between a batch's loss and its backward: torch refuses to backpropagate through weights a step has
# changed since the forward pass, so that mistake reaches the student as an error, not as weights.)


def _largest_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> tuple[float, str]:
    worst = (0.0, "")
    for key, value in a.items():
        if not value.is_floating_point():
            continue
        d = (value.double() - b[key].double()).abs()
        d = float(d.max()) if d.numel() else 0.0
        if not math.isfinite(d):
            d = math.inf
        if d > worst[0] or not worst[1]:
            worst = (d, key)
    return worst


def epoch_mistake(case: EpochCase, before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> str:
    """"" when `after` is where one SGD step per batch on the notebook's loss takes `before`; otherwise why not, in
    the student's words: the mistake whose replay matches, or what differs."""
    right = replay(case, before, RIGHT_LOOP, case.loss)
    if set(after) != set(right) or any(after[k].shape != right[k].shape for k in right):
        return f"{case.name} changed the probe model's parameters themselves (their names or shapes)"
    scale, _ = _largest_difference(right, before)
    err, key = _largest_difference(after, right)
    if err <= TOLERANCE * scale:
        return ""
    if _largest_difference(after, before)[0] == 0:
        return (f"{case.name}: no weight changed; for each batch call loss.backward() and then optimizer.step() "
                "(optimizer.zero_grad() goes before loss.backward(), not between it and the step)")
    for loop in (RIGHT_LOOP, *LOOP_MISTAKES):
        for loss in (case.loss, *case.wrong_losses):
            if loop is RIGHT_LOOP and loss is case.loss:
                continue
            if _largest_difference(after, replay(case, before, loop, loss))[0] <= TOLERANCE * scale:
                return f"{case.name}: " + "; and ".join(why for why in (loop.why, loss.why) if why)
    return (f"{case.name} changed the weights, but not as one optimizer step per batch on that batch's loss does: the "
            f"graders replayed the epoch from the same weights on the same batches with the same plain SGD, and "
            f"{key} differs by {err:.3g} (one epoch moves it by up to {scale:.3g}). For each batch: {case.step}")


def trained_like_the_notebook(case: EpochCase, out: dict) -> None:
    """Fail with `epoch_mistake`'s message unless the run in `out` took the reference's steps."""
    before, after = states(out)
    why = epoch_mistake(case, before, after)
    if why:
        pytest.fail(why)


SENTIMENT_CLASSES = ("negative", "positive")

# Kernel code for a learning check: `_RecordedLoss(criterion)` computes what `criterion` does and keeps each step's
# loss, for the picture of how the training went (never graded: the verdict is the held-out accuracy).
RECORD_LOSS = """
class _RecordedLoss(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner, self.values = inner, []
    def forward(self, *args, **kwargs):
        loss = self.inner(*args, **kwargs)
        if isinstance(loss, torch.Tensor) and loss.numel() == 1 and len(self.values) < 5000:
            self.values.append(float(loss.detach()))
        return loss
"""


def record_loss_picture(record_property: Callable[[str, object], None], who: str, reply: object) -> None:
    """The training loss per step of a learning check, when the kernel's reply holds one ("losses": numbers)."""
    values = reply.get("losses") if isinstance(reply, dict) else None
    if not isinstance(values, list):
        return
    losses = tuple(float(v) for v in values[:5000] if isinstance(v, (int, float)) and not isinstance(v, bool))
    if len(losses) >= 2:
        record_property("figure", line_chart(
            "Training loss, step by step", [Panel("loss per step", (Series(who, losses),), y_label="loss",
                                                  x_label="step")],
            caption=f"the loss at each of the {len(losses)} steps of the learning check's training: it should fall"))


def record_held_out_picture(record_property: Callable[[str, object], None], model: str, true: Sequence[int],
                            predicted: Sequence[int], classes: Sequence[str], accuracy: float,
                            threshold: float) -> None:
    """The learning check's picture, pass or fail: where the held-out predictions fell by true class (a model that
    answers one class for everything shows as one dark column). Drawn on the host from the host's labels."""
    record_property("figure", confusion_matrix(
        f"{model} on the held-out set", [int(t) for t in true], [int(p) for p in predicted], classes,
        caption=f"{accuracy:.1%} correct; the threshold is {threshold:.0%}"))
