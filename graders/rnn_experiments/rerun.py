"""Re-running the study's configurations with the student's train_and_test_model_with_hparams, and judging
whether the trend their table reports holds in the re-run.

The same budget runs on the host with the reference (`reference_run`), which is how the margin in
assignment.toml was measured: `python -m pytest tests/test_rnn_experiments_thresholds.py -s`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
import torch

import reference.rnn_experiments as ref
from gradekit import checks
from gradekit.datasets.sentiment import Review
from gradekit.figures import PALETTE, Figure, Panel, Series, line_chart

OPTIMIZERS = ("SGD", "Adam")  # the comparison the re-run checks: "SGD at this learning rate barely learns, Adam does"
KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc")

# Runs in the student's kernel: their HyperParams, set to the study's base configuration with one change.
RUN = """
import random
import torch
hp = HyperParams()
for key, value in settings.items():
    setattr(hp, key, value)
random.seed(seed)
torch.manual_seed(seed)
result = train_and_test_model_with_hparams(hp, run_name)
"""


def base_settings() -> dict[str, Any]:
    """Every setting train_and_test_model_with_hparams reads, at the study's base configuration."""
    hp = ref.HyperParams
    return {k: getattr(hp, k) for k in ("MODEL", "OPTIM", "LR", "N_EPOCHS", "BATCH_SIZE", "EMBEDDING_DIM",
                                        "HIDDEN_DIM", "OUTPUT_DIM", "N_LAYERS", "DROPOUT_RATE", "PAD_INDEX",
                                        "BIDIRECTIONAL", "MAX_LENGTH", "SEED")}


@dataclass(frozen=True)
class History:
    """What one run returned, checked: per-epoch figures and the test figures."""

    train_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    valid_loss: tuple[float, ...]
    valid_acc: tuple[float, ...]
    test_loss: float
    test_acc: float


def read_history(value: Any, epochs: int, what: str) -> History:
    """The dictionary train_and_test_model_with_hparams returned, as numbers; a failed check otherwise."""
    if not isinstance(value, dict):
        pytest.fail(f"{what} should return a dictionary of the run's figures; it returned "
                    f"{checks.describe_value(value)}")
    missing = [k for k in (*KEYS, "test_loss", "test_acc") if k not in value]
    if missing:
        pytest.fail(f"{what} returned a dictionary without {', '.join(repr(k) for k in missing)}")
    per_epoch = {}
    for key in KEYS:
        series = value[key]
        if isinstance(series, torch.Tensor):
            series = series.reshape(-1).tolist()
        if not isinstance(series, (list, tuple)) or len(series) != epochs:
            pytest.fail(f"{what}: {key!r} should hold one number per epoch ({epochs} here); it is "
                        f"{checks.describe_value(series)}{f' of {len(series)}' if isinstance(series, list) else ''}")
        per_epoch[key] = tuple(checks.number(v, f"{what}: an entry of {key!r}") for v in series)
    test_loss = checks.number(value["test_loss"], f"{what}: 'test_loss'")
    test_acc = checks.number(value["test_acc"], f"{what}: 'test_acc'")
    history = History(**per_epoch, test_loss=test_loss, test_acc=test_acc)
    losses = [*history.train_loss, *history.valid_loss, history.test_loss]
    accs = [*history.train_acc, *history.valid_acc, history.test_acc]
    if not all(math.isfinite(v) and v >= 0 for v in losses):
        pytest.fail(f"{what}: the losses should be finite numbers of at least 0; they are {losses}")
    if not all(0 <= v <= 1 for v in accs):
        pytest.fail(f"{what}: the accuracies should be fractions between 0 and 1; they are "
                    f"{[round(a, 4) for a in accs]}")
    return history


def run(submission: Any, settings: dict, optimizer: str, **changes: Any) -> History:
    """One configuration, run in the kernel with the student's function; the settings are the study's."""
    values = {**base_settings(), "OPTIM": optimizer, **changes}
    value = submission.run(RUN, timeout=float(settings["learn_timeout"]), name="train_and_test_model_with_hparams",
                           what="train_and_test_model_with_hparams()",
                           settings=values, seed=int(settings["rerun_seed"]), run_name=f"rerun_{optimizer.lower()}")
    return read_history(value, int(values["N_EPOCHS"]), f"train_and_test_model_with_hparams (OPTIM={optimizer!r})")


def reference_run(pool: list[Review], optimizer: str, seed: int) -> History:
    """The same run with the reference, on the reviews the notebook reads, split as the reference splits them."""
    texts = [r.text for r in pool]
    labels = ["positive" if r.label else "negative" for r in pool]
    parts = ref.split_data(texts, labels, ref.HyperParams.SEED)
    vocab = ref.build_vocab(parts[0][0], ref.HyperParams.MIN_FREQ, ref.HyperParams())
    datasets = tuple(ref.IMDBDataset(x, y, vocab, ref.HyperParams.MAX_LENGTH) for x, y in parts)
    hp = ref.HyperParams()
    hp.OPTIM = optimizer
    torch.manual_seed(seed)
    value = ref.train_and_test(hp, datasets, len(vocab))
    return History(**{k: tuple(value[k]) for k in KEYS}, test_loss=value["test_loss"], test_acc=value["test_acc"])


def trend_problem(table: tuple[float, float], rerun: tuple[float, float], margin: float) -> str | None:
    """None when the table and the re-run agree on SGD against Adam (test accuracy): the same one ahead by at
    least `margin`, or both within `margin`. Otherwise what disagrees, for the student."""
    (t_sgd, t_adam), (r_sgd, r_adam) = table, rerun
    t_gap, r_gap = t_adam - t_sgd, r_adam - r_sgd
    claims, shows = abs(t_gap) >= margin, abs(r_gap) >= margin
    if claims == shows and (not claims or (t_gap > 0) == (r_gap > 0)):
        return None
    table_says = (f"your table has {'Adam' if t_gap > 0 else 'SGD'} ahead by {abs(t_gap):.2f} in test accuracy "
                  f"(SGD {t_sgd:.3f}, Adam {t_adam:.3f})" if claims else
                  f"your table has SGD and Adam within {abs(t_gap):.2f} of each other in test accuracy "
                  f"(SGD {t_sgd:.3f}, Adam {t_adam:.3f})")
    rerun_says = (f"re-running both with your code puts {'Adam' if r_gap > 0 else 'SGD'} ahead by {abs(r_gap):.2f} "
                  f"(SGD {r_sgd:.3f}, Adam {r_adam:.3f})" if shows else
                  f"re-running both with your code gives SGD {r_sgd:.3f} and Adam {r_adam:.3f}, no difference")
    return (f"{table_says}, but {rerun_says}. A gap under {margin:g} counts as no difference. Report the figures "
            "your own runs produced")


def chart(histories: dict[str, History]) -> Figure:
    """The re-run's curves, drawn on the host from the numbers it returned: loss and accuracy side by side."""
    colors = dict(zip(OPTIMIZERS, PALETTE, strict=False))
    panels = []
    for metric, label in (("loss", "loss"), ("acc", "accuracy")):
        series = tuple(Series(f"{name} {part}", getattr(h, f"{part}_{metric}"), colors[name], dashed=part == "valid")
                       for name, h in histories.items() for part in ("train", "valid"))
        top = max([1.0, *(v for s in series for v in s.values if math.isfinite(v))])
        panels.append(Panel(f"re-run: {label}", series, label, (0.0, 1.0) if metric == "acc" else (0.0, top)))
    return line_chart("the graders' re-run", panels,
                      caption="SGD and Adam at the study's base configuration, run with your code")
