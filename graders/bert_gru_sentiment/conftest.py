"""Fixtures for the bert_gru_sentiment graders: the reference, the tokenizer the kernel also gets, and data.

`submission`, `assignment`, `data_path` and the per-run randomness (`seed`, `gen`, `pyrng`) come from
gradekit's pytest plugin.
"""

from pathlib import Path

import pytest

import reference.bert_gru_sentiment as ref
from gradekit import offline
from gradekit.shared_checks import held_out_seed  # noqa: F401 - a fixture: the learning check's secret

from . import workspace


@pytest.fixture(scope="session")
def reference():
    return ref


@pytest.fixture(scope="session")
def settings(assignment) -> dict:
    return assignment.settings


@pytest.fixture(scope="session")
def bert_dir(settings) -> Path:
    return offline.bert_path(settings["bert"])


@pytest.fixture(scope="session")
def tokenizer(bert_dir):
    """The same tokenizer files the kernel loads: the expected ids are computed from them on the host."""
    return offline.load_tokenizer(bert_dir)


@pytest.fixture(scope="session")
def splits(data_path):
    return workspace.splits(data_path)


# A small BERT of the real architecture with the real vocabulary size, for behaviour checks that run the
# student's class end to end in seconds (built in the kernel, seeded).
TINY_BERT = """
import torch
from transformers import BertConfig, BertModel
torch.manual_seed(seed)
result = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64))
"""


@pytest.fixture
def tiny_bert(submission):
    return submission.run(TINY_BERT, what="a small BertModel", seed=0)
