"""gradekit.thresholds: the learning checks' threshold, configured for the bundled data and measured against the
reference (once, then cached by what it depends on) for a course's own data."""

from __future__ import annotations

import os

import pytest

from gradekit.thresholds import learning_threshold

SETTINGS = {"accuracy_threshold": 0.7, "learn_margin": 0.05, "learn_epochs": 3}


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / "reviews.csv"
    path.write_text("review,sentiment\n")
    return path


class Reference:
    """A stand-in for the reference's training run that counts how often it ran."""

    def __init__(self, reached: float):
        self.reached, self.runs = reached, 0

    def __call__(self) -> float:
        self.runs += 1
        return self.reached


def test_bundled_data_has_the_configured_threshold():
    run = Reference(0.9)
    assert learning_threshold("a", None, SETTINGS, run, bundled="the bundled images") == (
        0.7, "configured for the bundled images")
    assert run.runs == 0


def test_own_data_sits_the_margin_below_the_reference_and_says_so(data):
    threshold, how = learning_threshold("a", data, SETTINGS, Reference(0.9))
    assert threshold == pytest.approx(0.85)
    assert how == "the reference reaches 90.0% under the same budget on this data, minus 5%"


def test_the_reference_runs_once_per_data_and_budget(data):
    run = Reference(0.9)
    for _ in range(3):
        learning_threshold("a", data, SETTINGS, run)
    assert run.runs == 1


@pytest.mark.parametrize("change", ["settings", "data rewritten", "cache key", "assignment"])
def test_anything_the_run_depends_on_runs_it_again(data, change):
    run = Reference(0.9)
    learning_threshold("a", data, SETTINGS, run, cache_key="LSTM")
    settings, key, name = dict(SETTINGS), "LSTM", "a"
    if change == "settings":
        settings["learn_epochs"] = 4
    elif change == "data rewritten":
        os.utime(data, (data.stat().st_atime, data.stat().st_mtime + 10))
    elif change == "cache key":
        key = "GRU"
    else:
        name = "b"
    learning_threshold(name, data, settings, run, cache_key=key)
    assert run.runs == 2


def test_an_uncached_threshold_runs_the_reference_every_time(data):
    run = Reference(0.8)
    for _ in range(2):
        assert learning_threshold("a", data, SETTINGS, run, cached=False)[0] == pytest.approx(0.75)
    assert run.runs == 2
