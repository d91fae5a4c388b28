"""rnn_experiments' thresholds and margins, measured against the reference under the graders' own budgets.

Run with -s to see the figures: `python -m pytest tests/test_rnn_experiments_thresholds.py -s`.

- Learning (Q8): the reference LSTM and GRU classifiers under the learning budget, seeds 0-2, must clear the
  threshold by 0.05.
- Re-run (Q7, Q12): the reference's train_and_test at the study's SGD and Adam configurations on the reviews the
  notebook reads, seeds 0-4. The margin must be at least twice the largest seed-to-seed spread of one
  configuration (so a table and a re-run of the same code never disagree by noise), and the smallest SGD-Adam gap
  at least twice the margin (so correct code always shows the gap). Adam must clear rerun_adam_threshold by 0.05.
"""


import pytest
import torch

from gradekit.config import graders_module, load_assignment

learning, rerun, workspace = (graders_module(load_assignment("rnn_experiments"), name)
                              for name in ("learning", "rerun", "workspace"))

SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def settings():
    return dict(load_assignment("rnn_experiments").settings)


@pytest.fixture(scope="module")
def splits():
    return workspace.splits(None)


@pytest.fixture(scope="module")
def reruns(splits, settings):
    torch.set_num_threads(1)
    return {name: [rerun.reference_run(workspace.pool(splits), name, seed) for seed in SEEDS]
            for name in rerun.OPTIMIZERS}


@pytest.mark.parametrize("class_name", ["LSTMClassifier", "GRUClassifier"])
def test_reference_clears_the_learning_threshold_with_margin(splits, settings, class_name):
    torch.set_num_threads(1)
    accuracies = []
    for seed in (0, 1, 2):
        settings = {**settings, "learn_seed": seed}
        accuracies.append(learning.reference_accuracy(class_name, workspace.pool(splits), workspace.held_out(splits),
                                                      settings))
    threshold = float(settings["accuracy_threshold"])
    print(f"\nrnn_experiments {class_name} reference held-out accuracy under the learning budget, seeds 0-2: "
          f"{', '.join(f'{a:.3f}' for a in accuracies)}; threshold {threshold:.2f}")
    assert min(accuracies) >= threshold + 0.05


def test_rerun_margin_is_above_noise_and_below_the_gap(reruns, settings):
    accs = {name: [h.test_acc for h in runs] for name, runs in reruns.items()}
    spread = max(max(a) - min(a) for a in accs.values())
    gaps = [adam - sgd for sgd, adam in zip(accs["SGD"], accs["Adam"], strict=True)]
    margin = float(settings["rerun_margin"])
    for name, values in accs.items():
        print(f"\nrnn_experiments re-run, reference {name} test accuracy, seeds {SEEDS}: "
              f"{', '.join(f'{a:.3f}' for a in values)}", end="")
    print(f"\nlargest seed-to-seed spread {spread:.3f}; Adam - SGD gap {min(gaps):.3f} to {max(gaps):.3f}; "
          f"margin {margin:g}")
    assert margin >= 2 * spread
    assert min(gaps) >= 2 * margin


def test_adam_clears_its_threshold_with_margin(reruns, settings):
    adam = [h.test_acc for h in reruns["Adam"]]
    threshold = float(settings["rerun_adam_threshold"])
    print(f"\nrnn_experiments re-run, Adam's lowest test accuracy {min(adam):.3f}; threshold {threshold:.2f}")
    assert min(adam) >= threshold + 0.05


def test_rerun_with_the_reference_agrees_with_the_solutions_table(reruns, settings):
    """The solution's table (seed 0, as its study runs) against the graders' re-run: the verdict is "agrees"."""
    by_seed = {seed: {name: reruns[name][i].test_acc for name in reruns} for i, seed in enumerate(SEEDS)}
    table = by_seed[0]["SGD"], by_seed[0]["Adam"]
    rerun_seed = by_seed[int(settings["rerun_seed"])]
    assert rerun.trend_problem(table, (rerun_seed["SGD"], rerun_seed["Adam"]), float(settings["rerun_margin"])) is None


def test_threshold_for_real_data_comes_from_the_reference(splits, settings, tmp_path, monkeypatch):
    """With --data, the learning threshold is the reference's accuracy on that data minus learn_margin, cached."""
    monkeypatch.setenv("HOME", str(tmp_path))
    data = tmp_path / "imdb.csv"
    data.write_text("review,sentiment\n")  # only its path and mtime key the cache; the reviews are passed in
    pool, held_out = workspace.pool(splits), workspace.held_out(splits)
    threshold, how = learning.threshold_for(data, "GRUClassifier", pool, held_out, settings)
    reached = learning.reference_accuracy("GRUClassifier", pool, held_out, settings)
    assert threshold == pytest.approx(reached - float(settings["learn_margin"])) and "reference reaches" in how
    assert list((tmp_path / ".cache" / "gradekit").glob("rnn_experiments-threshold-*.json"))
