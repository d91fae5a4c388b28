"""Q3d fit: the epoch loop saves the model with the best validation loss. Judged with scripted train and
evaluate (swapped in for the call, then restored) so that which epoch is best is known to the graders; the
scripted losses are drawn per grading run, so it is not known to a fit written for one case seen in feedback."""

import random

import pytest

import cases

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
def script(seed):
    return cases.scripted_losses(random.Random(seed))


@pytest.fixture(scope="module")
def run(submission, script):
    losses, _ = script
    return submission.run(SCRIPTED, what="fit(model, train_iterator, valid_iterator, optimizer, criterion, n_epochs)",
                          name="fit", valid_losses=losses, path="gk_fit_check.pt")


@pytest.mark.question(Q, points=1)
def test_runs_every_epoch(run, script):
    """fit trains and evaluates once per epoch"""
    n = len(script[0])
    assert run["epochs_run"] == n, f"fit ran train {run['epochs_run']} times for n_epochs={n}"


@pytest.mark.question(Q, points=2)
def test_saves_the_best_validation_model(run, script):
    """The saved state is the epoch with the lowest validation loss"""
    losses, best = script
    saved = run["saved_epoch"]
    assert saved is not None, "fit did not save a state_dict to `path`"
    assert saved == float(best), (
        f"validation losses were {', '.join(f'{v:g}' for v in losses)}: the file should hold epoch {best}'s "
        f"weights, it holds epoch {saved:g}'s. Save only when the validation loss is the lowest so far (not lower "
        "than the previous epoch)")


@pytest.mark.question(Q, points=0.5)
def test_returns_the_history(run, script):
    """fit returns one result per epoch"""
    assert run["history"] == len(script[0]), "fit should return a list with one entry per epoch"
