"""The learning check's budget, shared by the grader (student's model and `train`, in the kernel) and by the
reference run that sets the threshold (on the host): one snippet, run with either side's names, so the two stay
comparable.

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
from gradekit.shared_checks import RECORD_LOSS
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


# Runs in the student's kernel (and, with the reference's names, on the host): held-out probabilities (N,).
TRAIN_AND_PREDICT = """
import collections
import torch
""" + RECORD_LOSS + """
_Batch = collections.namedtuple("Batch", ["text", "lengths", "label"])
torch.manual_seed(seed)
model = RNNClassifier(vocab_size, embedding_dim, hidden_size)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
criterion = _RecordedLoss(torch.nn.BCELoss())
batches = [_Batch(*b) for b in train_data]
order = torch.Generator().manual_seed(seed)
for _ in range(epochs):
    train(model, [batches[i] for i in torch.randperm(len(batches), generator=order).tolist()], optimizer,
          criterion)
model.eval()
with torch.no_grad():
    result = {"probs": torch.cat([model(text, lengths).reshape(-1) for text, lengths in test_data]),
              "losses": criterion.values}
"""


def inputs(vocab: dict, splits, settings: dict, seed: int, *held_outs: list[Review]) -> dict:
    """Everything the snippet needs: training batches with labels, held-out batches (of each set) without."""
    return dict(seed=seed, vocab_size=len(vocab), embedding_dim=int(settings["learn_embedding_dim"]),
                hidden_size=int(settings["learn_hidden_size"]), lr=float(settings["learn_lr"]),
                epochs=int(settings["learn_epochs"]),
                train_data=[(b.text, b.lengths, b.label) for b in train_batches(vocab, splits, settings)],
                test_data=[(b.text, b.lengths) for reviews in held_outs for b in test_batches(vocab, reviews)])


def reference_accuracy(vocab: dict, splits, settings: dict, seed: int, reviews: list[Review]) -> float:
    """What the learning check measures on held-out `reviews`, with the reference's classifier and `train` in the
    student's place."""
    return reference_accuracies(vocab, splits, settings, seed, [reviews])[0]


def reference_accuracies(vocab: dict, splits, settings: dict, seed: int, held_outs: list[list[Review]],
                         model_class: type[torch.nn.Module] = ref.RNNClassifier) -> list[float]:
    """`reference_accuracy` on each of several held-out sets, for one training run (the costly part). Another
    `model_class` (the reference with one mistake) measures what that mistake reaches under the same budget."""
    scope = {"RNNClassifier": model_class, "train": ref.train, **inputs(vocab, splits, settings, seed, *held_outs)}
    exec(compile(TRAIN_AND_PREDICT, "<learning check>", "exec"), scope)  # our own code, on our own data
    probs = scope["result"]["probs"].split([len(reviews) for reviews in held_outs])
    return [accuracy(part, reviews) for part, reviews in zip(probs, held_outs, strict=True)]


def threshold_for(data: Path | None, vocab: dict, splits, settings: dict, reviews: list[Review]) -> tuple[float, str]:
    """(threshold, how it was set), see gradekit.thresholds."""
    return learning_threshold("rnn_sentiment", data, settings, lambda: reference_accuracy(
        vocab, splits, settings, int(settings["learn_seed"]), reviews))
