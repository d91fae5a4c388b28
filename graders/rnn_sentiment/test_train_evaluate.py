"""Q7 train and evaluate, judged by behaviour on a small probe model of the grader's own (so a bug in Q3-Q5
cannot fail these checks): train learns, evaluate measures without changing anything. The probe's reviews and
its initial weights are drawn per grading run, so the losses it gives cannot be known in advance."""

import random

import pytest
import torch

from gradekit import checks, shared_checks

Q = "train_evaluate"

# Runs in the student's kernel: a tiny bag-of-embeddings model, the student's train or evaluate on it, and
# a record of how the model was called. Returns data only.
PROBE = """
import collections
import torch
from torch import nn

class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.out = nn.Linear(8, 1)
    def forward(self, text, lengths=None):
        mean = self.emb(text).sum(0) / (text != 0).sum(0).clamp(min=1)[:, None]
        return torch.sigmoid(self.out(mean)).view(-1)

_Batch = collections.namedtuple("Batch", ["text", "lengths", "label"])
torch.manual_seed(seed)
model = _Probe()
batches = [_Batch(*b) for b in data]
criterion = nn.BCELoss()
""" + shared_checks.RUN_TRAIN_OR_EVALUATE + """
with torch.no_grad():
    probs = [model(b.text, b.lengths) for b in batches]
result = {"returned": returned, "before": before, "after": after, "calls": calls, "probs": probs, "has_grad": has_grad}
"""


@pytest.fixture(scope="module")
def batches(reference, ref_vocab, hparams, splits, seed):
    reviews = random.Random(seed).sample(splits.train, 96)
    ids = [reference.tokenize(ref_vocab, hparams, r.text)[: hparams.MAX_LENGTH] for r in reviews]
    made = reference.make_batches(ids, [r.label for r in reviews], batch_size=32)
    return [(b.text, b.lengths, b.label) for b in made]


SIGNATURES = {
    "train": "train(model, iterator, optimizer, criterion)",
    "evaluate": "evaluate(model, iterator, criterion)",
}


def run_probe(submission, which, batches, vocab_size, name, seed):
    out = submission.run(PROBE, what=SIGNATURES[name], name=name, which=which,
                         data=batches, seed=seed % 1_000_003, vocab_size=vocab_size)
    out["changed"] = shared_checks.changed_weights(out)
    return out, shared_checks.returned_loss_and_accuracy(name, out["returned"])


@pytest.fixture(scope="module")
def trained(submission, batches, ref_vocab, seed):
    return run_probe(submission, "train", batches, len(ref_vocab), "train", seed)


@pytest.fixture(scope="module")
def evaluated(submission, batches, ref_vocab, seed):
    return run_probe(submission, "evaluate", batches, len(ref_vocab), "evaluate", seed)


@pytest.mark.question(Q, points=1)
def test_train_updates_weights(trained):
    """train changes the model's weights"""
    out, _ = trained
    assert out["changed"], "train: no weight changed; call loss.backward() and optimizer.step() for each batch"


@pytest.mark.question(Q, points=0.5)
def test_train_uses_training_mode(trained):
    """train puts the model in training mode"""
    out, _ = trained
    assert out["calls"] and all(training for _, training in out["calls"]), (
        "train: the model was not in training mode during train; call model.train() first")


@pytest.mark.question(Q, points=0.5)
def test_train_returns_mean_loss_and_accuracy(trained):
    """train returns a plausible mean loss and an accuracy in [0, 1]"""
    out, (loss, acc) = trained
    assert out["calls"], "train never called the model, so the loss and accuracy it returned measure nothing"
    assert 0 < loss < 5 and 0 <= acc <= 1, (
        f"train returned loss {loss:.4g} and accuracy {acc:.4g}: return the mean loss and mean accuracy over "
        "batches (accuracy between 0 and 1)")


@pytest.mark.question(Q, points=1)
def test_evaluate_changes_nothing(evaluated):
    """evaluate leaves every weight unchanged"""
    shared_checks.evaluate_changed_nothing(evaluated[0])


@pytest.mark.question(Q, points=1)
def test_evaluate_without_gradient_in_eval_mode(evaluated):
    """evaluate runs the model in eval mode without gradients"""
    shared_checks.evaluate_ran_without_gradient_in_eval_mode(evaluated[0])


@pytest.mark.question(Q, points=1)
def test_evaluate_reports_true_loss_and_accuracy(evaluated, batches):
    """evaluate's loss and accuracy are those of the model's predictions"""
    out, (loss, acc) = evaluated
    probs = [checks.tensor(p, "the probe model's predictions") for p in out["probs"]]
    labels = [b[2] for b in batches]
    bce = torch.nn.BCELoss()
    want_loss = sum(bce(p, y).item() for p, y in zip(probs, labels, strict=True)) / len(probs)
    want_acc = sum(((p > 0.5).float() == y).float().mean().item() for p, y in zip(probs, labels, strict=True))
    want_acc /= len(probs)
    assert abs(loss - want_loss) < 1e-4, f"evaluate returned loss {loss:.4f}; the mean batch loss is {want_loss:.4f}"
    assert abs(acc - want_acc) < 1e-4, (
        f"evaluate returned accuracy {acc:.4f}; the predictions' mean batch accuracy is {want_acc:.4f} "
        "(check binary_accuracy, and give it logits: torch.logit(predictions, eps=1e-6))")
