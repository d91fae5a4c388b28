"""The server's gradebook: per student and assignment, the submission that counts, staff's grading of it, and what
lateness costs it; and the files an LMS imports (Canvas, Moodle) and our own CSV, written from those rows only,
so that every export says what the dashboard says.

Which submission counts: the latest one on time (by the student's own due time, extension included), else the
latest late one. Its score is staff's latest finished grading of that very submission (every check); a self-check
never counts. Text cells go through `csv_safe`, so a student named `=cmd|' /C calc'!A0` stays a name in a
spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gradekit.formatting import csv_safe, format_number
from gradekit.results import SubmissionResult
from gradekit.server.course import Course, Offering, Person
from gradekit.server.deadlines import Deadline, Penalty
from gradekit.server.store import JobRecord, Store


@dataclass(frozen=True)
class GradeRow:
    person: Person
    deadline: Deadline
    extension: datetime | None
    submission: JobRecord | None  # the one that counts
    grading: JobRecord | None  # staff's latest finished grading of it: a regrade keeps it until the new one is in
    result: SubmissionResult | None  # that grading's result
    pending: bool = False  # a grading of it is queued or running

    @property
    def penalty(self) -> Penalty | None:
        return self.deadline.penalty(self.submission.created) if self.submission else None

    @property
    def status(self) -> str:
        if self.submission is None:
            return "no submission"
        if self.grading is None:
            return "grading" if self.pending else "not graded yet"
        if self.result is None or self.result.error:
            return "could not be graded"
        return "awaiting TA" if any(c.awaiting_ta for c in self.result.checks) else "graded"

    @property
    def raw(self) -> float | None:
        return self.result.score if self.result is not None and not self.result.error else None

    @property
    def penalty_points(self) -> float | None:
        return self.penalty.points(self.raw) if self.raw is not None and self.penalty else None

    @property
    def final(self) -> float | None:
        return None if self.raw is None else round(self.raw - (self.penalty_points or 0), 4)


def counted_submission(submissions: list[JobRecord], deadline: Deadline) -> JobRecord | None:
    on_time = [j for j in submissions if not deadline.penalty(j.created).late]
    pool = on_time or submissions
    return max(pool, key=lambda j: (j.created, j.id)) if pool else None


def rows(course: Course, store: Store, offering: Offering,
         result_of: Callable[[JobRecord], SubmissionResult | None]) -> list[GradeRow]:
    """One row per student on the roster, in its order."""
    extensions = store.extensions(offering.name)
    jobs = store.jobs(assignment=offering.name, kinds=("submit", "grade"))
    submissions: dict[str, list[JobRecord]] = {}
    finished: dict[int, JobRecord] = {}
    pending: set[int] = set()
    for job in sorted(jobs, key=lambda j: j.id):
        if job.kind == "submit":
            submissions.setdefault(job.person, []).append(job)
        elif job.source is not None and job.state in ("queued", "running"):
            pending.add(job.source)
        elif job.source is not None:
            finished[job.source] = job  # the latest finished grading of each submission wins
    out = []
    for person in course.roster:
        if person.staff:
            continue
        deadline = offering.deadline.for_student(extensions.get(person.id))
        submission = counted_submission(submissions.get(person.id, []), deadline)
        grading = finished.get(submission.id) if submission else None
        result = result_of(grading) if grading is not None else None
        out.append(GradeRow(person, deadline, extensions.get(person.id), submission, grading, result,
                            pending=submission is not None and submission.id in pending))
    return out


def possible(offering_rows: list[GradeRow]) -> float | None:
    """The assignment's points possible: the most any graded result here offered."""
    found = [r.result.max_score for r in offering_rows if r.result is not None and not r.result.error]
    return max(found) if found else None


def _number(value: float | None) -> str:
    return "" if value is None else format_number(value)


def gradebook_csv(offering_rows: list[GradeRow]) -> str:
    """Our own: raw score, penalty and final score side by side, with why, one row per student."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "name", "email", "section", "submitted", "late_hours", "raw_score", "penalty_percent",
                     "penalty", "final_score", "max_score", "status", "penalty_reason"])
    top = possible(offering_rows)
    for r in offering_rows:
        penalty = r.penalty
        writer.writerow([csv_safe(r.person.id), csv_safe(r.person.name), csv_safe(r.person.email),
                         csv_safe(r.person.section),
                         r.submission.created.isoformat(timespec="seconds") if r.submission else "",
                         format_number(penalty.late_by.total_seconds() / 3600, 2) if penalty and penalty.late else "",
                         _number(r.raw), format_number(penalty.percent) if penalty else "", _number(r.penalty_points),
                         _number(r.final), _number(top), r.status, csv_safe(penalty.reason if penalty else "")])
    return buf.getvalue()


def canvas_csv(course: Course, per_offering: dict[str, list[GradeRow]]) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment (the
    final score; blank where there is none, which Canvas leaves as it was), and the "Points Possible" row."""
    names = [course.offerings[n].assignment.title for n in per_offering]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *(csv_safe(n) for n in names)])
    writer.writerow(["Points Possible", "", "", "", "", *(_number(possible(r)) for r in per_offering.values())])
    by_person = {n: {r.person.id: r for r in rs} for n, rs in per_offering.items()}
    for person in course.roster:
        if person.staff:
            continue
        writer.writerow([csv_safe(person.name), csv_safe(person.lms_id("canvas_id")),
                         csv_safe(person.lms_id("sis_user_id") or person.id),
                         csv_safe(person.lms_id("sis_login_id") or person.email), csv_safe(person.section),
                         *(_number(by_person[n][person.id].final) for n in per_offering)])
    return buf.getvalue()


def moodle_csv(course: Course, per_offering: dict[str, list[GradeRow]]) -> str:
    """Moodle's grade import (Grades > Import > CSV file), keyed by "Email address": one column per assignment."""
    names = [course.offerings[n].assignment.title for n in per_offering]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Email address", "ID number", *(csv_safe(n) for n in names)])
    by_person = {n: {r.person.id: r for r in rs} for n, rs in per_offering.items()}
    for person in course.roster:
        if person.staff:
            continue
        writer.writerow([csv_safe(person.email), csv_safe(person.id),
                         *(_number(by_person[n][person.id].final) for n in per_offering)])
    return buf.getvalue()
