"""TA review of written answers: the `ta_review.csv` a TA fills, and merging it into the results.

A check a person must grade (free text, or math the machine cannot decide) has status "needs_review" and
scores 0. The batch lists each such answer as one row of `REPORTS/ta_review.csv`; a TA fills `points` (and
optionally `comment`) and reruns the batch, usually with `--resume`. The CSV is the single source of truth
for TA points: `results/<student>.json` keep the machine's verdict, and every run re-applies the CSV to
copies of them before the gradebook, HTML pages and Gradescope files are written. So clearing a row takes
the points back, and a regrade never forgets what a TA recorded.

A row applies only while the answer is the one the TA read: it is keyed by the answer's sha256
(`answer_sha`). A student whose answer changed is pending again; the old, filled row stays in the file with
a note. Rows the TA filled are never dropped, even for students not in this run. The format is documented
in docs/results-schema.md.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gradekit.formatting import FORMULA_PREFIXES, format_number
from gradekit.results import CheckResult, Status, SubmissionResult, write_atomic

REVIEW_CSV = "ta_review.csv"
COLUMNS = ["student", "question", "check", "max_points", "points", "comment", "note", "answer_sha", "answer"]
# Columns a row needs to be matched to a check; the rest may be missing from a hand-edited file.
KEY_COLUMNS = ("student", "question", "check", "points", "answer_sha")
ANSWER_PREVIEW_CHARS = 200

NOTE_PENDING = "pending: fill points"
NOTE_GRADED = "graded"
NOTE_ANSWER_CHANGED = "the answer changed since it was graded: grade the newer row for this check"
NOTE_NO_LONGER = "this check no longer needs a TA (the machine grades it now); kept for the record"
NOTE_NOT_IN_RUN = "student not in this run; kept as it was"


Key = tuple[str, str, str, str]


@dataclass
class ReviewRow:
    """One line of ta_review.csv: TA input (points, comment) plus what identifies the answer."""

    student: str
    question: str
    check: str
    answer_sha: str
    max_points: str = ""
    points_text: str = ""  # as the TA typed it, kept verbatim so a typo survives a rewrite for them to fix
    comment: str = ""
    note: str = ""
    answer: str = ""
    line: int = 0  # line number in the file read, for warnings
    points: float | None = None  # parsed; None while blank or invalid
    problem: str = ""  # why the points cannot be used (bad number, out of range, conflict)

    @property
    def key(self) -> Key:
        return (self.student, self.question, self.check, self.answer_sha.strip().lower())

    @property
    def filled(self) -> bool:
        """A TA wrote something here; such a row is never dropped."""
        return bool(self.points_text.strip() or self.comment.strip())

    def where(self) -> str:
        return f"{REVIEW_CSV} line {self.line} ({self.student}, {self.question}, {self.check!r})"


@dataclass
class ReviewSheet:
    """What was read from ta_review.csv. `readable` is False when the file exists but is not a review
    sheet (wrong header): then it is neither applied nor overwritten."""

    rows: list[ReviewRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    readable: bool = True


@dataclass
class ReviewOutcome:
    """Counts for the batch's summary line, plus every warning a TA should read."""

    applied: int = 0
    pending: int = 0
    changed: int = 0
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- CSV cells


def guard(text: str) -> str:
    """Spreadsheet formula guard (as export.csv_safe), made reversible: a cell that already starts with an
    apostrophe before a formula character gets one more, so `unguard` restores every value exactly."""
    if text.startswith(FORMULA_PREFIXES) or (text.startswith("'") and text[1:2] and text[1] in "=+-@\t\r'"):
        return "'" + text
    return text


def unguard(text: str) -> str:
    """Undo `guard`. A spreadsheet that already dropped the apostrophe leaves plain text, which is kept."""
    if text.startswith("'") and text[1:2] and text[1] in "=+-@\t\r'":
        return text[1:]
    return text


def answer_preview(answer: str) -> str:
    """The answer on one line, cut to ANSWER_PREVIEW_CHARS: enough to recognise it in a spreadsheet."""
    flat = " ".join(answer.split())
    return flat if len(flat) <= ANSWER_PREVIEW_CHARS else flat[: ANSWER_PREVIEW_CHARS - 1] + "…"


def parse_points(text: str) -> tuple[float | None, str]:
    """(points, problem). Blank is "not graded yet": (None, "")."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        value = float(text)
    except ValueError:
        hint = " (use a dot for decimals, e.g. 1.5)" if "," in text else ""
        return None, f"points {text!r} is not a number{hint}"
    if not math.isfinite(value) or value < 0:
        return None, f"points {text!r} must be a number from 0 to max_points"
    return value, ""


# ---------------------------------------------------------------------------------------------- reading


def read_review_csv(path: Path) -> ReviewSheet:
    """Read ta_review.csv tolerantly: a missing file is an empty sheet, a bad row a warning."""
    path = Path(path)
    if not path.exists():
        return ReviewSheet()
    # utf-8-sig: spreadsheets often save UTF-8 with a byte-order mark.
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in KEY_COLUMNS if c not in header]
    if missing:
        separator = " It seems to use ';' between columns: save it as comma-separated CSV." if ";" in (
            text.splitlines() or [""])[0] else ""
        return ReviewSheet(readable=False, warnings=[
            f"{path}: not read and left untouched: the header lacks {', '.join(missing)} (expected "
            f"{','.join(COLUMNS)}).{separator} Fix the first line, or move the file away to start a fresh one, "
            "then rerun with --resume."])
    reader.fieldnames = header
    sheet = ReviewSheet()
    for raw in reader:
        row = _row(raw, reader.line_num)
        if row is None:
            continue
        if row.problem:
            sheet.warnings.append(f"{row.where()}: {row.problem}; row not applied")
        sheet.rows.append(row)
    _flag_conflicts(sheet)
    return sheet


def _row(raw: dict[str, str | None], line: int) -> ReviewRow | None:
    def cell(name: str) -> str:
        value = raw.get(name)
        return unguard(value.strip()) if isinstance(value, str) else ""

    if not any(cell(c) for c in COLUMNS):
        return None  # a blank line
    row = ReviewRow(student=cell("student"), question=cell("question"), check=cell("check"),
                    answer_sha=cell("answer_sha"), max_points=cell("max_points"), points_text=cell("points"),
                    comment=cell("comment"), note=cell("note"), answer=cell("answer"), line=line)
    row.points, row.problem = parse_points(row.points_text)
    return row


def _flag_conflicts(sheet: ReviewSheet) -> None:
    """Two filled rows for the same answer with different points: apply neither, say so."""
    by_key: dict[Key, list[ReviewRow]] = {}
    for row in sheet.rows:
        if row.points is not None:
            by_key.setdefault(row.key, []).append(row)
    for rows in by_key.values():
        if len({(r.points, r.comment) for r in rows}) > 1:
            lines = ", ".join(str(r.line) for r in rows)
            for r in rows:
                r.problem = f"conflicts with line(s) {lines} for the same answer; keep one"
            sheet.warnings.append(f"{rows[0].where()}: lines {lines} give this answer different points or "
                                  "comments; none applied. Delete all but one.")


# ---------------------------------------------------------------------------------------------- applying


def review_key(student: str, check: CheckResult) -> Key | None:
    """The CSV key of a check a TA grades, or None for a check the machine decides."""
    if not check.awaiting_ta or check.review is None:
        return None
    return (student, check.question, check.name, check.review.answer_sha.strip().lower())


def apply_reviews(results: Iterable[SubmissionResult],
                  sheet: ReviewSheet) -> tuple[list[SubmissionResult], ReviewOutcome]:
    """Copies of `results` with the TA's points applied; the inputs (the machine's verdict) are untouched.

    A reviewed check gets the TA's points, `passed`/`status` "passed" only with full points (else "failed":
    partial credit reads as a partial question), `review.reviewed` true, `review.comment`, and the comment
    as its message. A check with no usable row stays "needs_review" at 0 points."""
    outcome = ReviewOutcome(warnings=list(sheet.warnings))
    usable = {r.key: r for r in sheet.rows if r.points is not None and not r.problem}
    graded_before = {r.key[:3]: r for r in sheet.rows if r.points is not None}
    reviewed = []
    for original in results:
        checks = []
        for check in original.checks:
            key = review_key(original.student, check)
            row = usable.get(key) if key is not None else None
            if row is not None and not _within_max(row, check, outcome):
                row = None
            if row is not None:
                check = _apply(check, row)
                outcome.applied += 1
            elif key is not None:
                outcome.pending += 1
                old = graded_before.get(key[:3])
                if old is not None and old.key != key:
                    outcome.changed += 1
                    assert check.review is not None
                    check = replace(check, review=replace(check.review, note=(
                        f"the answer changed after a TA gave it {old.points_text} / "
                        f"{format_number(check.max_points)}: grade it again")))
            checks.append(check)
        reviewed.append(replace(copy.deepcopy(original), checks=checks))
    return reviewed, outcome


def _within_max(row: ReviewRow, check: CheckResult, outcome: ReviewOutcome) -> bool:
    """The check's own max_points is the limit (the CSV's copy of it may have been edited)."""
    assert row.points is not None
    if row.points <= check.max_points + 1e-9:
        return True
    row.problem = f"points {row.points_text} is more than max_points {format_number(check.max_points)}"
    outcome.warnings.append(f"{row.where()}: {row.problem}; row not applied")
    return False


def _apply(check: CheckResult, row: ReviewRow) -> CheckResult:
    """The check as the TA graded it: passed only with full points (partial credit reads as partial)."""
    assert row.points is not None and check.review is not None
    points = min(row.points, check.max_points)
    return replace(check, points=points,
                   status=Status.PASSED if points >= check.max_points - 1e-9 else Status.FAILED,
                   review=replace(check.review, reviewed=True, comment=row.comment),
                   message=f"TA: {row.comment}" if row.comment else "graded by a TA")


# ---------------------------------------------------------------------------------------------- writing


def merged_rows(results: Iterable[SubmissionResult], sheet: ReviewSheet) -> list[ReviewRow]:
    """The rows to write back: one per answer a TA grades in this run (keeping what the TA filled), every
    other row the TA filled (with a note saying why it no longer applies), grouped by question in the
    assignment's order (TAs grade one question at a time), then by check and student. Only unfilled rows for
    answers that no longer exist are dropped."""
    results = list(results)
    sort_key = queue_key(results)
    in_run = {r.student for r in results}
    existing: dict[Key, ReviewRow] = {}
    for row in sheet.rows:
        existing.setdefault(row.key, row)
    current: list[ReviewRow] = []
    current_keys: set[Key] = set()
    for result in results:
        for check in result.checks:
            if check.review is None or not (check.awaiting_ta or check.review.reviewed):
                continue
            sha = check.review.answer_sha.strip().lower()
            key = (result.student, check.question, check.name, sha)
            if key in current_keys:
                continue  # the same answer twice in one check name: one row grades both
            current_keys.add(key)
            row = copy.copy(existing.get(key)) or ReviewRow(result.student, check.question, check.name, sha)
            row.max_points = format_number(check.max_points)
            row.answer = answer_preview(check.review.answer)
            row.note = _note(row, check)
            current.append(row)
    current_checks = {k[:3] for k in current_keys}
    kept = []
    for row in sheet.rows:
        if row.key in current_keys or not (row.filled or row.student not in in_run):
            continue
        kept.append(copy.copy(row))
        if row.student not in in_run:
            kept[-1].note = NOTE_NOT_IN_RUN
        else:
            kept[-1].note = NOTE_ANSWER_CHANGED if row.key[:3] in current_checks else NOTE_NO_LONGER
    return sorted(current + kept, key=lambda r: sort_key(r.question, r.check, r.student))


def queue_key(results: Iterable[SubmissionResult]) -> Callable[[str, str, str], tuple]:
    """The order of a review queue, which a TA works through one question at a time: (question, check, student)
    -> a sort key, questions in the assignment's order (question_titles keep it), unknown ones last."""
    order: dict[str, int] = {}
    for result in results:
        for question in result.question_titles:
            order.setdefault(question, len(order))
    return lambda question, check, student: (order.get(question, len(order)), question, check, student)


def _note(row: ReviewRow, check: CheckResult) -> str:
    if row.problem:
        return f"not applied: {row.problem}"
    if check.review and check.review.reviewed:
        return NOTE_GRADED
    if check.review and check.review.note:
        return f"pending: {check.review.note}"
    return NOTE_PENDING


def review_csv(rows: Iterable[ReviewRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([guard(v) for v in (r.student, r.question, r.check, r.max_points, r.points_text,
                                            r.comment, r.note, r.answer_sha, r.answer)])
    return buf.getvalue()


def write_review_csv(path: Path, results: Iterable[SubmissionResult], sheet: ReviewSheet) -> bool:
    """Rewrite ta_review.csv atomically. Returns False (and writes nothing) when the existing file could not
    be read as a review sheet: a TA's work is never overwritten by a file we did not understand."""
    if not sheet.readable:
        return False
    rows = merged_rows(results, sheet)
    if not rows and not Path(path).exists():
        return True  # nothing to review: no empty file to puzzle over
    write_atomic(Path(path), review_csv(rows))
    return True
