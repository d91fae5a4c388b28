"""Q7 train and evaluate, judged by behaviour on a small probe model of the grader's own (so a bug in Q3-Q5
cannot fail these checks). train is judged by its effect: the weights it leaves must be those one SGD step per
batch on that batch's loss gives, replayed on the host from the same weights (gradekit.shared_checks). evaluate
measures without changing anything. The probe's reviews and its initial weights are drawn per grading run, so the
losses it gives cannot be known in advance."""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradekit import shared_checks
from gradekit.shared_checks import EpochCase, Loss

Q = "train_evaluate"
LR = 0.5

# The probe: a bag of embeddings with RNNClassifier's interface (forward(sequence, lengths=None) -> (batch,)
# probabilities). One source, built in the kernel for the student's functions and on the host for the replay.
PROBE_MODEL = """
class _Probe(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.out = nn.Linear(8, 1)

    def forward(self, sequence, lengths=None):
        mean = self.emb(sequence).sum(0) / (sequence != 0).sum(0).clamp(min=1)[:, None]
        return torch.sigmoid(self.out(mean)).view(-1)
"""

# Runs in the student's kernel: the probe, the student's train or evaluate on it, and a record of how the model
# was called. Returns data only.
PROBE = """
import collections
import torch
from torch import nn
""" + PROBE_MODEL + """
_Batch = collections.namedtuple("Batch", ["text", "lengths", "label"])
torch.manual_seed(seed)
model = _Probe(vocab_size)
batches = [_Batch(*b) for b in data]
criterion = nn.BCELoss()
""" + shared_checks.RUN_TRAIN_OR_EVALUATE + """
result = {"returned": returned, "before": before, "after": after, "calls": calls, "has_grad": has_grad,
          "accuracy_calls": accuracy_calls}
"""


def probe_class() -> type[nn.Module]:
    return shared_checks.probe_class(PROBE_MODEL)


def score(probs: torch.Tensor, batch: tuple) -> tuple[float, float]:
    """A batch's loss and accuracy as the notebook defines them (the model returns probabilities)."""
    label = batch[2]
    probs = probs.reshape(label.shape)
    return F.binary_cross_entropy(probs, label).item(), ((probs > 0.5).float() == label).float().mean().item()


# train's loss as the notebook asks (criterion(predictions, batch.label), nn.BCELoss), and as students get it wrong.
LOSS = Loss(lambda p, b: F.binary_cross_entropy(p, b[2]))
WRONG_LOSSES = (
    Loss(lambda p, b: F.mse_loss(p, b[2]),
         "the loss is the mean squared error, not criterion(predictions, batch.label): use the criterion train is "
         "given"),
    Loss(lambda p, b: F.binary_cross_entropy_with_logits(p, b[2]),
         "the loss treats the model's probabilities as logits (a second sigmoid): use criterion(predictions, "
         "batch.label) on the probabilities the model returns"),
    Loss(lambda p, b: F.binary_cross_entropy(p, b[2], reduction="sum"),
         "the loss is summed over the batch, not averaged: use criterion(predictions, batch.label) as it is"),
)


@pytest.fixture(scope="module")
def batches(reference, ref_vocab, hparams, splits, seed):
    reviews = random.Random(seed).sample(splits.train, 96)
    ids = [reference.tokenize(ref_vocab, hparams, r.text)[: hparams.MAX_LENGTH] for r in reviews]
    made = reference.make_batches(ids, [r.label for r in reviews], batch_size=32)
    return [(b.text, b.lengths, b.label) for b in made]


@pytest.fixture(scope="module")
def epoch(batches, ref_vocab):
    vocab_size = len(ref_vocab)
    return EpochCase(name="train", make_model=lambda: probe_class()(vocab_size),
                     forward=lambda model, b: model(b[0], b[1]), batches=batches, loss=LOSS,
                     wrong_losses=WRONG_LOSSES, lr=LR,
                     step="optimizer.zero_grad(), predictions = model(batch.text, batch.lengths), loss = "
                          "criterion(predictions, batch.label), loss.backward(), optimizer.step()")


SIGNATURES = {
    "train": "train(model, iterator, optimizer, criterion)",
    "evaluate": "evaluate(model, iterator, criterion)",
}


# The model returns probabilities and binary_accuracy takes logits: the usual way an accuracy goes wrong here.
LOGITS_HINT = " (binary_accuracy takes logits: give it torch.logit(predictions, eps=1e-6))"


def run_probe(submission, which, batches, vocab_size, seed):
    return submission.run(PROBE, what=SIGNATURES[which], name=which, which=which, data=batches,
                          seed=seed % 1_000_003, vocab_size=vocab_size, lr=LR)


@pytest.fixture(scope="module")
def trained(submission, batches, ref_vocab, seed):
    return run_probe(submission, "train", batches, len(ref_vocab), seed)


@pytest.fixture(scope="module")
def evaluated(submission, batches, ref_vocab, seed):
    return run_probe(submission, "evaluate", batches, len(ref_vocab), seed)


@pytest.mark.question(Q, points=1.5)
def test_train_takes_one_step_per_batch(trained, epoch):
    """train takes one optimizer step per batch, on that batch's loss"""
    shared_checks.trained_like_the_notebook(epoch, trained)


@pytest.mark.question(Q, points=0.5)
def test_train_uses_training_mode(trained):
    """train trains the model in training mode"""
    calls = shared_checks.recorded_calls(trained)
    assert shared_checks.changed_weights(trained), (
        "train: no weight changed, so the model was not trained in any mode; call loss.backward() and "
        "optimizer.step() for each batch")
    assert calls and all(c.training for c in calls if c.grad), (
        "train: the model was not in training mode during train; call model.train() first")


@pytest.mark.question(Q, points=0.5)
def test_train_returns_mean_loss_and_accuracy(trained, batches, reference):
    """train returns the means of its batches' losses and accuracies"""
    shared_checks.train_returned_its_loss("train", trained, batches, score, wrong_losses=WRONG_LOSSES,
                                         accuracy=reference.binary_accuracy, hint=LOGITS_HINT)


@pytest.mark.question(Q, points=0.5)
def test_evaluate_changes_nothing(evaluated, batches):
    """evaluate measures the model and leaves every weight unchanged"""
    shared_checks.evaluate_changed_nothing(evaluated, batches, score)


@pytest.mark.question(Q, points=1)
def test_evaluate_without_gradient_in_eval_mode(evaluated, batches):
    """evaluate measures the model in eval mode without gradients"""
    shared_checks.evaluate_ran_without_gradient_in_eval_mode(evaluated, batches, score)


@pytest.mark.question(Q, points=1)
def test_evaluate_reports_true_loss_and_accuracy(evaluated, batches, reference):
    """evaluate's loss and accuracy are those of the model's predictions"""
    shared_checks.evaluate_reported_its_figures(evaluated, batches, score, hint=LOGITS_HINT,
                                                accuracy=reference.binary_accuracy)
