"""Unit tests for gradekit.export: gradebook CSV, Gradescope results.json, results JSON round trip."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import stat

import pytest

from gradekit.export import gradebook_csv, gradescope_results, write_gradebook_csv, write_gradescope
from gradekit.formatting import format_number
from gradekit.results import CheckResult, Review, SubmissionResult, current_umask, write_atomic

TITLES = {"attn": "Attention", "lstm": "LSTM cell"}
GRADESCOPE_TOP_KEYS = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
}
GRADESCOPE_TEST_KEYS = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
}


def chk(question, name, points, max_points=1.0, *, message="", hidden=False, status=None):
    passed = points >= max_points
    return CheckResult(
        question,
        name,
        points,
        max_points,
        status or ("passed" if passed else "failed"),
        message,
        hidden,
    )


def make(student="s1", checks=(), **kw):
    return SubmissionResult(
        student=student, assignment="HW3", checks=list(checks), question_titles=dict(TITLES), **kw
    )


def full_marks(student="full"):
    return make(
        student, [chk("attn", "shape", 1), chk("attn", "values", 1), chk("lstm", "h_seq shape", 2, 2)]
    )


def zero(student="zero"):
    return make(
        student, [chk("attn", "shape", 0, message="nope"), chk("lstm", "h_seq shape", 0, 2, message="no")]
    )


def partial(student="partial"):
    return make(student, [chk("attn", "shape", 1), chk("lstm", "h_seq shape", 1.5, 2, message="close")])


def with_hidden(student="hidden"):
    return make(
        student,
        [
            chk("attn", "shape", 1),
            chk("attn", "secret", 0, message="hidden failure", hidden=True),
            chk("lstm", "h_seq shape", 2, 2),
            chk("lstm", "secret", 0.5, hidden=True),
        ],
        duration_s=12.345,
    )


def check_mode(student="selfcheck"):
    return make(
        student, [chk("attn", "shape", 1), chk("lstm", "h_seq shape", 0, 2, message="wrong")], mode="check"
    )


def error_result(student="broken"):
    return make(
        student,
        error="notebook is not valid JSON",
        notes=["timeout"],
        cell_errors=[{"cell": 2, "ename": "NameError", "evalue": "x", "line": "x"}],
    )


def nasty():
    return make('a&b"c', [chk("attn", "<script>", 0, message="<script>alert(1)</script>\nline 2")])


ALL = [full_marks, zero, partial, with_hidden, check_mode, error_result, nasty]


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2, "2"),
        (2.0, "2"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.3333"),
        (-0.0, "0"),
        (10, "10"),
        (0.00001, "0"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


# ---------------------------------------------------------------------------------------------- CSV


def test_gradebook_csv_exact_content():
    results = [partial("carol"), full_marks("alice"), zero("bob")]
    assert gradebook_csv(results, ["attn", "lstm"]) == (
        "student,score,max_score,status,awaiting_ta,attn,lstm\nalice,4,4,graded,0,2,2\nbob,0,3,graded,0,0,0\n"
        "carol,2.5,3,graded,0,1,1.5\n"
    )


def test_gradebook_csv_missing_question_is_zero():
    text = gradebook_csv([make("s", [chk("attn", "shape", 1)])], ["attn", "lstm", "extra"])
    assert text.splitlines()[1] == "s,1,1,graded,0,1,0,0"


def test_gradebook_csv_error_result_row():
    """Blank, not 0: an upload must not publish a grade for a notebook that could not be graded."""
    assert gradebook_csv([error_result("x")], ["attn"]).splitlines()[1] == "x,,0,not graded,0,"


def test_gradebook_csv_gives_a_notebook_that_could_not_be_graded_the_points_possible_of_the_others():
    """A worker that crashed left a result with no checks; its row still says out of how many."""
    rows = gradebook_csv([error_result("x"), full_marks("alice")], ["attn", "lstm"]).splitlines()
    assert rows[1:] == ["alice,4,4,graded,0,2,2", "x,,4,not graded,0,,"]


def test_gradebook_csv_quotes_special_characters():
    assert gradebook_csv([make('a,b"c')], []).splitlines()[1] == '"a,b""c",0,0,graded,0'


@pytest.mark.parametrize("student", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)"])
def test_gradebook_csv_formula_injection_guard(student):
    assert gradebook_csv([make(student)], []).splitlines()[1].startswith("'" + student)


@pytest.mark.parametrize("student", ["\t=cmd|' /C calc'!A0", "\r=1+1"])
def test_gradebook_csv_guards_tab_and_carriage_return_prefixes(student):
    """A spreadsheet strips a leading tab or CR and then reads the formula behind it."""
    header, row = list(csv.reader(io.StringIO(gradebook_csv([make(student)], []), newline="")))
    assert header[0] == "student" and row[0] == "'" + student.replace("\r", "\\r")  # one row, guarded


@pytest.mark.parametrize("student", ["alice", "a=b", "1+1"])
def test_gradebook_csv_plain_ids_untouched(student):
    assert gradebook_csv([make(student)], []).splitlines()[1].startswith(student + ",")


def test_write_gradebook_csv(tmp_path):
    path = tmp_path / "out" / "grades.csv"
    write_gradebook_csv([full_marks("alice")], ["attn", "lstm"], path)
    assert path.read_text(encoding="utf-8") == (
        "student,score,max_score,status,awaiting_ta,attn,lstm\nalice,4,4,graded,0,2,2\n")


def test_write_gradebook_csv_leaves_no_temp_files(tmp_path):
    write_gradebook_csv([full_marks()], ["attn"], tmp_path / "grades.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


# ---------------------------------------------------------------------------------------------- Gradescope


def test_gradescope_one_test_per_check():
    assert len(gradescope_results(with_hidden())["tests"]) == 4


def test_gradescope_visibility_mapping():
    tests = gradescope_results(with_hidden())["tests"]
    assert {t["name"]: t["visibility"] for t in tests} == {
        "attn: shape": "visible",
        "attn: secret": "hidden",
        "lstm: h_seq shape": "visible",
        "lstm: secret": "hidden",
    }


def test_gradescope_visibility_follows_the_assignments_settings():
    chosen = {"attn": "after_published", "lstm": "after_due_date"}
    tests = gradescope_results(with_hidden(), lambda c: chosen[c.question])["tests"]
    assert [t["visibility"] for t in tests] == ["after_published", "after_published", "after_due_date",
                                                 "after_due_date"]


@pytest.mark.parametrize("factory", ALL)
def test_gradescope_score_is_sum_of_tests(factory):
    data = gradescope_results(factory())
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


@pytest.mark.parametrize("factory", ALL)
def test_gradescope_score_matches_result(factory):
    result = factory()
    assert gradescope_results(result)["score"] == result.score


@pytest.mark.parametrize("factory", ALL)
def test_gradescope_uses_documented_keys_only(factory):
    data = gradescope_results(factory())
    assert set(data) <= GRADESCOPE_TOP_KEYS
    assert all(set(t) <= GRADESCOPE_TEST_KEYS for t in data["tests"])


def test_gradescope_hides_stdout():
    assert gradescope_results(full_marks())["stdout_visibility"] == "hidden"


def test_gradescope_numbers_tests_by_question():
    assert [t["number"] for t in gradescope_results(with_hidden())["tests"]] == ["1.1", "1.2", "2.1", "2.2"]


@pytest.mark.parametrize(
    ("status", "expected"), [("failed", "failed"), ("error", "failed"), ("skipped", "failed")]
)
def test_gradescope_status_is_passed_or_failed(status, expected):
    result = make(checks=[chk("attn", "shape", 0, status=status)])
    assert gradescope_results(result)["tests"][0]["status"] == expected


def test_gradescope_error_check_output_says_it_could_not_run():
    result = make(checks=[chk("attn", "shape", 0, message="kernel died", status="error")])
    assert gradescope_results(result)["tests"][0]["output"] == "This check could not run.\nkernel died"


def test_gradescope_failed_check_output_is_message():
    assert gradescope_results(nasty())["tests"][0]["output"] == "<script>alert(1)</script>\nline 2"


def test_gradescope_output_format_is_text():
    data = gradescope_results(nasty())
    assert (data["output_format"], data["tests"][0]["output_format"]) == ("text", "text")


def test_gradescope_summary_mentions_error():
    assert "could not be graded: notebook is not valid JSON" in gradescope_results(error_result())["output"]


def test_gradescope_execution_time_is_whole_seconds():
    assert gradescope_results(with_hidden())["execution_time"] == 12


def test_write_gradescope_is_valid_json(tmp_path):
    path = tmp_path / "results" / "results.json"
    write_gradescope(with_hidden(), path)
    assert json.loads(path.read_text(encoding="utf-8")) == gradescope_results(with_hidden())


# ---------------------------------------------------------------------------------------------- results JSON


@pytest.mark.parametrize("factory", ALL)
def test_results_json_round_trip(factory):
    result = factory()
    assert SubmissionResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("factory", ALL)
def test_write_results_json_round_trip(factory, tmp_path):
    result = factory()
    path = tmp_path / "r.json"
    result.write_json(path)
    assert SubmissionResult.read_json(path) == result


# ---------------------------------------------------------------------------------------------- written answers


def awaiting(student="waiting"):
    review = Review(kind="free_text", answer="=1+1 because", rubric="r", reason="free text", answer_sha="ab")
    check = CheckResult("lstm", "explain", 0.0, 2.0, "needs_review", "A TA will grade this answer.", review=review)
    return make(student, [chk("attn", "shape", 1), check])


def ta_graded(points, comment):
    result = awaiting("graded")
    check = result.checks[1]
    result.checks[1] = dataclasses.replace(
        check, points=points, status="passed" if points >= check.max_points else "failed",
        review=dataclasses.replace(check.review, reviewed=True, comment=comment),
        message=f"TA: {comment}" if comment else "graded by a TA")
    return result


def test_gradescope_pending_review_scores_zero_and_says_it_awaits_a_ta():
    test = gradescope_results(awaiting())["tests"][1]
    assert (test["score"], test["max_score"], test["status"]) == (0.0, 2.0, "failed")
    assert test["output"] == "This answer awaits a TA: it counts 0 until a TA grades it.\nA TA will grade this answer."


def test_gradescope_summary_counts_answers_awaiting_a_ta():
    assert gradescope_results(awaiting())["output"].splitlines()[1] == (
        "1 written answer awaits a TA and counts 0 until graded; your score may still go up."
    )
    assert "awaits a TA" not in gradescope_results(full_marks())["output"]


@pytest.mark.parametrize(
    ("points", "comment", "output"),
    [
        (1.5, "name the gate", "Graded by a TA: 1.5 / 2.\nTA's comment: name the gate"),
        (2.0, "", "Graded by a TA: 2 / 2."),
    ],
)
def test_gradescope_ta_graded_check_shows_points_and_comment(points, comment, output):
    data = gradescope_results(ta_graded(points, comment))
    assert data["tests"][1]["output"] == output
    assert data["tests"][1]["status"] == ("passed" if points == 2 else "failed")
    assert data["score"] == 1 + points


def test_gradebook_counts_ta_points_and_says_what_still_awaits_a_ta():
    """An answer awaiting a TA is not in `score` yet, and the row says so: "awaiting TA", with its points."""
    text = gradebook_csv([awaiting("a"), ta_graded(1.5, "ok")], ["attn", "lstm"])
    assert text == ("student,score,max_score,status,awaiting_ta,attn,lstm\na,1,3,awaiting TA,2,1,0\n"
                    "graded,2.5,3,graded,0,1,1.5\n")


@pytest.mark.parametrize("factory", [awaiting, lambda: ta_graded(1.0, "c")])
def test_results_json_round_trip_keeps_review(factory):
    result = factory()
    assert SubmissionResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_permissions_of_any_new_file(tmp_path, umask, mode):
    """A feedback folder copied to a web server must be readable there: not mkstemp's 0600."""
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "feedback" / "ann.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "feedback" / "ann.html").stat().st_mode) == mode
    assert current_umask() == old


def test_gradescope_says_a_notebook_that_could_not_be_graded_was_not_graded_not_that_every_check_failed():
    result = error_result()
    result.checks = [chk("attn", "shape", 0, message=result.error)]  # as the graders run over a missing notebook
    data = gradescope_results(result)
    assert data["tests"] == [] and data["score"] == 0
    assert data["extra_data"] == {"gradekit_status": "not_graded"}
    assert data["output"].startswith("Your notebook could not be graded: notebook is not valid JSON")
    assert "extra_data" not in gradescope_results(zero())
