"""Q6 parameter counts: the student's classifiers against the reference's, for seed 002's configurations and for
fresh ones. A count larger by exactly a linear layer over every padded step is named as such."""

from dataclasses import astuple

import pytest
import torch

from . import classifiers
from .classifiers import Arch

Q = "param_count"
# Seed 002's runs, with its vocabulary of 33,573 words: the compound LSTM (embedding 150, hidden 150, 2 layers)
# and the base GRU (embedding 1, as its printed 115,675 requires; see reference/rnn_experiments.py).
SEED = {"LSTMClassifier": Arch(33573, 150, 150, 2, 2, 0.5, 0, False),
        "GRUClassifier": Arch(33573, 1, 100, 2, 1, 0.0, 0, False)}


def trainable(module) -> int:
    return sum(int(torch.Size(p["shape"]).numel()) for p in module.parameters() if p["requires_grad"])


def check_count(submission, reference, name, arch):
    count = trainable(submission.new(name, *astuple(arch)))
    expected = reference.count_parameters(classifiers.REFERENCE[name](*astuple(arch)))
    state = arch.hidden_dim * arch.directions
    padded = (count - expected) % (state * arch.output_dim) == 0 and count > expected
    steps = (count - expected) // (state * arch.output_dim) + 1
    hint = (f": {count - expected:,} more, what a linear layer over {steps} time steps adds (instead of one over the "
            "final hidden state)" if padded else "")
    assert count == expected, f"{arch.label(name)} has {count:,} trainable parameters, expected {expected:,}{hint}"


@pytest.mark.parametrize("name", SEED)
@pytest.mark.question(Q, points=0.75)
def test_seed002_configuration(submission, reference, built, name):
    """Seed 002's configuration has the reference's count"""
    built(name)
    check_count(submission, reference, name, SEED[name])


@pytest.mark.parametrize("name", SEED)
@pytest.mark.question(Q, points=0.75, hidden=True)
def test_fresh_configuration(submission, reference, pyrng, built, name):
    """A fresh bidirectional, multi-layer configuration has the reference's count"""
    built(name)
    arch = classifiers.random_arch(pyrng, n_layers=pyrng.choice([2, 3]), bidirectional=True, dropout_rate=0.25)
    check_count(submission, reference, name, arch)
