"""Q3d fit: the epoch loop saves the model with the best validation loss. Judged with scripted train and
evaluate (swapped in for the call, then restored) so that which epoch is best is known to the graders. fit runs
on two scripts, drawn per grading run, whose best epochs differ: a fit written for a case seen in feedback (that
saves a fixed epoch) cannot be right on both."""

import random

import pytest

from . import cases

Q = "training_loop"

SCRIPTED = """
import os
import torch
from torch import nn
ns = get_ipython().user_ns
saved = {k: ns.get(k) for k in ("train", "evaluate")}
model = nn.Linear(2, 1)
epoch = [0]
losses = iter(valid_losses)

def _train(model, iterator, optimizer, criterion):
    epoch[0] += 1
    with torch.no_grad():
        model.weight.fill_(float(epoch[0]))  # the weights say which epoch they come from
    return 0.6, 0.5

def _evaluate(model, iterator, criterion):
    return next(losses), 0.5

ns["train"], ns["evaluate"] = _train, _evaluate
try:
    history = fit(model, [None], [None], None, None, len(valid_losses), path)
finally:
    ns.update(saved)
state = torch.load(path, weights_only=True) if os.path.exists(path) else {}
weights = [v for k, v in state.items() if k.endswith("weight")]
result = {"saved_epoch": float(weights[0].flatten()[0]) if weights else None, "epochs_run": epoch[0],
          "history": len(history) if isinstance(history, (list, tuple)) else None}
"""


@pytest.fixture(scope="module")
def scripts(seed):
    return cases.scripted_pair(random.Random(seed))


@pytest.fixture(scope="module")
def runs(submission, scripts):
    return [submission.run(SCRIPTED, what="fit(model, train_iterator, valid_iterator, optimizer, criterion, n_epochs)",
                           name="fit", valid_losses=losses, path=f"gk_fit_check_{i}.pt")
            for i, (losses, _) in enumerate(scripts)]


@pytest.mark.question(Q, points=1)
def test_runs_every_epoch(runs, scripts):
    """fit trains and evaluates once per epoch"""
    for run, (losses, _) in zip(runs, scripts, strict=True):
        assert run["epochs_run"] == len(losses), f"fit ran train {run['epochs_run']} times for n_epochs={len(losses)}"


@pytest.mark.question(Q, points=2)
def test_saves_the_best_validation_model(runs, scripts):
    """The saved state is the epoch with the lowest validation loss"""
    for run, (losses, best) in zip(runs, scripts, strict=True):
        saved = run["saved_epoch"]
        assert saved is not None, "fit did not save a state_dict to `path`"
        assert saved == float(best), (
            f"validation losses were {', '.join(f'{v:g}' for v in losses)}: the file should hold epoch {best}'s "
            f"weights, it holds epoch {saved:g}'s. Save only when the validation loss is the lowest so far (not "
            "lower than the previous epoch)")


@pytest.mark.question(Q, points=0.5)
def test_returns_the_history(runs, scripts):
    """fit returns one result per epoch"""
    for run, (losses, _) in zip(runs, scripts, strict=True):
        assert run["history"] == len(losses), "fit should return a list with one entry per epoch"
