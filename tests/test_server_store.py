"""The course server's parts without a server: the course folder's files, the database's rules for tokens and
jobs, and upload names. Fast: no kernel, no HTTP."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from server_harness import course_folder, iso, toy_root

from gradekit.config import ConfigError
from gradekit.results import CheckResult, Status, SubmissionResult
from gradekit.server import gradebook
from gradekit.server.course import load_course
from gradekit.server.deadlines import Deadline, LatePolicy
from gradekit.server.gradebook import counted_submission
from gradekit.server.store import MAX_TRIES, Store
from gradekit.server.uploads import shown_name


@pytest.fixture
def course(tmp_path):
    root = toy_root(tmp_path / "root")
    return load_course(course_folder(tmp_path / "course", root, [{"name": "toy", "due": iso(timedelta(days=1))}]))


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'test.db'}")


def add(store: Store, person: str = "s01", kind: str = "check") -> int:
    return store.add_job(person=person, assignment="toy", kind=kind, filename="hw.ipynb", sha256="0" * 64,
                         late=False, store_file=lambda job_id: f"uploads/{job_id}/{person}.ipynb")


def test_a_course_folder_reads_into_offerings_and_people(course):
    assert list(course.offerings) == ["toy"]
    assert course.offerings["toy"].checks_per_hour == 10
    assert course.people["ta1"].staff and not course.people["s01"].staff
    assert len(course.roster) == 11


@pytest.mark.parametrize(("change", "says"), [
    (("course.toml", 'due = "', 'due = "tomorrow'), "is not a time"),
    (("course.toml", 'name = "toy"', 'name = "nope"'), "unknown assignment 'nope'"),
    (("course.toml", 'title = "Test course"', 'title = "T"\ntimezone = "Mars/Olympus"'), "is not a time zone"),
    (("roster.csv", "s02,", "s01,"), "id 's01' is listed twice"),
    (("roster.csv", ",ta\n", ",dean\n"), "role 'dean' is not one of"),
    (("roster.csv", "s03,", "../x,"), "id '../x' must be letters"),
], ids=["time", "assignment", "timezone", "duplicate", "role", "path-id"])
def test_a_broken_course_folder_says_which_line(course, change, says):
    file, old, new = change
    path = course.folder / file
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(".", r"\.")):
        load_course(course.folder)


def test_a_reissued_token_replaces_the_old_one(store):
    first = store.issue_token("s01", timedelta(days=1))
    assert store.token_owner(first)[0] == "s01"
    second = store.issue_token("s01", timedelta(days=1))
    assert store.token_owner(first) is None and store.token_owner(second)[0] == "s01"
    assert store.revoke("s01") == 1 and store.token_owner(second) is None


def test_an_expired_token_signs_nobody_in(store):
    token = store.issue_token("s01", timedelta(seconds=-1))
    assert store.token_owner(token) is None


def test_jobs_are_claimed_oldest_first_and_once(store):
    ids = [add(store) for _ in range(3)]
    claimed = [store.claim().id for _ in range(3)]
    assert claimed == ids and store.claim() is None
    assert store.queue_position(ids[0]) == 0


def test_a_start_reruns_what_was_running_until_it_has_died_twice(store):
    job = add(store)
    for death in range(1, MAX_TRIES + 1):
        assert store.claim().tries == death
        recovery = store.recover("died")
        if death < MAX_TRIES:
            assert recovery.requeued == (job,) and store.job(job).state == "queued"
    assert recovery.failed == (job,)
    assert (store.job(job).state, store.job(job).error) == ("error", "died")


def test_a_job_released_by_a_stopping_server_is_not_counted(store):
    job = add(store)
    store.claim()
    store.release(job, counted=False)
    assert (store.job(job).state, store.job(job).tries) == ("queued", 0)


def test_a_job_row_never_exists_without_its_notebook(store):
    def broken(job_id: int) -> str:
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.add_job(person="s01", assignment="toy", kind="check", filename="a.ipynb", sha256="0", late=False,
                      store_file=broken)
    assert store.jobs() == []


@pytest.mark.parametrize(("given", "shown"), [
    ("hw.ipynb", "hw.ipynb"), ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\hw 2.ipynb", "hw 2.ipynb"),
    ("<script>.ipynb", "_script_.ipynb"), ("", "notebook.ipynb"),
])
def test_an_uploaded_file_name_keeps_no_folder_and_no_markup(given, shown):
    assert shown_name(given) == shown


# ------------------------------------------------------------------------------------------ deadlines


DUE = datetime(2026, 11, 15, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(("late_by", "percent", "reason"), [
    (timedelta(0), 0, ""),
    (timedelta(minutes=1), 10, "1 day late: 10% per day late, at most 25%"),
    (timedelta(hours=24), 10, "1 day late"),
    (timedelta(hours=24, seconds=1), 20, "2 days late"),
    (timedelta(days=2, hours=1), 25, "3 days late"),  # capped
    (timedelta(days=5), 100, "after the late due time, so it scores 0"),
], ids=["on-time", "a-minute", "a-day", "a-day-and-a-second", "capped", "past-late-due"])
def test_the_late_penalty_counts_started_days_up_to_its_cap(late_by, percent, reason):
    deadline = Deadline(DUE, DUE + timedelta(days=4), LatePolicy(10, "day", 25))
    penalty = deadline.penalty(DUE + late_by)
    assert penalty.percent == percent and reason in penalty.reason
    assert penalty.points(40) == 40 * percent / 100


def test_an_extension_moves_the_due_time_and_the_late_due_time_with_it():
    deadline = Deadline(DUE, DUE + timedelta(days=2), LatePolicy(5, "hour")).for_student(DUE + timedelta(days=3))
    assert deadline.penalty(DUE + timedelta(days=3)).percent == 0
    assert deadline.penalty(DUE + timedelta(days=3, minutes=90)).percent == 10
    assert deadline.penalty(DUE + timedelta(days=5, seconds=1)).percent == 100


def test_without_a_policy_late_is_marked_and_free():
    penalty = Deadline(DUE).penalty(DUE + timedelta(days=30))
    assert penalty.late and penalty.percent == 0


@pytest.mark.parametrize(("table", "says"), [
    ({"percent": 10, "per": "week"}, "per is \"day\" or \"hour\""),
    ({"percent": 150}, "percent is a percentage from 0 to 100"),
    ("10%", "late_penalty is a table"),
])
def test_a_broken_late_policy_says_what_to_write(table, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        LatePolicy.parse(table, "course.toml")


# ------------------------------------------------------------------------------------------ the gradebook


def test_the_on_time_submission_counts_over_a_later_late_one(store, course):
    offering = course.offerings["toy"]
    early, late = add(store, kind="submit"), add(store, kind="submit")
    assert counted_submission([store.job(early), store.job(late)], offering.deadline).id == late  # both on time
    overdue = Deadline(datetime.now(UTC) - timedelta(days=1))
    early_on_time = Deadline(store.job(early).created + timedelta(microseconds=1))
    assert counted_submission([store.job(early), store.job(late)], early_on_time).id == early
    assert counted_submission([store.job(early), store.job(late)], overdue).id == late  # none on time: the latest


def test_a_regrade_keeps_the_old_result_until_the_new_one_is_in(store, course):
    submission = store.job(add(store, kind="submit"))
    first = store.add_grading(submission)
    store.claim()
    store.finish(first, score=3, max_score=5, error=None)
    second = store.add_grading(submission)
    result = SubmissionResult(student="s01", assignment="toy", checks=[CheckResult(
        name="x", question="q1", points=3, max_points=5, status=Status.FAILED)])
    row = next(r for r in gradebook.rows(course, store, course.offerings["toy"], lambda job: result)
               if r.person.id == "s01")
    assert (row.grading.id, row.pending, row.raw, row.status) == (first, True, 3, "graded")
    assert second != first


def test_exports_keep_formulas_out_of_spreadsheets(course):
    evil = dataclasses.replace(course.people["s01"], name="=cmd|' /C calc'!A0", email="+1@x.edu")
    course = dataclasses.replace(course, roster=(evil,))
    row = gradebook.GradeRow(evil, Deadline(DUE), None, None, None, None)
    for text in (gradebook.canvas_csv(course, {"toy": [row]}), gradebook.moodle_csv(course, {"toy": [row]}),
                 gradebook.gradebook_csv([row])):
        cells = [c for line in csv.reader(io.StringIO(text)) for c in line]
        assert "'=cmd|' /C calc'!A0" in cells or "'+1@x.edu" in cells
        assert not any(c.startswith(("=", "+", "@")) for c in cells)
