"""What a grader test calls to grade one written answer: pass, fail with a message, or hand it to a TA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gradekit.plugin import NeedsReview
from gradekit.results import Reading, Review
from gradekit.written.answers import Answer
from gradekit.written.client import MathChecker

RecordProperty = Callable[[str, Any], None]


def require_text(answer: Answer) -> None:
    if answer.problem:
        pytest.fail(answer.problem)


def review(answer: Answer, kind: str, rubric: str, reason: str) -> Review:
    return Review(kind=kind, answer=answer.text, rubric=rubric, reason=reason, answer_sha=answer.sha)


def grade_math(checker: MathChecker, answer: Answer, spec: dict[str, Any], record_property: RecordProperty,
               *, kind: str = "expression", rubric: str = "") -> None:
    """Pass when the answer equals the expected one; a misread or undecidable answer goes to a TA."""
    require_text(answer)
    reply = checker.check(kind, spec, answer.text)
    record_property("reading", Reading(answer.text, reply["parsed"] or "", reply["example"] or ""))
    if reply["verdict"] == "correct":
        if reply["message"]:
            record_property("info", reply["message"])
        return
    if reply["verdict"] == "wrong":
        pytest.fail(reply["message"])
    raise NeedsReview(f"{reply['message']}. A TA will read it; to have it checked automatically, write one "
                      "formula in the question's symbols",
                      review(answer, "math", rubric or f"expected: ${spec['expected']}$", reply["message"]))


def grade_free_text(answer: Answer, rubric: str) -> None:
    """Free text always goes to a TA; an empty or missing answer fails at once, so it is not queued."""
    require_text(answer)
    raise NeedsReview("a TA will grade this answer", review(answer, "free_text", rubric, "free text"))
