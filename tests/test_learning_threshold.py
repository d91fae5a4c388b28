"""Each learning check's threshold must come from the reference under the same budget, with room to spare.

Run with -s to see the figures: `python -m pytest tests/test_learning_threshold.py -s`.
"""


import pytest
import torch

import reference.rnn_sentiment as ref
from gradekit import config, offline
from gradekit.config import load_assignment
from gradekit.datasets.sentiment import bundled_splits


def graders_module(assignment_name: str, module: str):
    return config.graders_module(load_assignment(assignment_name), module)


@pytest.fixture(scope="module")
def learning():
    return graders_module("rnn_sentiment", "learning")


@pytest.fixture(scope="module")
def settings():
    return load_assignment("rnn_sentiment").settings


@pytest.fixture(scope="module")
def splits():
    return bundled_splits()


@pytest.fixture(scope="module")
def vocab(splits):
    return ref.build_vocab([r.text for r in splits.train], 5, ref.HyperParams())


HELD_OUT_SEEDS = [2**32 + k for k in range(4)]  # as the learning checks draw them: fresh sets, from large seeds


def report(name: str, seeds, held_out_seeds, table: list[list[float]], threshold: float) -> None:
    print(f"\n{name} reference held-out accuracy under the learning budget (rows: training seeds {list(seeds)}; "
          f"columns: {len(held_out_seeds)} held-out sets drawn per run), threshold {threshold:.2f}:")
    for seed, row in zip(seeds, table, strict=True):
        print(f"  seed {seed}: {', '.join(f'{a:.3f}' for a in row)}")


def test_reference_clears_configured_threshold_with_margin(learning, settings, splits, vocab):
    torch.set_num_threads(1)
    seeds = sorted({int(settings["learn_seed"]), 1, 2})
    held_outs = [learning.held_out(splits, settings, s, None) for s in HELD_OUT_SEEDS]
    table = [learning.reference_accuracies(vocab, splits, settings, seed, held_outs) for seed in seeds]
    threshold, _ = learning.threshold_for(None, vocab, splits, settings, held_outs[0])
    report("rnn_sentiment", seeds, HELD_OUT_SEEDS, table, threshold)
    assert min(min(row) for row in table) >= threshold + 0.05 - 1e-6  # accuracies are float32 fractions


def test_threshold_for_real_data_comes_from_the_reference(learning, settings, splits, vocab, tmp_path,
                                                          monkeypatch):
    """With --data, the reference is trained on that data and the threshold sits learn_margin below it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    data = tmp_path / "imdb.csv"
    data.write_text("review,sentiment\n")  # only its path and mtime key the cache; the splits are passed in
    held_out = learning.held_out(splits, settings, HELD_OUT_SEEDS[0], data)
    threshold, how = learning.threshold_for(data, vocab, splits, settings, held_out)
    reached = learning.reference_accuracy(vocab, splits, settings, int(settings["learn_seed"]), held_out)
    assert threshold == pytest.approx(reached - float(settings["learn_margin"]))
    assert "reference reaches" in how
    assert list((tmp_path / ".cache" / "gradekit").glob("rnn_sentiment-threshold-*.json"))


def test_bert_reference_clears_configured_threshold_with_margin():
    """bert_gru_sentiment: the reference head on frozen MiniLM features, under the learning check's budget, scored on
    held-out sets drawn from the pool as each grading run draws them (one training run scores the whole pool)."""
    import random

    learning = graders_module("bert_gru_sentiment", "learning")
    workspace = graders_module("bert_gru_sentiment", "workspace")
    torch.set_num_threads(1)
    settings = dict(load_assignment("bert_gru_sentiment").settings)
    bert_dir = offline.bert_path(settings["bert"])
    splits = workspace.splits(None)
    pool = workspace.held_out_pool(splits, None, learning.pool_secret())
    n = int(settings["learn_test_reviews"])
    budget = learning.Budget(bert_dir, offline.load_tokenizer(bert_dir), splits, pool, 0,
                             {**settings, "learn_test_reviews": len(pool)})
    labels = torch.tensor([r.label for r in budget.held_out])
    table = []
    for seed in (0, 1, 2):
        budget.settings["learn_seed"] = seed
        right = (learning.reference_logits(budget) > 0).long() == labels
        table.append([right[sorted(random.Random(s).sample(range(len(pool)), n))].float().mean().item()
                      for s in HELD_OUT_SEEDS])
    threshold = float(settings["accuracy_threshold"])
    report("bert_gru_sentiment", (0, 1, 2), HELD_OUT_SEEDS, table, threshold)
    assert min(min(row) for row in table) >= threshold + 0.05 - 1e-6  # accuracies are float32 fractions


def test_vit_reference_clears_configured_threshold_with_margin():
    """vit_fashion_mnist: the reference ViT and train_epoch under the learning check's budget, on held-out images
    drawn as each grading run draws them."""
    learning = graders_module("vit_fashion_mnist", "learning")
    workspace = graders_module("vit_fashion_mnist", "workspace")
    torch.set_num_threads(1)
    settings = dict(load_assignment("vit_fashion_mnist").settings)
    splits = workspace.splits(None)
    held_outs = [workspace.held_out(splits, None, s) for s in HELD_OUT_SEEDS]
    table = []
    for seed in (0, 1, 2):
        settings["learn_seed"] = seed
        table.append(learning.reference_accuracies(splits.train, held_outs, settings))
    threshold = float(settings["accuracy_threshold"])
    report("vit_fashion_mnist", (0, 1, 2), HELD_OUT_SEEDS, table, threshold)
    assert min(min(row) for row in table) >= threshold + 0.05 - 1e-6  # accuracies are float32 fractions
