"""train_epoch and evaluate, by behaviour on a probe model of the graders' own (so a mistake in the ViT cannot fail
them). train_epoch is judged by its effect: the weights it leaves must be those one SGD step per batch on that
batch's loss gives, replayed on the host from the same weights (gradekit.shared_checks), and its loss_history must
hold the losses of every 100th batch. evaluate leaves the weights as they were, in eval mode, without gradients,
and reports the loss and accuracy of the model's own predictions. The images, labels and the probe's initial
weights are drawn per grading run, so the numbers cannot be known in advance; the weights are read from the
model's storage (gk_state_dict), not through methods a notebook can patch."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradekit import checks, shared_checks
from gradekit.shared_checks import EpochCase, Loss

LR = 1e-3
TRAIN_IMAGES, TRAIN_BATCH = 301, 3  # 101 batches: "every 100 batches" logs batch 0 and 100, or after batch 100
EVAL_IMAGES, EVAL_BATCH = 60, 20  # equal batches: the mean per image is the mean of the batch means

# The probe: a linear classifier with the ViT's interface (forward(img) -> (batch, 10) logits). One source, built
# in the kernel for the student's functions and on the host for the replay.
PROBE_MODEL = """
class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(28 * 28, 10)

    def forward(self, img):
        return self.head(img.flatten(1))
"""

RUN = """
import torch
from torch import nn
""" + PROBE_MODEL + """
torch.manual_seed(seed)
model = _Probe()
batches = [(images[i : i + batch_size], labels[i : i + batch_size]) for i in range(0, len(images), batch_size)]
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch_size,
                                     shuffle=False)
""" + shared_checks.RECORD_CALLS + """
before = {k: v.clone() for k, v in gk_state_dict(model).items()}
history = []
if which == "train":
    model.eval()
    returned = train_epoch(model, torch.optim.SGD(model.parameters(), lr=lr), loader, history)
else:
    model.train()
    returned = evaluate(model, loader, history)
hook.remove()
after = {k: v.clone() for k, v in gk_state_dict(model).items()}
has_grad = [n for n, p in gk_parameters(model) if p.grad is not None and bool(p.grad.abs().sum() > 0)]
result = {"returned": returned, "before": before, "after": after, "calls": calls, "history": history,
          "has_grad": has_grad}
"""


def probe_class() -> type[nn.Module]:
    return shared_checks.probe_class(PROBE_MODEL)


def nll(logits: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
    return F.nll_loss(F.log_softmax(logits, dim=1), target, **kwargs)


def score(logits: torch.Tensor, batch: tuple) -> tuple[float, float]:
    """A batch's mean loss and accuracy as the notebook defines them."""
    return nll(logits, batch[1]).item(), (logits.argmax(1) == batch[1]).float().mean().item()


# train_epoch's loss as the notebook gives it, and as students get it wrong.
LOSS = Loss(lambda x, b: nll(x, b[1]))
WRONG_LOSSES = (
    Loss(lambda x, b: F.nll_loss(x, b[1]),
         "the loss is F.nll_loss of the model's raw outputs: apply F.log_softmax(..., dim=1) first"),
    Loss(lambda x, b: F.nll_loss(F.softmax(x, dim=1), b[1]),
         "the loss is F.nll_loss of a softmax: it needs the log-probabilities, F.log_softmax(..., dim=1)"),
    Loss(lambda x, b: F.nll_loss(F.log_softmax(x, dim=0), b[1]),
         "the log-softmax runs over the batch (dim=0), not over the classes (dim=1)"),
    Loss(lambda x, b: nll(x, b[1], reduction="sum"),
         "the loss is summed over the batch (reduction=\"sum\"): train on the mean, F.nll_loss's default"),
)


def draw(seed: int, n: int, batch_size: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    images, labels = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    batches = [(images[i : i + batch_size], labels[i : i + batch_size]) for i in range(0, n, batch_size)]
    return {"images": images, "labels": labels, "batch_size": batch_size, "batches": batches}


@pytest.fixture(scope="module")
def train_data(seed):
    return draw(seed, TRAIN_IMAGES, TRAIN_BATCH)


@pytest.fixture(scope="module")
def eval_data(seed):
    return draw(seed + 1, EVAL_IMAGES, EVAL_BATCH)


def run(submission, which, data, seed):
    what = f"{which}(model, {'optimizer, ' if which == 'train_epoch' else ''}data_loader, loss_history)"
    return submission.run(RUN, what=what, name=which, which="train" if which == "train_epoch" else "eval",
                          images=data["images"], labels=data["labels"], batch_size=data["batch_size"],
                          seed=seed % 1_000_003, lr=LR)


@pytest.fixture(scope="module")
def trained(submission, train_data, seed):
    return run(submission, "train_epoch", train_data, seed)


@pytest.fixture(scope="module")
def evaluated(submission, eval_data, seed):
    return run(submission, "evaluate", eval_data, seed)


@pytest.fixture(scope="module")
def epoch(train_data):
    return EpochCase(name="train_epoch", make_model=lambda: probe_class()(), forward=lambda model, b: model(b[0]),
                     batches=train_data["batches"], loss=LOSS, wrong_losses=WRONG_LOSSES, lr=LR,
                     step="optimizer.zero_grad(), loss = F.nll_loss(F.log_softmax(model(data), dim=1), target), "
                          "loss.backward(), optimizer.step()")


@pytest.mark.question("train_epoch", points=1)
def test_train_epoch_takes_one_step_per_batch(trained, epoch):
    """train_epoch takes one optimizer step per batch, on that batch's loss"""
    shared_checks.trained_like_the_notebook(epoch, trained)


@pytest.mark.question("train_epoch", points=0.5)
def test_train_epoch_in_training_mode(trained):
    """train_epoch trains the model in training mode"""
    assert shared_checks.changed_weights(trained), (
        "train_epoch: no weight changed, so the model was not trained in any mode; call loss.backward() and "
        "optimizer.step() per batch")
    calls = shared_checks.recorded_calls(trained)
    assert calls and all(c.training for c in calls if c.grad), "train_epoch: call model.train()"


# "Every 100 batches append the current loss" (batch indices from 0): the solution's i % 100 == 0 logs batches 0
# and 100 of the probe's 101; "after every 100 batches" logs batch 99 ((i + 1) % 100 == 0) or batch 100
# (i % 100 == 0 and i > 0). Each reading is accepted (issue 11: specs read narrower than written).
READINGS = {(0, 100): "batches 0 and 100", (99,): "batch 99 (after 100 batches)", (100,): "batch 100"}


@pytest.mark.question("train_epoch", points=0.5)
def test_train_epoch_records_every_100th_loss(trained, train_data):
    """train_epoch appends the loss of every 100th batch to loss_history"""
    batches = train_data["batches"]
    outputs = shared_checks.outputs_per_batch(shared_checks.recorded_calls(trained), len(batches))
    assert outputs is not None, "train_epoch did not give every batch of data_loader to the model"
    losses = [score(o, b)[0] for o, b in zip(outputs, batches, strict=True)]
    history = trained["history"]
    assert isinstance(history, list) and history, (
        f"train_epoch appended nothing to loss_history over {len(batches)} batches: every 100 batches append the "
        "current loss (loss.item())")
    logged = [checks.number(v, "an entry of loss_history") for v in history]
    # A train_epoch that trains on a wrong loss and logs it is charged for the loss once, by the step check
    with torch.no_grad():
        own = [[w.of(o, b).item() for o, b in zip(outputs, batches, strict=True)] for w in WRONG_LOSSES]
    for series in (losses, *own):
        for indices in READINGS:
            if len(logged) == len(indices) and all(abs(v - series[i]) < 1e-4 * max(1.0, abs(series[i]))
                                                   for v, i in zip(logged, indices, strict=True)):
                return
    expected = " or ".join(f"{w} ({', '.join(f'{losses[i]:.4f}' for i in k)})" for k, w in READINGS.items())
    pytest.fail(f"over {len(batches)} batches train_epoch appended {len(logged)} value(s) to loss_history "
                f"({', '.join(f'{v:.4f}' for v in logged[:4])}); every 100 batches it should append that batch's "
                f"loss: {expected}")


@pytest.mark.question("evaluate", points=1)
def test_evaluate_changes_nothing_and_needs_no_gradient(evaluated, eval_data):
    """evaluate measures the model and leaves the weights unchanged, in eval mode, without gradients"""
    batches = eval_data["batches"]
    shared_checks.evaluate_did_its_job(evaluated, batches, score)
    changed = shared_checks.changed_weights(evaluated)
    assert not changed, f"evaluate changed weights: {changed[:3]}"
    calls = shared_checks.recorded_calls(evaluated)
    assert not any(c.training for c in calls), "evaluate: call model.eval() first"
    assert not any(c.grad for c in calls), "evaluate: wrap the loop in `with torch.no_grad():`"


@pytest.mark.question("evaluate", points=1.5)
def test_evaluate_reports_loss_and_accuracy(evaluated, eval_data):
    """evaluate returns the average loss and the accuracy of the model's predictions"""
    batches = eval_data["batches"]
    returned = evaluated["returned"]
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        pytest.fail(f"evaluate should return (average loss, accuracy); it returned {checks.describe_value(returned)}")
    loss, acc = (checks.number(v, f"evaluate's {k}") for k, v in zip(("loss", "accuracy"), returned, strict=True))
    outputs = shared_checks.outputs_per_batch(shared_checks.recorded_calls(evaluated), len(batches))
    assert outputs is not None, "evaluate did not give every batch of data_loader to the model"
    logits, labels = torch.cat(outputs), eval_data["labels"]
    want_loss = nll(logits, labels).item()
    want_acc = (logits.argmax(1) == labels).float().mean().item()
    # the batches' mean losses added up and divided by the number of images: each batch counted once, not per image
    of_means = want_loss * len(batches) / len(labels)
    why = (": it adds up each batch's mean loss and divides by the number of images; sum every image's loss "
           "(F.nll_loss(..., reduction=\"sum\")), then divide" if abs(loss - of_means) < 1e-4 else "")
    assert abs(loss - want_loss) < 1e-4, (
        f"evaluate returned an average loss of {loss:.4f}; it is {want_loss:.4f}{why}")
    assert abs(acc - want_acc) < 1e-6, (
        f"evaluate returned accuracy {acc:.4f}; the predictions' accuracy is {want_acc:.4f} (a fraction between 0 "
        "and 1)")
