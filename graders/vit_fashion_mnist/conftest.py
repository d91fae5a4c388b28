"""Fixtures for the vit_fashion_mnist graders: the reference, fresh randomness, the images.

`submission`, `assignment`, `data_path` and the per-run randomness (`seed`, `gen`, `pyrng`) come from
gradekit's pytest plugin.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root, for `reference`
sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder, for `workspace`

import reference.vit_fashion_mnist as ref  # noqa: E402
from gradekit.shared_checks import held_out_seed  # noqa: E402, F401 - a fixture: the learning check's secret

import workspace  # noqa: E402

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
