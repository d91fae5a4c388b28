"""Fixtures for the vit_fashion_mnist graders: the reference, fresh randomness, the images.

`submission`, `assignment`, `data_path` and the per-run randomness (`seed`, `gen`, `pyrng`) come from
gradekit's pytest plugin.
"""

import pytest

import reference.vit_fashion_mnist as ref
from gradekit.shared_checks import held_out_seed  # noqa: F401 - a fixture: the learning check's secret

from . import workspace

# The seed notebook's model, whose figures the assignment quotes.
SEED_CONFIG = dict(image_size=28, patch_size=4, num_classes=10, channels=1, dim=64, depth=6, heads=4, mlp_dim=128)


@pytest.fixture(scope="session")
def reference():
    return ref

@pytest.fixture(scope="session")
def splits(data_path):
    return workspace.splits(data_path)


@pytest.fixture(scope="session")
def seed_config() -> dict:
    return dict(SEED_CONFIG)
