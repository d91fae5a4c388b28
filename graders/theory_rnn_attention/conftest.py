"""Fixtures for the written-answer graders: the reference answers, the notebook's answer cells, and the
math worker that reads formulas in its own process.

`notebook`, `submission` and the per-run randomness (`gen`) come from gradekit's pytest plugin.
"""

from collections.abc import Callable, Iterator

import pytest

import reference.theory_rnn_attention as ref
from gradekit.written.answers import Answer, find_answer
from gradekit.written.checks import grade_free_text, grade_math
from gradekit.written.client import MathChecker


@pytest.fixture(scope="session")
def reference():
    return ref


@pytest.fixture(scope="session")
def math_checker() -> Iterator[MathChecker]:
    with MathChecker() as checker:
        yield checker


@pytest.fixture(scope="session")
def answer(notebook) -> Callable[[str], Answer]:
    """answer("norm_x1"): the text of the cell tagged answer:norm_x1, or why there is none."""
    return lambda answer_id: find_answer(notebook, answer_id)


@pytest.fixture
def check_math(answer, math_checker, record_property) -> Callable[[str], None]:
    """check_math("norm_x1"): grade that answer against reference.MATH; the reading goes into the report."""

    def check(answer_id: str) -> None:
        kind, spec = ref.MATH[answer_id]
        grade_math(math_checker, answer(answer_id), spec, record_property, kind=kind)

    return check


@pytest.fixture
def check_free_text(answer) -> Callable[[str], None]:
    """check_free_text("cnn_vs_rnn"): queue that answer for a TA with its rubric (or fail if it is empty)."""
    return lambda answer_id: grade_free_text(answer(answer_id), ref.RUBRICS[answer_id])
