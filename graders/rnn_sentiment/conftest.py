"""Fixtures for the rnn_sentiment graders: the reference implementation, the data, and fresh randomness.

`submission`, `assignment`, `data_path` and the per-run randomness (`seed`, `gen`, `pyrng`) come from
gradekit's pytest plugin.
"""

import pytest

import reference.rnn_sentiment as ref
from gradekit.shared_checks import held_out_seed  # noqa: F401 - a fixture: the learning check's secret

from .workspace import splits as load_splits


@pytest.fixture(scope="session")
def reference():
    return ref


@pytest.fixture(scope="session")
def hparams():
    return ref.HyperParams()


@pytest.fixture(scope="session")
def splits(data_path):
    return load_splits(data_path)


@pytest.fixture(scope="session")
def train_texts(splits) -> list[str]:
    return [r.text for r in splits.train]


@pytest.fixture(scope="session")
def ref_vocab(train_texts, hparams) -> dict[str, int]:
    return ref.build_vocab(train_texts, min_freq=5, hparams=hparams)


@pytest.fixture(scope="session")
def hparams_dict(hparams) -> dict:
    """The constants the student's functions receive: sent as a namespace object built in the kernel."""
    return {k: getattr(hparams, k) for k in ("PAD_TOKEN", "UNK_TOKEN", "PAD_INDEX", "UNK_INDEX", "MAX_LENGTH")}


@pytest.fixture(scope="session")
def student_hparams(submission):
    """The notebook's own HyperParams() instance (a handle into the kernel), as the student's code expects."""
    return submission.run("result = HyperParams()", what="HyperParams()", name="HyperParams")
