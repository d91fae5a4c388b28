"""Q3b train and Q3c evaluate: behaviour on a probe model of the grader's own, then the real thing: the
student's model around a small BERT, frozen with the student's freeze_bert, trained with the student's train.
train is judged by its effect: the weights it leaves on the probe must be those one SGD step per batch on that
batch's loss gives, replayed on the host from the same weights (gradekit.shared_checks). The probe's reviews and
initial weights are drawn per grading run; which weights moved is decided on the host from state dicts read out of
the model's storage (gk_state_dict)."""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradekit import shared_checks
from gradekit.shared_checks import EpochCase, Loss

LR = 0.5

# The probe: a bag of embeddings with BERTGRUSentiment's interface (forward(text) -> (batch, 1) logits). One source,
# built in the kernel for the student's functions and on the host for the replay of train's epoch.
PROBE_MODEL = """
class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30522, 8, padding_idx=0)
        self.out = nn.Linear(8, 1)

    def forward(self, text):
        mean = self.emb(text).sum(1) / (text != 0).sum(1).clamp(min=1)[:, None]
        return self.out(mean)
"""

PROBE = """
import collections
import torch
from torch import nn
""" + PROBE_MODEL + """
_Batch = collections.namedtuple("Batch", ["text", "label"])
torch.manual_seed(seed)
model = _Probe()
batches = [_Batch(*b) for b in data]
criterion = nn.BCEWithLogitsLoss()
""" + shared_checks.RUN_TRAIN_OR_EVALUATE + """
result = {"returned": returned, "before": before, "after": after, "calls": calls, "has_grad": has_grad,
          "accuracy_calls": accuracy_calls}
"""


def probe_class() -> type[nn.Module]:
    return shared_checks.probe_class(PROBE_MODEL)


def score(logits: torch.Tensor, batch: tuple) -> tuple[float, float]:
    """A batch's loss and accuracy as the notebook defines them (the model returns logits)."""
    label = batch[1]
    logits = logits.reshape(label.shape)
    return (F.binary_cross_entropy_with_logits(logits, label).item(),
            ((logits > 0).float() == label).float().mean().item())


# train's loss as the notebook asks (criterion(predictions, batch.label), nn.BCEWithLogitsLoss on the squeezed
# logits), and as students get it wrong.
LOSS = Loss(lambda x, b: F.binary_cross_entropy_with_logits(x, b[1]))
WRONG_LOSSES = (
    Loss(lambda x, b: F.binary_cross_entropy_with_logits(torch.sigmoid(x), b[1]),
         "the loss applies a sigmoid before criterion, which applies its own: use criterion(predictions, "
         "batch.label) on the logits the model returns"),
    Loss(lambda x, b: F.mse_loss(x, b[1]),
         "the loss is the mean squared error, not criterion(predictions, batch.label): use the criterion train is "
         "given"),
    Loss(lambda x, b: F.binary_cross_entropy_with_logits(x, b[1], reduction="sum"),
         "the loss is summed over the batch, not averaged: use criterion(predictions, batch.label) as it is"),
)


FREEZE_AND_TRAIN = """
import collections
import torch
_Batch = collections.namedtuple("Batch", ["text", "label"])
torch.manual_seed(0)
model = BERTGRUSentiment(tiny, 16, 1, 1, True, 0.0)
freeze_bert(model)
before = {k: v.clone() for k, v in gk_state_dict(model).items()}
optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
train(model, [_Batch(*b) for b in data], optimizer, torch.nn.BCEWithLogitsLoss())
result = {"before": before, "after": gk_state_dict(model)}
"""

SIGNATURES = {
    "train": "train(model, iterator, optimizer, criterion)",
    "evaluate": "evaluate(model, iterator, criterion)",
}


@pytest.fixture(scope="module")
def batches(tokenizer, reference, splits, seed):
    reviews = random.Random(seed).sample(splits.train, 64)
    ids = [reference.encode(tokenizer, r.text) for r in reviews]
    return [(b.text, b.label) for b in reference.make_batches(ids, [r.label for r in reviews], 32)]


@pytest.fixture(scope="module")
def epoch(batches):
    return EpochCase(name="train", make_model=lambda: probe_class()(), forward=lambda model, b: model(b[0]).squeeze(1),
                     batches=batches, loss=LOSS, wrong_losses=WRONG_LOSSES, lr=LR,
                     step="optimizer.zero_grad(), predictions = model(batch.text).squeeze(1), loss = "
                          "criterion(predictions, batch.label), loss.backward(), optimizer.step()")


def run_probe(submission, which, batches, seed):
    return submission.run(PROBE, what=SIGNATURES[which], name=which, which=which, data=batches, seed=seed % 1_000_003,
                          lr=LR)


@pytest.fixture(scope="module")
def trained(submission, batches, seed):
    return run_probe(submission, "train", batches, seed)


@pytest.fixture(scope="module")
def evaluated(submission, batches, seed):
    return run_probe(submission, "evaluate", batches, seed)


@pytest.mark.question("train", points=1)
def test_train_takes_one_step_per_batch(trained, epoch):
    """train takes one optimizer step per batch, on that batch's loss"""
    shared_checks.trained_like_the_notebook(epoch, trained)


@pytest.mark.question("train", points=0.5)
def test_train_in_training_mode_returns_its_loss(trained, batches, reference):
    """train trains in training mode and returns the mean of its batches' losses"""
    assert shared_checks.changed_weights(trained), (
        "train: no weight changed, so the model was not trained in any mode; call loss.backward() and "
        "optimizer.step() for each batch")
    calls = shared_checks.recorded_calls(trained)
    assert calls and all(c.training for c in calls if c.grad), "train: call model.train() first"
    shared_checks.train_returned_its_loss("train", trained, batches, score,
                                         trained_on=lambda x, b: x.reshape(b[1].shape), wrong_losses=WRONG_LOSSES,
                                         accuracy=reference.binary_accuracy)


@pytest.mark.question("train", points=1.5)
def test_freeze_really_freezes(submission, tiny_bert, batches):
    """After freeze_bert and train, every BERT weight is unchanged, and the rest of the model trained"""
    out = submission.run(FREEZE_AND_TRAIN, what="train on BERTGRUSentiment after freeze_bert", name="freeze_bert",
                         tiny=tiny_bert, data=batches[:2])
    changed = shared_checks.changed_weights(out)
    bert_changed = [k for k in changed if k.startswith("bert")]
    head_changed = [k for k in changed if not k.startswith("bert")]
    assert not bert_changed, (
        f"BERT changed during train although it should be frozen ({len(bert_changed)} tensors, e.g. "
        f"{bert_changed[0]}): freeze_bert must set requires_grad=False on every bert.* parameter, and "
        "forward must run BERT under torch.no_grad()")
    # evidence that train trained in the same call: an unchanged BERT earns nothing from a train that trains nothing.
    # Which head weights learn is the model's question, not train's.
    assert head_changed, ("no weight of the GRU or the output layer changed during train either: train must take "
                          "an optimizer step for each batch")


@pytest.mark.question("train", points=1, hidden=True)
def test_forward_runs_bert_without_gradient(submission, tiny_bert):
    """forward runs BERT under no_grad: BERT gets no gradient even when not frozen"""
    model = submission.new("BERTGRUSentiment", tiny_bert, 8, 1, 1, False, 0.0)
    grads = model.forward_backward(torch.randint(1000, 2000, (2, 6)))["grads"]
    leaked = [name for name, g in grads.items() if name.startswith("bert") and torch.count_nonzero(g) > 0]
    assert not leaked, f"BERT parameters received gradient ({leaked[0]}, ...): run self.bert under torch.no_grad()"


@pytest.mark.question("evaluate", points=1)
def test_evaluate_changes_nothing(evaluated, batches):
    """evaluate measures the model and leaves every weight unchanged"""
    shared_checks.evaluate_changed_nothing(evaluated, batches, score)


@pytest.mark.question("evaluate", points=1)
def test_evaluate_without_gradient_in_eval_mode(evaluated, batches):
    """evaluate measures the model in eval mode without gradients"""
    shared_checks.evaluate_ran_without_gradient_in_eval_mode(evaluated, batches, score)


@pytest.mark.question("evaluate", points=1)
def test_evaluate_reports_true_loss_and_accuracy(evaluated, batches, reference):
    """evaluate's loss and accuracy are those of the model's predictions"""
    shared_checks.evaluate_reported_its_figures(evaluated, batches, score, accuracy=reference.binary_accuracy)
