"""Grading an assignment's bundled example submissions, for the end-to-end tests of every assignment."""

import time
from pathlib import Path

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.results import QuestionResult, SubmissionResult


def grade_examples(name: str, out: Path) -> dict[str, SubmissionResult]:
    """Every notebook in examples/submissions/<name>/, through the batch path (worker processes, sandboxed
    kernels, reports written to `out`), keyed by student id. Prints the wall time: a figure, not an assert."""
    assignment = load_assignment(name)
    start = time.monotonic()
    results = run_batch(assignment.root / "examples" / "submissions" / name, assignment, out,
                        BatchOptions(jobs=2, quiet=True))
    print(f"\ngraded {len(results)} {name} notebooks in {time.monotonic() - start:.1f} s")
    return {r.student: r for r in results}


def question(result: SubmissionResult, qid: str) -> QuestionResult:
    return next(q for q in result.questions() if q.id == qid)


def unasserted_deductions(expected: dict[str, dict[str, float]], full: dict[str, float],
                          messages: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(student, question) pairs that lose points but whose message no test asserts (the template, which loses
    everything as "not implemented", has a test of its own)."""
    return [(student, q) for student, scores in expected.items() if scores != dict.fromkeys(full, 0)
            for q, points in scores.items() if points < full[q] and (student, q) not in messages]
