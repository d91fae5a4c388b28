"""The learning check's threshold must come from the reference under the same budget, with room to spare.

Run with -s to see the figures: `python -m pytest tests/test_learning_threshold.py -s`.
"""

import pytest
import torch

import reference.rnn_sentiment as ref
from gradekit.config import load_assignment
from gradekit.datasets.sentiment import bundled_splits


@pytest.fixture(scope="module")
def settings():
    return load_assignment("rnn_sentiment").settings


def reference_accuracy(settings, seed: int) -> float:
    """Exactly what graders/rnn_sentiment/test_learning.py does, with the reference in place of the student."""
    splits = bundled_splits()
    hp = ref.HyperParams()
    vocab = ref.build_vocab([r.text for r in splits.train], 5, hp)
    train = splits.train[: int(settings["learn_train_reviews"])]
    ids = [ref.tokenize(vocab, hp, r.text)[: hp.MAX_LENGTH] for r in train]
    batches = ref.make_batches(ids, [r.label for r in train], int(settings["learn_batch_size"]))
    torch.manual_seed(seed)
    model = ref.RNNClassifier(len(vocab), int(settings["learn_embedding_dim"]), int(settings["learn_hidden_size"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(settings["learn_lr"]))
    order = torch.Generator().manual_seed(seed)
    for _ in range(int(settings["learn_epochs"])):
        ref.train(model, [batches[i] for i in torch.randperm(len(batches), generator=order).tolist()], optimizer,
                  torch.nn.BCELoss())
    test_ids = [ref.tokenize(vocab, hp, r.text)[: hp.MAX_LENGTH] for r in splits.test]
    model.eval()
    with torch.no_grad():
        probs = torch.cat([model(b.text, b.lengths) for b in ref.make_batches(test_ids, [0] * len(test_ids), 100)])
    labels = torch.tensor([r.label for r in splits.test], dtype=torch.float32)
    return ((probs > 0.5).float() == labels).float().mean().item()


def test_reference_clears_threshold_with_margin(settings):
    torch.set_num_threads(1)
    seeds = sorted({int(settings["learn_seed"]), 1, 2})
    accuracies = [reference_accuracy(settings, seed) for seed in seeds]
    threshold = float(settings["accuracy_threshold"])
    print(f"\nreference held-out accuracy under the learning budget, seeds {seeds}: "
          f"{', '.join(f'{a:.3f}' for a in accuracies)}; threshold {threshold:.2f}")
    assert min(accuracies) >= threshold + 0.05
