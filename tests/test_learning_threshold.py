"""The learning check's threshold must come from the reference under the same budget, with room to spare.

Run with -s to see the figures: `python -m pytest tests/test_learning_threshold.py -s`.
"""

import sys

import pytest
import torch

import reference.rnn_sentiment as ref
from gradekit.config import load_assignment
from gradekit.datasets.sentiment import bundled_splits


@pytest.fixture(scope="module")
def learning():
    assignment = load_assignment("rnn_sentiment")
    sys.path.insert(0, str(assignment.graders))
    import learning

    return learning


@pytest.fixture(scope="module")
def settings():
    return load_assignment("rnn_sentiment").settings


@pytest.fixture(scope="module")
def splits():
    return bundled_splits()


@pytest.fixture(scope="module")
def vocab(splits):
    return ref.build_vocab([r.text for r in splits.train], 5, ref.HyperParams())


def test_reference_clears_configured_threshold_with_margin(learning, settings, splits, vocab):
    torch.set_num_threads(1)
    seeds = sorted({int(settings["learn_seed"]), 1, 2})
    accuracies = [learning.reference_accuracy(vocab, splits, settings, seed) for seed in seeds]
    threshold, _ = learning.threshold_for(None, vocab, splits, settings)
    print(f"\nreference held-out accuracy under the learning budget, seeds {seeds}: "
          f"{', '.join(f'{a:.3f}' for a in accuracies)}; threshold {threshold:.2f}")
    assert min(accuracies) >= threshold + 0.05


def test_threshold_for_real_data_comes_from_the_reference(learning, settings, splits, vocab, tmp_path,
                                                          monkeypatch):
    """With --data, the reference is trained on that data and the threshold sits learn_margin below it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    data = tmp_path / "imdb.csv"
    data.write_text("review,sentiment\n")  # only its path and mtime key the cache; the splits are passed in
    threshold, how = learning.threshold_for(data, vocab, splits, settings)
    reached = learning.reference_accuracy(vocab, splits, settings, int(settings["learn_seed"]))
    assert threshold == pytest.approx(reached - float(settings["learn_margin"]))
    assert "reference reaches" in how
    assert list((tmp_path / ".cache" / "gradekit").glob("rnn_sentiment-threshold-*.json"))
