"""A training epoch judged by its effect (gradekit.shared_checks.epoch_mistake, issue 11 class 1): training loops
written the ways students write them run here on the host, on rnn_sentiment's probe from the same weights, and the
judgement must pass every correct one and name the mistake of every wrong one. (Fast: no kernel; these loops are
our own code, standing in for the notebook's.)"""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import reference.rnn_sentiment as ref
from gradekit.config import graders_module, load_assignment
from gradekit.datasets.sentiment import bundled_splits
from gradekit.shared_checks import ACCUMULATED, epoch_mistake

ROOT = Path(__file__).resolve().parents[1]
Batch = collections.namedtuple("Batch", ["text", "lengths", "label"])


def grader(assignment: str, module: str):
    return graders_module(load_assignment(assignment, ROOT), module)


rnn = grader("rnn_sentiment", "test_train_evaluate")


def accuracy(p, y):
    return ((p > 0.5).float() == y).float().mean()


def solution(model, iterator, optimizer, criterion):
    model.train()
    total = 0.0
    for batch in iterator:
        optimizer.zero_grad()
        predictions = model(batch.text, batch.lengths)
        loss = criterion(predictions, batch.label)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(iterator), 0.5


def set_to_none(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad(set_to_none=True)
        criterion(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()


def model_zero_grad(model, iterator, optimizer, criterion):
    for batch in iterator:
        model.zero_grad()
        criterion(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()


def zero_after_step(model, iterator, optimizer, criterion):
    for batch in iterator:
        criterion(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()
        optimizer.zero_grad()


def grad_enabled_and_keywords(model, iterator, optimizer, criterion):
    with torch.set_grad_enabled(True):
        for text, lengths, label in iterator:
            optimizer.zero_grad()
            loss = criterion(model(sequence=text, lengths=lengths).view(-1), label.float())
            loss.backward()
            optimizer.step()


def hand_written_bce(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        p = model(batch.text)
        loss = -(batch.label * torch.log(p) + (1 - batch.label) * torch.log(1 - p)).mean()
        loss.backward()
        optimizer.step()


def no_zero_grad(model, iterator, optimizer, criterion):
    for batch in iterator:
        criterion(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()


def step_after_the_loop(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        criterion(model(batch.text, batch.lengths), batch.label).backward()
    optimizer.step()


def one_step_per_epoch(model, iterator, optimizer, criterion):
    optimizer.zero_grad()
    for batch in iterator:
        criterion(model(batch.text, batch.lengths), batch.label).backward()
    optimizer.step()


def two_steps(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        criterion(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()
        optimizer.step()


def backward_twice(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        loss = criterion(model(batch.text, batch.lengths), batch.label)
        loss.backward(retain_graph=True)
        loss.backward()
        optimizer.step()


def mean_squared_error(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        F.mse_loss(model(batch.text, batch.lengths), batch.label).backward()
        optimizer.step()


def summed_loss(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        (criterion(model(batch.text, batch.lengths), batch.label) * len(batch.label)).backward()
        optimizer.step()


def first_batch_only(model, iterator, optimizer, criterion):
    first = iterator[0]
    for _ in iterator:
        optimizer.zero_grad()
        criterion(model(first.text, first.lengths), first.label).backward()
        optimizer.step()


def no_step(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        criterion(model(batch.text, batch.lengths), batch.label).backward()


def label_smoothing(model, iterator, optimizer, criterion):
    for batch in iterator:
        optimizer.zero_grad()
        criterion(model(batch.text, batch.lengths), batch.label * 0.8 + 0.1).backward()
        optimizer.step()


CORRECT = [solution, set_to_none, model_zero_grad, zero_after_step, grad_enabled_and_keywords, hand_written_bce]
WRONG = {
    no_zero_grad: ACCUMULATED,
    step_after_the_loop: "only the last batch's gradient was used",
    one_step_per_epoch: "one optimizer step per epoch, after the loop, on the gradients of every batch added up",
    two_steps: "twice as far as one optimizer step",
    backward_twice: "twice as far as one optimizer step",
    mean_squared_error: "the loss is the mean squared error",
    summed_loss: "the loss is summed over the batch",
    first_batch_only: "every step trained on the first batch",
    no_step: "no weight changed",
    label_smoothing: "changed the weights, but not as one optimizer step per batch",
}


@pytest.fixture(scope="module")
def case():
    splits = bundled_splits()
    vocab = ref.build_vocab([r.text for r in splits.train], 5, ref.HyperParams())
    reviews = random.Random(7).sample(splits.train, 96)
    ids = [ref.tokenize(vocab, ref.HyperParams(), r.text)[: ref.HyperParams.MAX_LENGTH] for r in reviews]
    batches = [(b.text, b.lengths, b.label) for b in ref.make_batches(ids, [r.label for r in reviews], 32)]
    epoch = rnn.EpochCase(name="train", make_model=lambda: rnn.probe_class()(len(vocab)),
                          forward=lambda model, b: model(b[0], b[1]), batches=batches, loss=rnn.LOSS,
                          wrong_losses=rnn.WRONG_LOSSES, lr=rnn.LR, step="the notebook's step")
    return epoch


def run(case, train) -> str:
    torch.manual_seed(3)
    model = case.make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, [Batch(*b) for b in case.batches], torch.optim.SGD(model.parameters(), lr=case.lr), nn.BCELoss())
    return epoch_mistake(case, before, {k: v.clone() for k, v in model.state_dict().items()})


@pytest.mark.parametrize("train", CORRECT, ids=lambda f: f.__name__)
def test_a_correct_epoch_passes(case, train):
    assert run(case, train) == ""


@pytest.mark.parametrize("train, words", WRONG.items(), ids=lambda f: getattr(f, "__name__", ""))
def test_a_wrong_epoch_names_its_mistake(case, train, words):
    why = run(case, train)
    assert words in why, why


# vit_fashion_mnist's train_epoch(model, optimizer, data_loader, loss_history), on its probe and its losses.
vit = grader("vit_fashion_mnist", "test_training")


def vit_solution(model, optimizer, loader):
    for data, target in loader:
        optimizer.zero_grad()
        F.nll_loss(F.log_softmax(model(data), dim=1), target).backward()
        optimizer.step()


def vit_cross_entropy(model, optimizer, loader):
    for data, target in loader:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(data), target).backward()
        optimizer.step()


def vit_loss(of):
    def train_epoch(model, optimizer, loader):
        for data, target in loader:
            optimizer.zero_grad()
            of(model(data), target).backward()
            optimizer.step()
    return train_epoch


VIT_CORRECT = {"solution": vit_solution, "cross_entropy": vit_cross_entropy}
VIT_WRONG = {
    "raw_outputs": (vit_loss(F.nll_loss), "apply F.log_softmax(..., dim=1) first"),
    "softmax": (vit_loss(lambda x, t: F.nll_loss(F.softmax(x, dim=1), t)), "F.nll_loss of a softmax"),
    "over_the_batch": (vit_loss(lambda x, t: F.nll_loss(F.log_softmax(x, dim=0), t)), "over the batch (dim=0)"),
    "summed": (vit_loss(lambda x, t: F.cross_entropy(x, t, reduction="sum")), 'summed over the batch'),
}


@pytest.fixture(scope="module")
def vit_case():
    data = vit.draw(11, 60, 3)
    return vit.EpochCase(name="train_epoch", make_model=lambda: vit.probe_class()(), forward=lambda m, b: m(b[0]),
                         batches=data["batches"], loss=vit.LOSS, wrong_losses=vit.WRONG_LOSSES, lr=vit.LR,
                         step="the notebook's step")


def vit_run(case, train_epoch) -> str:
    torch.manual_seed(5)
    model = case.make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_epoch(model, torch.optim.SGD(model.parameters(), lr=case.lr), case.batches)
    return epoch_mistake(case, before, {k: v.clone() for k, v in model.state_dict().items()})


@pytest.mark.parametrize("train_epoch", VIT_CORRECT.values(), ids=VIT_CORRECT)
def test_a_correct_vit_epoch_passes(vit_case, train_epoch):
    assert vit_run(vit_case, train_epoch) == ""


@pytest.mark.parametrize("train_epoch, words", VIT_WRONG.values(), ids=VIT_WRONG)
def test_a_wrong_vit_loss_is_named(vit_case, train_epoch, words):
    why = vit_run(vit_case, train_epoch)
    assert words in why, why
