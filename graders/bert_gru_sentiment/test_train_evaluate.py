"""Q3b train and Q3c evaluate: behaviour on a probe model of the grader's own, then the real thing: the
student's model around a small BERT, frozen with the student's freeze_bert, trained with the student's train.
The probe's reviews and initial weights are drawn per grading run; which weights moved is decided on the host
from state dicts read out of the model's storage (gk_state_dict)."""

import random

import pytest
import torch

from gradekit import checks, shared_checks

PROBE = """
import collections
import torch
from torch import nn

class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30522, 8, padding_idx=0)
        self.out = nn.Linear(8, 1)
    def forward(self, text):
        mean = self.emb(text).sum(1) / (text != 0).sum(1).clamp(min=1)[:, None]
        return self.out(mean)

_Batch = collections.namedtuple("Batch", ["text", "label"])
torch.manual_seed(seed)
model = _Probe()
batches = [_Batch(*b) for b in data]
criterion = nn.BCEWithLogitsLoss()
""" + shared_checks.RUN_TRAIN_OR_EVALUATE + """
with torch.no_grad():
    logits = [model(b.text).squeeze(1) for b in batches]
result = {"returned": returned, "before": before, "after": after, "calls": calls, "logits": logits,
          "has_grad": has_grad}
"""

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


def run_probe(submission, which, batches, seed):
    out = submission.run(PROBE, what=SIGNATURES[which], name=which, which=which, data=batches, seed=seed % 1_000_003)
    out["changed"] = shared_checks.changed_weights(out)
    return out, shared_checks.returned_loss_and_accuracy(which, out["returned"])


@pytest.fixture(scope="module")
def trained(submission, batches, seed):
    return run_probe(submission, "train", batches, seed)


@pytest.fixture(scope="module")
def evaluated(submission, batches, seed):
    return run_probe(submission, "evaluate", batches, seed)


@pytest.mark.question("train", points=1)
def test_train_updates_weights_in_training_mode(trained):
    """train changes the weights, with the model in training mode"""
    out, (loss, acc) = trained
    assert out["changed"], "train: no weight changed; call loss.backward() and optimizer.step() for each batch"
    assert all(training for _, training in out["calls"]), "train: call model.train() first"
    assert 0 < loss < 5 and 0 <= acc <= 1, f"train returned loss {loss:.4g} and accuracy {acc:.4g}"


@pytest.mark.question("train", points=2)
def test_freeze_really_freezes(submission, tiny_bert, batches):
    """After freeze_bert and train, every BERT weight is unchanged and the GRU and output layer moved"""
    out = submission.run(FREEZE_AND_TRAIN, what="train on BERTGRUSentiment after freeze_bert", name="freeze_bert",
                         tiny=tiny_bert, data=batches[:2])
    changed = shared_checks.changed_weights(out)
    bert_changed = [k for k in changed if k.startswith("bert")]
    head_unchanged = [k for k in sorted(out["before"]) if not k.startswith("bert") and k not in changed]
    assert not bert_changed, (
        f"BERT changed during train although it should be frozen ({len(bert_changed)} tensors, e.g. "
        f"{bert_changed[0]}): freeze_bert must set requires_grad=False on every bert.* parameter, and "
        "forward must run BERT under torch.no_grad()")
    assert not head_unchanged, f"these did not change during train: {head_unchanged}"


@pytest.mark.question("train", points=1, hidden=True)
def test_forward_runs_bert_without_gradient(submission, tiny_bert):
    """forward runs BERT under no_grad: BERT gets no gradient even when not frozen"""
    model = submission.new("BERTGRUSentiment", tiny_bert, 8, 1, 1, False, 0.0)
    grads = model.forward_backward(torch.randint(1000, 2000, (2, 6)))["grads"]
    leaked = [name for name, g in grads.items() if name.startswith("bert") and torch.count_nonzero(g) > 0]
    assert not leaked, f"BERT parameters received gradient ({leaked[0]}, ...): run self.bert under torch.no_grad()"


@pytest.mark.question("evaluate", points=1)
def test_evaluate_changes_nothing(evaluated):
    """evaluate leaves every weight unchanged"""
    shared_checks.evaluate_changed_nothing(evaluated[0])


@pytest.mark.question("evaluate", points=1)
def test_evaluate_without_gradient_in_eval_mode(evaluated):
    """evaluate runs the model in eval mode without gradients"""
    shared_checks.evaluate_ran_without_gradient_in_eval_mode(evaluated[0])


@pytest.mark.question("evaluate", points=1)
def test_evaluate_reports_true_loss_and_accuracy(evaluated, batches):
    """evaluate's loss and accuracy are those of the model's predictions"""
    out, (loss, acc) = evaluated
    logits = [checks.tensor(x, "the probe model's predictions") for x in out["logits"]]
    labels = [b[1] for b in batches]
    bce = torch.nn.BCEWithLogitsLoss()
    want_loss = sum(bce(x, y).item() for x, y in zip(logits, labels, strict=True)) / len(logits)
    want_acc = sum(((x > 0).float() == y).float().mean().item() for x, y in zip(logits, labels, strict=True))
    want_acc /= len(logits)
    assert abs(loss - want_loss) < 1e-4, f"evaluate returned loss {loss:.4f}; the mean batch loss is {want_loss:.4f}"
    assert abs(acc - want_acc) < 1e-4, (
        f"evaluate returned accuracy {acc:.4f}; the mean batch accuracy is {want_acc:.4f}")
