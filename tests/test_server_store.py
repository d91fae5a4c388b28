"""The course server's parts without a server: the course folder's files, the database's rules for tokens and
jobs, and upload names. Fast: no kernel, no HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from server_harness import course_folder, iso, toy_root

from gradekit.config import ConfigError
from gradekit.server.course import load_course
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
