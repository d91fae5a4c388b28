"""The learning checks' threshold: what a student's model must reach on held-out data after the graders' budget.

For the bundled data it is configured (`accuracy_threshold`, measured against the reference by the tests); for a
course's own data (--data) the reference is trained under the same budget and the threshold sits `learn_margin`
below what it reaches. That run is the costly part, so it is cached on disk by what it depends on, and a batch pays
for it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from gradekit.results import write_atomic


def learning_threshold(assignment: str, data: Path | None, settings: Mapping[str, Any],
                       reference_accuracy: Callable[[], float], *, bundled: str = "the bundled data",
                       cache_key: object = None, cached: bool = True) -> tuple[float, str]:
    """(threshold, how it was set, in a sentence for the student). `reference_accuracy` runs the reference under
    the budget; `cache_key` is whatever else its result depends on besides the data and the settings."""
    if data is None:
        return float(settings["accuracy_threshold"]), f"configured for {bundled}"
    reached = _cached(assignment, data, settings, cache_key, reference_accuracy) if cached else _run(reference_accuracy)
    margin = float(settings["learn_margin"])
    how = f"the reference reaches {reached:.1%} under the same budget on this data, minus {margin:.0%}"
    return reached - margin, how


def _run(reference_accuracy: Callable[[], float]) -> float:
    torch.set_num_threads(1)  # as the kernel trains: the same arithmetic, so the same figure
    return float(reference_accuracy())


def _cached(assignment: str, data: Path, settings: Mapping[str, Any], key: object,
            reference_accuracy: Callable[[], float]) -> float:
    data = Path(data).resolve()
    fingerprint = json.dumps([str(data), data.stat().st_mtime, dict(settings), key], sort_keys=True, default=str)
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    cache = Path.home() / ".cache" / "gradekit" / f"{assignment}-threshold-{digest}.json"
    if cache.exists():
        return float(json.loads(cache.read_text())["reference_accuracy"])
    reached = _run(reference_accuracy)
    write_atomic(cache, json.dumps({"reference_accuracy": reached}))  # a batch's other worker may read it next
    return reached
