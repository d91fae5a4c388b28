"""The learning check's budget, shared by the grader (student's model and `train`, in the kernel) and by the
reference run that sets the threshold (on the host). One definition of the budget keeps the two comparable.

The held-out reviews are drawn per grading run from a seed the kernel never sees (`held_out`): with the bundled
data they are fresh reviews from the generator, none of them one the notebook was given; with real IMDB a random
subset of its test split (which the notebook is not given). A label table computed at home covers none of them.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

import reference.rnn_sentiment as ref
from gradekit.datasets.sentiment import Review, fresh_reviews
from gradekit.thresholds import learning_threshold


def ids(vocab: dict, reviews) -> list[list[int]]:
    hp = ref.HyperParams()
    return [ref.tokenize(vocab, hp, r.text)[: hp.MAX_LENGTH] for r in reviews]


def train_batches(vocab: dict, splits, settings: dict) -> list[ref.Batch]:
    reviews = splits.train[: int(settings["learn_train_reviews"])]
    return ref.make_batches(ids(vocab, reviews), [r.label for r in reviews], int(settings["learn_batch_size"]))


def held_out(splits, settings: dict, secret: int, data: Path | None) -> list[Review]:
    """This run's held-out reviews (see the module's docstring); `secret` must never reach the kernel."""
    n = int(settings["learn_test_reviews"])
    if data is None:
        return fresh_reviews(n, secret, exclude=[*splits.train, *splits.valid, *splits.test])
    return random.Random(secret).sample(splits.test, min(n, len(splits.test)))


def test_batches(vocab: dict, reviews: list[Review]) -> list[ref.Batch]:
    """Held-out inputs only: the labels are zeros here and the real ones never leave the host."""
    return ref.make_batches(ids(vocab, reviews), [0] * len(reviews), 100)


def accuracy(probs: torch.Tensor, reviews) -> float:
    labels = torch.tensor([r.label for r in reviews], dtype=torch.float32)
    return ((probs > 0.5).float() == labels).float().mean().item()


def reference_accuracy(vocab: dict, splits, settings: dict, seed: int, reviews: list[Review]) -> float:
    """What the learning check measures on held-out `reviews`, with the reference's classifier and `train` in the
    student's place."""
    return reference_accuracies(vocab, splits, settings, seed, [reviews])[0]


def reference_accuracies(vocab: dict, splits, settings: dict, seed: int, held_outs: list[list[Review]],
                         model_class: type[torch.nn.Module] = ref.RNNClassifier) -> list[float]:
    """`reference_accuracy` on each of several held-out sets, for one training run (the costly part). Another
    `model_class` (the reference with one mistake) measures what that mistake reaches under the same budget."""
    batches = train_batches(vocab, splits, settings)
    torch.manual_seed(seed)
    model = model_class(len(vocab), int(settings["learn_embedding_dim"]), int(settings["learn_hidden_size"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(settings["learn_lr"]))
    order = torch.Generator().manual_seed(seed)
    for _ in range(int(settings["learn_epochs"])):
        ref.train(model, [batches[i] for i in torch.randperm(len(batches), generator=order).tolist()], optimizer,
                  torch.nn.BCELoss())
    model.eval()
    with torch.no_grad():
        return [accuracy(torch.cat([model(b.text, b.lengths) for b in test_batches(vocab, reviews)]), reviews)
                for reviews in held_outs]


def threshold_for(data: Path | None, vocab: dict, splits, settings: dict, reviews: list[Review]) -> tuple[float, str]:
    """(threshold, how it was set), see gradekit.thresholds."""
    return learning_threshold("rnn_sentiment", data, settings, lambda: reference_accuracy(
        vocab, splits, settings, int(settings["learn_seed"]), reviews))
