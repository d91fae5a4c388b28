"""The staff side of the course server over real HTTP: grading the submissions that count (every check), the late
penalty and an extension in the gradebook, the Canvas and Moodle exports read back, and every staff route closed
to students and to nobody."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
import zipfile
from datetime import timedelta

import httpx
import nbformat
import pytest
from server_harness import CourseServer, course_folder, iso, toy_notebook, toy_root

pytestmark = pytest.mark.e2e

EVIL = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = toy_root(tmp_path_factory.mktemp("toys"))
    folder = course_folder(tmp_path_factory.mktemp("course"), root, [
        {"name": "toy", "opens": iso(-timedelta(days=1)), "due": iso(timedelta(days=7))},
        # 30 hours ago: a submission now is 2 started days late, 20% under this policy
        {"name": "other", "opens": iso(-timedelta(days=3)), "due": iso(-timedelta(hours=30)),
         "late_due": iso(timedelta(days=5)), "late_penalty": {"percent": 10, "per": "day", "cap": 30}},
    ], names={"s03": EVIL})
    running = CourseServer(folder).start()
    yield running
    running.stop()


def submit(server: CourseServer, person: str, assignment: str, **kw) -> int:
    nb = nbformat.writes(toy_notebook(assignment, person, **kw)).encode()
    with server.api(person) as api:
        reply = api.post(f"/api/assignments/{assignment}/attempts", data={"action": "submit"},
                         files={"notebook": ("hw.ipynb", nb)})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def staff_post(ta: httpx.Client, path: str, assignment: str, **fields) -> httpx.Response:
    page = ta.get(f"/staff/assignments/{assignment}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return ta.post(path, data={"csrf": csrf, **fields})


def gradebook(ta: httpx.Client, assignment: str) -> dict[str, dict]:
    reply = ta.get(f"/staff/exports/gradebook.csv?assignment={assignment}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    return {row["student"]: row for row in csv.DictReader(io.StringIO(reply.text))}


def wait_graded(server: CourseServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(server.folder / "gradekit.db") as db:
            if not db.execute("select count(*) from jobs where state in ('queued', 'running')").fetchone()[0]:
                return
        time.sleep(0.3)
    raise AssertionError("gradings did not finish")


@pytest.fixture(scope="module")
def graded(server):
    """s01 on time for toy; s02 (right) and s03 (answer 41) late for other; s04 nothing. Then staff grade."""
    jobs = {"s01": submit(server, "s01", "toy"), "s02": submit(server, "s02", "other"),
            "s03": submit(server, "s03", "other", answer="41")}
    wait_graded(server)
    with server.client("ta1") as ta:
        for assignment in ("toy", "other"):
            assert staff_post(ta, f"/staff/assignments/{assignment}/grade", assignment, which="new").status_code == 303
    wait_graded(server)
    return jobs


def test_staff_grading_runs_every_check_of_the_submission_that_counts(server, graded):
    with server.client("ta1") as ta:
        rows = gradebook(ta, "toy")
        assert (rows["s01"]["raw_score"], rows["s01"]["max_score"], rows["s01"]["status"]) == ("5", "5", "graded")
        assert rows["s04"]["status"] == "no submission" and rows["s04"]["final_score"] == ""
        page = ta.get("/staff/assignments/toy").text
    assert 'class="n-submitted">1<' in page and 'class="n-graded">1<' in page


def test_a_late_submission_loses_its_penalty_in_the_gradebook(server, graded):
    with server.client("ta1") as ta:
        rows = gradebook(ta, "other")
    s02 = rows["s02"]
    assert (s02["raw_score"], s02["penalty_percent"], s02["penalty"], s02["final_score"]) == ("5", "20", "1", "4")
    assert s02["penalty_reason"] == "2 days late: 10% per day late, at most 30%"
    assert (rows["s03"]["raw_score"], rows["s03"]["final_score"]) == ("2", "1.6")


def test_an_extension_removes_the_penalty_and_taking_it_back_restores_it(server, graded):
    with server.client("ta1") as ta:
        due = (iso(timedelta(days=1))[:16])  # datetime-local: no seconds, no zone (the course's, UTC here)
        assert staff_post(ta, "/staff/assignments/other/extensions", "other", student="s02", due=due,
                          action="save").status_code == 303
        s02 = gradebook(ta, "other")["s02"]
        assert (s02["penalty_percent"], s02["final_score"], s02["late_hours"]) == ("0", "5", "")
        assert staff_post(ta, "/staff/assignments/other/extensions", "other", student="s02",
                          action="remove").status_code == 303
        assert gradebook(ta, "other")["s02"]["final_score"] == "4"


def test_the_canvas_and_moodle_files_match_the_gradebook(server, graded):
    with server.client("ta1") as ta:
        books = {a: gradebook(ta, a) for a in ("toy", "other")}
        canvas = list(csv.reader(io.StringIO(ta.get("/staff/exports/canvas.csv").text)))
        moodle = list(csv.DictReader(io.StringIO(ta.get("/staff/exports/moodle.csv").text)))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Toy toy", "Toy other"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5:] == ["5", "5"]
    by_sis = {row[2]: row for row in canvas[2:]}
    assert set(by_sis) == set(books["toy"])  # students only: the TA is not a row
    for student, row in by_sis.items():
        assert row[5:] == [books["toy"][student]["final_score"], books["other"][student]["final_score"]]
    assert by_sis["s03"][0] == "'" + EVIL  # a name that would run as a formula stays text
    by_email = {row["Email address"]: row for row in moodle}
    assert by_email["s02@example.edu"]["Toy other"] == books["other"]["s02"]["final_score"] == "4"


def test_a_regrade_of_one_student_grades_that_submission_again(server, graded):
    with server.client("ta1") as ta:
        assert staff_post(ta, "/staff/assignments/toy/grade", "toy", which="one", student="s01").status_code == 303
        wait_graded(server)
        assert gradebook(ta, "toy")["s01"]["raw_score"] == "5"
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        assert db.execute("select count(*) from jobs where kind = 'grade' and person = 's01'").fetchone()[0] == 2


STAFF_GETS = ["/staff", "/staff/assignments/toy", "/staff/exports/gradebook.csv?assignment=toy",
              "/staff/exports/canvas.csv", "/staff/exports/moodle.csv", "/staff/exports/gradescope/toy.zip"]
STAFF_POSTS = ["/staff/assignments/toy/grade", "/staff/assignments/toy/extensions", "/staff/assignments/toy/publish"]


def test_no_staff_route_opens_to_a_student_or_to_nobody(server, graded):
    with server.client("s01") as student, server.client() as nobody:
        for path in STAFF_GETS:
            assert student.get(path).status_code == 404, path
            assert nobody.get(path).status_code == 401, path
        csrf = re.search(r'name="csrf" value="([^"]+)"', student.get("/assignments/toy").text).group(1)
        for path in STAFF_POSTS:
            assert student.post(path, data={"csrf": csrf, "which": "all", "student": "s01"}).status_code == 404
            assert nobody.post(path, data={"which": "all"}).status_code == 401
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        assert db.execute("select count(*) from extensions").fetchone()[0] == 0
        assert db.execute("select count(*) from publications where assignment = 'toy'").fetchone()[0] == 0


def test_a_student_never_sees_staffs_grading_with_its_hidden_checks(server, graded):
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        grading = db.execute("select id from jobs where kind = 'grade' and person = 's01'").fetchone()[0]
    with server.client("s01") as student, server.api("s01") as api:
        assert student.get(f"/attempts/{grading}").status_code == 404
        assert api.get(f"/api/attempts/{grading}").status_code == 404
        assert "xyzzy" not in student.get("/assignments/toy").text
    with server.client("ta1") as ta:
        assert "The hidden xyzzy check" in ta.get(f"/attempts/{grading}").text


def test_publishing_shows_students_their_released_grade_and_nothing_hidden(server, graded):
    with server.client("s02") as student:
        before = student.get("/assignments/other/grade")
        assert before.status_code == 404 and "has not been published yet" in before.text
        with server.client("ta1") as ta:
            assert staff_post(ta, "/staff/assignments/other/publish", "other", action="publish").status_code == 303
            assert "published " in ta.get("/staff/assignments/other").text
        assert "see your graded submission" in student.get("/assignments/other").text
        page = student.get("/assignments/other/grade").text
        assert re.search(r'Your grade: <span class="final">4</span> / 5', page)
        assert "5 before the late penalty of 1 (2 days late: 10% per day late, at most 30%)" in page
        assert "1 check of your grading is not shown to students" in page
        assert "xyzzy" not in page
        with server.client("ta1") as ta:
            assert staff_post(ta, "/staff/assignments/other/publish", "other", action="unpublish").status_code == 303
        assert student.get("/assignments/other/grade").status_code == 404


GRADESCOPE_TEST_FIELDS = {"name", "name_format", "number", "score", "max_score", "status", "output", "output_format",
                          "tags", "visibility"}


def test_the_gradescope_files_carry_each_checks_visibility(server, graded):
    with server.client("ta1") as ta:
        reply = ta.get("/staff/exports/gradescope/other.zip")
    assert reply.status_code == 200
    with zipfile.ZipFile(io.BytesIO(reply.content)) as zf:
        assert sorted(zf.namelist()) == ["s02.json", "s03.json"]
        data = json.loads(zf.read("s02.json"))
    assert {"score", "execution_time", "output", "tests", "stdout_visibility"} <= set(data)
    assert data["score"] == 5
    for test in data["tests"]:
        assert set(test) <= GRADESCOPE_TEST_FIELDS and test["status"] in ("passed", "failed")
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    assert {t["name"]: t["visibility"] for t in data["tests"]}["q2: The hidden xyzzy check"] == "hidden"
