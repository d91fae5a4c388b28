"""The verdict corpus (tests/variants/): every variant of every assignment's solution graded for real, through
the batch path, and held to its exact per-question score and to a message that names its mistake."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import variants as corpus

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import list_assignments, load_assignment
from gradekit.release import finished_source
from gradekit.results import SubmissionResult

from e2e_examples import question

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]


def modules() -> dict[str, list[corpus.Variant]]:
    found = {}
    for info in pkgutil.iter_modules(corpus.__path__):
        if info.name in list_assignments(ROOT):
            found[info.name] = importlib.import_module(f"variants.{info.name}").VARIANTS
    return found


VARIANTS = modules()
CASES = [(name, v) for name, vs in VARIANTS.items() for v in vs]


def finished_solution(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(load_assignment(name, ROOT).solution_path, as_version=4)
    for cell in nb.cells:
        cell.source = finished_source(cell.source)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Callable[[str], dict[str, SubmissionResult]]:
    """assignment -> {variant name: SubmissionResult}: one batch per assignment, graded when a test first asks
    for it (so `-k rnn_sentiment` grades only that one)."""
    cache: dict[str, dict[str, SubmissionResult]] = {}

    def results(name: str) -> dict[str, SubmissionResult]:
        if name not in cache:
            folder = tmp_path_factory.mktemp(f"variants-{name}")
            solution = finished_solution(name)
            for v in VARIANTS[name]:
                nbformat.write(corpus.apply(solution, v), folder / f"{v.name}.ipynb")
            batch = run_batch(folder, load_assignment(name, ROOT), folder / "reports",
                              BatchOptions(jobs=2, quiet=True))
            cache[name] = {r.student: r for r in batch}
        return cache[name]

    return results


def test_every_variant_has_a_unique_name_and_a_reason():
    names = [v.name for _, v in CASES]
    assert len(names) == len(set(names))
    assert all(v.reason.strip() and (v.correct or v.says) for _, v in CASES)


@pytest.mark.parametrize("name, variant", CASES, ids=[f"{n}-{v.name}" for n, v in CASES])
def test_variant_scores_what_a_ta_would_give(graded, name, variant):
    result = graded(name)[variant.name]
    assert result.error is None, result.error
    full = {q.id: q.max_points for q in result.questions()}
    # points awaiting a TA (free-text explanations) are neither given nor lost by the machine
    for check in result.checks:
        if check.awaiting_ta:
            full[check.question] -= check.max_points
    expected = {q: full[q] - variant.lost.get(q, 0) for q in full}
    assert result.question_scores() == pytest.approx(expected), (variant.reason, {
        q.id: q.messages for q in result.questions() if q.messages})
    for qid, words in variant.says:
        messages = question(result, qid).messages
        assert any(words in m for m in messages), (qid, words, messages)
