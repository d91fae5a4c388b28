"""The results model: one CheckResult per grader test, rolled up per question and per submission.

Everything downstream (HTML, CSV, Gradescope, the batch's resume logic) reads only these classes, so the
JSON form is versioned and documented in docs/results-schema.md.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from gradekit.figures import Figure

SCHEMA = "gradekit.results/1"


class Status(StrEnum):
    """What became of one check. The string values are the results JSON's."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"  # the student's code still raises NotImplementedError
    ERROR = "error"  # the check itself could not run: a grader problem, not the student's
    SKIPPED = "skipped"
    NEEDS_REVIEW = "needs_review"  # free text, or math the machine cannot decide: 0 points until a TA grades it


@dataclass(frozen=True)
class Review:
    """What a TA needs to grade one written answer, and what they decided once they have."""

    kind: str  # "free_text" | "math"
    answer: str  # the student's text
    rubric: str = ""
    reason: str = ""  # why a person must read it ("free text", or why the machine could not decide)
    answer_sha: str = ""  # sha256 of the answer: a TA's points apply only to the answer they read
    reviewed: bool = False
    comment: str = ""  # the TA's
    note: str = ""  # e.g. that the answer changed after a TA graded it

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Review:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Reading:
    """How a written math answer was read, so that a misread is visible before submitting."""

    answer: str  # the student's LaTeX
    parsed: str = ""  # LaTeX of the expression as read
    example: str = ""  # its value written out at a small T

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        return cls(str(data.get("answer", "")), str(data.get("parsed", "") or ""), str(data.get("example", "") or ""))


@dataclass(frozen=True)
class Cause:
    """The mistake in the student's code that failed a check, worded the same whichever check met it, so that the
    reports say it once (in full where it is first met, then by `summary`) instead of once per check."""

    summary: str  # names the mistake: "Transformer has no forward method", "KeyError: 'label'"
    fix: str = ""  # what to do, or where it happened

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cause:
        return cls(str(data.get("summary", "")), str(data.get("fix", "")))


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one grader test: what was checked, what it was worth, what the student should do."""

    question: str
    name: str
    points: float
    max_points: float
    status: Status
    message: str = ""
    hidden: bool = False
    missing: str = ""  # for NOT_IMPLEMENTED: the piece still missing, as messages name it ("`build_vocab`")
    review: Review | None = None  # for NEEDS_REVIEW, and kept once a TA has reviewed it
    reading: Reading | None = None  # for written math answers
    # Pictures the feedback page draws with the check (a student's saved curves, a chart of a re-run).
    figures: tuple[Figure, ...] = ()
    cause: Cause | None = None  # when the check failed because the student's code raised or lacks something
    # Questions whose code this check runs (the learning check trains the student's model with their train): when
    # it fails, those of them that lost points are where to look first.
    builds_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def awaiting_ta(self) -> bool:
        """An answer a TA has yet to grade (0 points meanwhile)."""
        return self.status is Status.NEEDS_REVIEW

    @property
    def ta_graded(self) -> bool:
        """A written answer a TA has graded: its points are the TA's."""
        return self.review is not None and self.review.reviewed and not self.awaiting_ta

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (docs/results-schema.md). `passed` is written for readers of the file (it is derived
        from `status`); `figures` and `missing` only when there are some, so other results read as before."""
        data: dict[str, Any] = {
            "question": self.question, "name": self.name, "points": self.points, "max_points": self.max_points,
            "passed": self.passed, "message": self.message, "hidden": self.hidden, "status": self.status.value,
            "review": asdict(self.review) if self.review else None,
            "reading": asdict(self.reading) if self.reading else None,
        }
        if self.missing:
            data["missing"] = self.missing
        if self.figures:
            data["figures"] = [f.to_json() for f in self.figures]
        if self.cause:
            data["cause"] = asdict(self.cause)
        if self.builds_on:
            data["builds_on"] = list(self.builds_on)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        status = Status(data.get("status") or ("passed" if data.get("passed") else "failed"))
        missing = str(data.get("missing", ""))
        if status is Status.NOT_IMPLEMENTED and not missing:  # written before `missing` was a field
            missing = str(data.get("message", "")).split(": not implemented yet")[0]
        return cls(
            question=data["question"], name=data["name"], points=data["points"], max_points=data["max_points"],
            status=status, message=data.get("message", ""), hidden=bool(data.get("hidden", False)), missing=missing,
            review=Review.from_dict(data["review"]) if data.get("review") else None,
            reading=Reading.from_dict(data["reading"]) if data.get("reading") else None,
            figures=tuple(Figure.from_json(f) for f in data.get("figures") or []),
            cause=Cause.from_dict(data["cause"]) if data.get("cause") else None,
            builds_on=tuple(str(q) for q in data.get("builds_on") or ()),
        )


@dataclass
class QuestionResult:
    id: str
    title: str
    points: float
    max_points: float
    checks: list[CheckResult]
    # Causes already said under an earlier question: cause -> that question's title ("" for the notebook's own
    # error, said at the top). Their checks here get one line pointing back instead of the full text again.
    earlier: dict[Cause, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def state(self) -> str:
        """What the question shows: "passed" (every check), "partial" (some points), "failed" (none), "empty"
        (no checks), "review" (nothing failed, but an answer awaits a TA: neither passed nor failed yet)."""
        if not self.checks:
            return "empty"
        if self.passed:
            return "passed"
        if any(c.awaiting_ta for c in self.checks) and all(c.passed or c.awaiting_ta for c in self.checks):
            return "review"
        return "partial" if self.points > 0 else "failed"

    @property
    def awaiting_ta(self) -> list[CheckResult]:
        return [c for c in self.checks if c.awaiting_ta]

    @property
    def messages(self) -> list[str]:
        """What to fix, in order: one line per distinct failure. "Not implemented" failures are rolled into one
        line naming every piece still missing, so an untouched template reads one line per question; checks that
        failed for one cause share the first one's line, and a cause said under an earlier question gets one line
        pointing back. An answer awaiting a TA has nothing to fix yet, so it is left out."""
        return self._what_to_fix[0]

    def message_index(self, check: CheckResult) -> int | None:
        """Which line of `messages` speaks for `check` (None when it has none: passed, awaiting a TA)."""
        return self._what_to_fix[1].get(self.checks.index(check))

    @functools.cached_property
    def _what_to_fix(self) -> tuple[list[str], dict[int, int]]:
        """(messages, check index -> its line), worked out once: the reports ask for both, check by check."""
        lines: list[str] = []
        by_check: dict[int, int] = {}
        missing: list[str] = []
        by_cause: dict[Cause, int] = {}
        missing_checks = []
        for i, c in enumerate(self.checks):
            if c.passed or not c.message or c.awaiting_ta:
                continue
            if c.status is Status.NOT_IMPLEMENTED and c.missing:
                if c.missing not in missing:
                    missing.append(c.missing)
                missing_checks.append(i)
                continue
            if c.cause is not None and c.cause in by_cause:
                by_check[i] = by_cause[c.cause]
                continue
            if c.cause is not None and c.cause in self.earlier:
                where = self.earlier[c.cause]
                line = (f"the same mistake as under {where}: {c.cause.summary}" if where else
                        "not checked: the notebook could not be graded (see above)")
            else:
                line = c.message
            if line not in lines:
                lines.append(line)
            by_check[i] = lines.index(line)
            if c.cause is not None:
                by_cause[c.cause] = by_check[i]
        if missing:
            lines.insert(0, f"not implemented yet: {', '.join(missing)} (still raises NotImplementedError)")
            by_check = {i: k + 1 for i, k in by_check.items()} | {i: 0 for i in missing_checks}
        return lines, by_check


@dataclass(frozen=True)
class GraderRun:
    """What one pytest run of an assignment's graders gave (gradekit.runner.run_graders)."""

    checks: list[CheckResult]
    hidden_left_out: int = 0  # hidden checks a self-check left out


@dataclass
class SubmissionResult:
    student: str
    assignment: str  # the assignment's name (its folder), e.g. rnn_sentiment
    checks: list[CheckResult] = field(default_factory=list)
    # question id -> title, in the assignment's order; questions with no check still appear (0 / 0).
    question_titles: dict[str, str] = field(default_factory=dict)
    mode: str = "batch"  # "batch" grades hidden checks too; "check" is a student's public self-check
    # Notes about the run as a whole: a load error, cells that raised, timeouts, a sandbox that was off.
    notes: list[str] = field(default_factory=list)
    # How the course ran the notebook (downloads replaced by its offline set-up, shell lines not run): said once,
    # quietly; nothing in them is a problem to act on.
    routine_notes: list[str] = field(default_factory=list)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # set when the notebook could not be graded at all
    duration_s: float = 0.0
    # What guarded the kernel (gradekit.sandbox.Protections.to_dict): isolation, memory bound and limit.
    sandbox: dict[str, Any] | None = None
    hidden_left_out: int = 0  # hidden checks a self-check did not run (0 in a batch, or when there are none)
    assignment_title: str = ""  # what a person calls it ("Sentiment with a frozen BERT and a GRU"); "": the name
    schema: str = SCHEMA

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 4)

    def questions(self) -> list[QuestionResult]:
        """Per question, in the assignment's order; each knows the causes said under the questions before it."""
        order = list(self.question_titles)
        for c in self.checks:
            if c.question not in order:
                order.append(c.question)
        earlier: dict[Cause, str] = {}
        if self._error_cause:  # every check then failed for the notebook's own error, said at the top of the page
            earlier[self._error_cause] = ""
        out = []
        for qid in order:
            checks = [c for c in self.checks if c.question == qid]
            title = self.question_titles.get(qid, qid)
            out.append(QuestionResult(id=qid, title=title, points=round(sum(c.points for c in checks), 4),
                                      max_points=round(sum(c.max_points for c in checks), 4), checks=checks,
                                      earlier=dict(earlier)))
            for c in checks:
                if c.cause is not None and not c.passed and c.cause not in earlier:
                    earlier[c.cause] = title
        return out

    def may_explain(self, question: QuestionResult) -> list[QuestionResult]:
        """The questions that lost points and whose code the failed checks of `question` run: a mistake there can
        be what failed this one (a model that cannot learn because its LSTM is wrong), so the reports point to them."""
        wanted = {q for c in question.checks if not c.passed and not c.awaiting_ta for q in c.builds_on}
        return [q for q in self.questions() if q.id in wanted and q.id != question.id and q.points < q.max_points]

    def shared_causes(self) -> list[tuple[Cause, list[QuestionResult]]]:
        """Causes that failed checks under more than one question, with those questions: the place to start, which
        the reports say first. The notebook's own error is said at the top already."""
        where: dict[Cause, dict[str, QuestionResult]] = {}
        for q in self.questions():
            for c in q.checks:
                if c.cause is not None and not c.passed:
                    where.setdefault(c.cause, {})[q.id] = q
        return [(cause, list(qs.values())) for cause, qs in where.items()
                if len(qs) > 1 and cause != self._error_cause]

    @property
    def _error_cause(self) -> Cause | None:
        """The cause of every check of a notebook that could not be graded (the graders ran it as Unavailable)."""
        return Cause(self.error) if self.error else None

    def take(self, run: GraderRun) -> None:
        """What one run of the graders gave this submission."""
        self.checks, self.hidden_left_out = list(run.checks), run.hidden_left_out

    def question_scores(self) -> dict[str, float]:
        return {q.id: q.points for q in self.questions()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "student": self.student,
            "assignment": self.assignment,
            "assignment_title": self.assignment_title,
            "mode": self.mode,
            "score": self.score,
            "max_score": self.max_score,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "notes": self.notes,
            "routine_notes": self.routine_notes,
            "cell_errors": self.cell_errors,
            "sandbox": self.sandbox,
            "hidden_left_out": self.hidden_left_out,
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
            routine_notes=list(data.get("routine_notes", [])),
            cell_errors=list(data.get("cell_errors", [])),
            error=data.get("error"),
            duration_s=float(data.get("duration_s", 0.0)),
            sandbox=data.get("sandbox"),
            hidden_left_out=int(data.get("hidden_left_out", 0)),
            assignment_title=str(data.get("assignment_title", "")),
        )

    def write_json(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def read_json(cls, path: Path) -> SubmissionResult:
        return cls.from_dict(json.loads(Path(path).read_text()))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a killed batch never leaves half a file behind. The file gets
    the permissions any program's new file gets (0666 less the umask), not mkstemp's 0600, so that a feedback
    folder copied to a web server or a shared folder can be read there. Text that is not valid Unicode (a lone
    surrogate from a kernel's message) is written escaped, never an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask can only be read by setting it, which would race
    with the batch's other threads creating files)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022  # a kernel too old to say (before Linux 4.7): the usual default
