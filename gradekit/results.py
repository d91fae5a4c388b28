"""The results model: one CheckResult per grader test, rolled up per question and per submission.

Everything downstream (HTML, CSV, Gradescope, the batch's resume logic) reads only these classes, so the
JSON form is versioned and documented in docs/results-schema.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from gradekit.figures import Figure

SCHEMA = "gradekit.results/1"
NOT_IMPLEMENTED = ": not implemented yet"


@dataclass
class CheckResult:
    """The outcome of one grader test: what was checked, what it was worth, what the student should do."""

    question: str
    name: str
    points: float
    max_points: float
    passed: bool
    message: str = ""
    hidden: bool = False
    # "passed" | "failed" | "not_implemented" (the student's code still raises NotImplementedError)
    # | "error" (the check itself could not run: a grader problem) | "skipped"
    # | "needs_review" (free text, or math the machine cannot decide: 0 points until a TA records some)
    status: str = "passed"
    # For status "needs_review", and kept once a TA has reviewed it: what the TA needs to see.
    # {"kind": "free_text" | "math", "answer": student's text, "rubric": str, "reason": why a TA,
    #  "answer_sha": sha256 of the answer, "reviewed": bool, "comment": TA's comment}
    review: dict[str, Any] | None = None
    # For written math answers: how the answer was read, so a misread is visible before submitting.
    # {"answer": student's LaTeX, "parsed": LaTeX of the expression as read, "example": its value at a small T}
    reading: dict[str, Any] | None = None
    # Pictures the feedback page draws with the check (a student's saved curves, a chart of a re-run).
    figures: tuple[Figure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; `figures` only when there are some, so results without pictures read as before."""
        data = asdict(replace(self, figures=()))
        del data["figures"]
        if self.figures:
            data["figures"] = [f.to_json() for f in self.figures]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        figures = tuple(Figure.from_json(f) for f in data.get("figures") or [])
        return cls(**{k: v for k, v in data.items() if k != "figures"}, figures=figures)


@dataclass
class QuestionResult:
    id: str
    title: str
    points: float
    max_points: float
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def messages(self) -> list[str]:
        """Distinct failure messages, in order. "Not implemented" failures are rolled into one message naming
        every piece still missing, so an untouched template reads one line per question. An answer awaiting a TA
        has nothing to fix yet, so it is left out (reports show it as awaiting a TA instead)."""
        seen: list[str] = []
        missing: list[str] = []
        for c in self.checks:
            if c.passed or not c.message or c.status == "needs_review":
                continue
            if c.status == "not_implemented":
                what = c.message.split(NOT_IMPLEMENTED)[0]
                if what not in missing:
                    missing.append(what)
            elif c.message not in seen:
                seen.append(c.message)
        if missing:
            seen.insert(0, f"not implemented yet: {', '.join(missing)} (still raises NotImplementedError)")
        return seen


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    checks: list[CheckResult] = field(default_factory=list)
    # question id -> title, in the assignment's order; questions with no check still appear (0 / 0).
    question_titles: dict[str, str] = field(default_factory=dict)
    mode: str = "batch"  # "batch" grades hidden checks too; "check" is a student's public self-check
    # Notes about the run as a whole: a load error, cells that raised, timeouts, a sandbox that was off.
    notes: list[str] = field(default_factory=list)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # set when the notebook could not be graded at all
    duration_s: float = 0.0
    # What guarded the kernel (gradekit.sandbox.Protections.to_dict): isolation, memory bound and limit.
    sandbox: dict[str, Any] | None = None
    schema: str = SCHEMA

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 4)

    def questions(self) -> list[QuestionResult]:
        order = list(self.question_titles)
        for c in self.checks:
            if c.question not in order:
                order.append(c.question)
        out = []
        for qid in order:
            checks = [c for c in self.checks if c.question == qid]
            out.append(
                QuestionResult(
                    id=qid,
                    title=self.question_titles.get(qid, qid),
                    points=round(sum(c.points for c in checks), 4),
                    max_points=round(sum(c.max_points for c in checks), 4),
                    checks=checks,
                )
            )
        return out

    def question_scores(self) -> dict[str, float]:
        return {q.id: q.points for q in self.questions()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "student": self.student,
            "assignment": self.assignment,
            "mode": self.mode,
            "score": self.score,
            "max_score": self.max_score,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "notes": self.notes,
            "cell_errors": self.cell_errors,
            "sandbox": self.sandbox,
            "questions": [
                {"id": q.id, "title": q.title, "points": q.points, "max_points": q.max_points}
                for q in self.questions()
            ],
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported results schema {data.get('schema')!r}, expected {SCHEMA!r}")
        return cls(
            student=data["student"],
            assignment=data["assignment"],
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
            question_titles={q["id"]: q["title"] for q in data["questions"]},
            mode=data.get("mode", "batch"),
            notes=list(data.get("notes", [])),
            cell_errors=list(data.get("cell_errors", [])),
            error=data.get("error"),
            duration_s=float(data.get("duration_s", 0.0)),
            sandbox=data.get("sandbox"),
        )

    def write_json(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def read_json(cls, path: Path) -> SubmissionResult:
        return cls.from_dict(json.loads(Path(path).read_text()))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a killed batch never leaves half a file behind. Text that is
    not valid Unicode (a lone surrogate from a kernel's message) is written escaped, never an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
