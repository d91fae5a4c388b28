"""Unit tests for gradekit.review (the TA's ta_review.csv) and its use by the batch (run_batch with --resume)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import Assignment, Question
from gradekit.export import gradebook_csv
from gradekit.report import render_class_summary
from gradekit.results import CheckResult, Review, SubmissionResult
from gradekit.review import (
    COLUMNS,
    NOTE_ANSWER_CHANGED,
    NOTE_GRADED,
    NOTE_NO_LONGER,
    NOTE_NOT_IN_RUN,
    NOTE_PENDING,
    answer_preview,
    apply_reviews,
    guard,
    read_review_csv,
    review_csv,
    unguard,
    write_review_csv,
)

TITLES = {"attn": "Attention", "essay": "Why attention?"}
ESSAY = "essay"
CHECK = "explain attention"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def written(answer: str, max_points: float = 2.0, kind: str = "free_text") -> CheckResult:
    return CheckResult(ESSAY, CHECK, 0.0, max_points, "needs_review", "A TA will grade this answer.",
                       review=Review(kind=kind, answer=answer, rubric="2: mentions softmax weights",
                                     reason="free text", answer_sha=sha(answer)))


def make(student: str, answer: str = "It weighs the values.", **kw) -> SubmissionResult:
    checks = [CheckResult("attn", "shape", 1.0, 1.0, "passed"), written(answer, **kw)]
    return SubmissionResult(student=student, assignment="hw", checks=checks, question_titles=dict(TITLES))


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def fill(path: Path, student: str, points: str, comment: str = "", **match: str) -> None:
    """What a TA does: type points (and a comment) into the row of one student."""
    rows = rows_of(path)
    hits = [r for r in rows if r["student"] == student and all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, hits
    hits[0]["points"], hits[0]["comment"] = points, comment
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def first_pass(tmp_path: Path, results: list[SubmissionResult]) -> Path:
    """A batch's first write of the CSV: every pending answer, nothing filled."""
    path = tmp_path / "ta_review.csv"
    sheet = read_review_csv(path)
    reviewed, _ = apply_reviews(results, sheet)
    assert write_review_csv(path, reviewed, sheet)
    return path


def reapply(path: Path, results: list[SubmissionResult]):
    sheet = read_review_csv(path)
    reviewed, outcome = apply_reviews(results, sheet)
    return sheet, reviewed, outcome


def essay_check(result: SubmissionResult) -> CheckResult:
    return next(c for c in result.checks if c.question == ESSAY)


# ---------------------------------------------------------------------------------------------- the CSV file


def test_missing_file_is_an_empty_sheet(tmp_path):
    sheet = read_review_csv(tmp_path / "ta_review.csv")
    assert (sheet.rows, sheet.warnings, sheet.readable) == ([], [], True)


def test_no_written_answers_writes_no_file(tmp_path):
    result = SubmissionResult("alice", "hw", [CheckResult("attn", "shape", 1, 1, "passed")])
    assert write_review_csv(tmp_path / "ta_review.csv", [result], read_review_csv(tmp_path / "ta_review.csv"))
    assert not (tmp_path / "ta_review.csv").exists()


def test_first_write_lists_each_pending_answer(tmp_path):
    path = first_pass(tmp_path, [make("bob"), make("alice", "Softmax over scores.")])
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    rows = rows_of(path)
    assert [(r["student"], r["question"], r["check"], r["max_points"], r["points"], r["note"]) for r in rows] == [
        ("alice", ESSAY, CHECK, "2", "", NOTE_PENDING),
        ("bob", ESSAY, CHECK, "2", "", NOTE_PENDING),
    ]
    assert rows[0]["answer_sha"] == sha("Softmax over scores.")
    assert rows[0]["answer"] == "Softmax over scores."


def test_answer_preview_is_one_line_and_cut():
    preview = answer_preview("line one\n\nline two " + "x" * 500)
    assert "\n" not in preview
    assert preview.startswith("line one line two x")
    assert len(preview) == 200 and preview.endswith("…")


def test_round_trip_is_stable(tmp_path):
    """Reading the CSV and writing it back with the same results changes nothing."""
    results = [make("alice"), make("bob")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "1.5", "good, but name the softmax")
    sheet, reviewed, _ = reapply(path, results)
    write_review_csv(path, reviewed, sheet)
    once = path.read_text(encoding="utf-8")
    sheet, reviewed, _ = reapply(path, results)
    write_review_csv(path, reviewed, sheet)
    assert path.read_text(encoding="utf-8") == once


def test_excel_bom_is_read(tmp_path):
    path = first_pass(tmp_path, [make("alice")])
    fill(path, "alice", "2")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    _, reviewed, outcome = reapply(path, [make("alice")])
    assert outcome.applied == 1 and essay_check(reviewed[0]).points == 2


# ---------------------------------------------------------------------------------------------- applying points


def test_full_points_pass_the_check(tmp_path):
    results = [make("alice")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "2", "clear")
    _, reviewed, outcome = reapply(path, results)
    check = essay_check(reviewed[0])
    assert (check.points, check.passed, check.status) == (2.0, True, "passed")
    assert check.review.reviewed is True and check.review.comment == "clear"
    assert check.message == "TA: clear"
    assert (outcome.applied, outcome.pending, outcome.warnings) == (1, 0, [])
    assert reviewed[0].score == 3


def test_partial_points_fail_the_check_with_partial_credit(tmp_path):
    results = [make("alice")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "0.5")
    check = essay_check(reapply(path, results)[1][0])
    assert (check.points, check.passed, check.status, check.message) == (0.5, False, "failed", "graded by a TA")


def test_apply_leaves_the_machine_verdict_untouched(tmp_path):
    results = [make("alice")]
    before = results[0].to_dict()
    path = first_pass(tmp_path, results)
    fill(path, "alice", "2")
    reapply(path, results)
    assert results[0].to_dict() == before


def test_blank_points_stay_pending_even_with_a_comment(tmp_path):
    results = [make("alice")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "", "half-way through reading")
    sheet, reviewed, outcome = reapply(path, results)
    assert essay_check(reviewed[0]).status == "needs_review"
    assert (outcome.applied, outcome.pending, outcome.warnings) == (0, 1, [])
    write_review_csv(path, reviewed, sheet)
    assert rows_of(path)[0]["comment"] == "half-way through reading"


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ("abc", "points 'abc' is not a number"),
        ("1,5", "use a dot for decimals"),
        ("3", "more than max_points 2"),
        ("-1", "must be a number from 0 to max_points"),
        ("nan", "must be a number from 0 to max_points"),
    ],
)
def test_bad_points_are_warned_and_not_applied_but_kept(tmp_path, points, problem):
    results = [make("alice")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", points, "typed in a hurry")
    sheet, reviewed, outcome = reapply(path, results)
    assert essay_check(reviewed[0]).status == "needs_review"
    assert len(outcome.warnings) == 1
    warning = outcome.warnings[0]
    assert problem in warning and "ta_review.csv line 2 (alice, essay, 'explain attention')" in warning
    write_review_csv(path, reviewed, sheet)
    row = rows_of(path)[0]
    assert (unguard(row["points"]), row["comment"]) == (points, "typed in a hurry")  # the TA's typing survives
    assert row["note"].startswith("not applied: ") and problem in row["note"]


def test_conflicting_rows_for_one_answer_apply_neither(tmp_path):
    results = [make("alice")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "2")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1].replace(",2,2,", ",2,1,")]) + "\n", encoding="utf-8")
    _, reviewed, outcome = reapply(path, results)
    assert essay_check(reviewed[0]).status == "needs_review"
    assert any("lines 2, 3 give this answer different points" in w for w in outcome.warnings)


def test_header_without_key_columns_is_neither_applied_nor_overwritten(tmp_path):
    path = tmp_path / "ta_review.csv"
    path.write_text("name;points\nalice;2\n", encoding="utf-8")
    sheet = read_review_csv(path)
    assert not sheet.readable
    assert "the header lacks student, question, check, points, answer_sha" in sheet.warnings[0]
    assert "save it as comma-separated CSV" in sheet.warnings[0]
    reviewed, outcome = apply_reviews([make("alice")], sheet)
    assert outcome.pending == 1 and outcome.warnings == sheet.warnings
    assert write_review_csv(path, reviewed, sheet) is False
    assert path.read_text(encoding="utf-8") == "name;points\nalice;2\n"


# ---------------------------------------------------------------------------------------------- merging


def test_changed_answer_goes_back_to_pending_and_keeps_the_old_row(tmp_path):
    path = first_pass(tmp_path, [make("alice", "first try")])
    fill(path, "alice", "1", "too short")
    resubmitted = [make("alice", "second, longer try")]
    sheet, reviewed, outcome = reapply(path, resubmitted)
    check = essay_check(reviewed[0])
    assert (check.status, check.points) == ("needs_review", 0)
    assert "the answer changed after a TA gave it 1 / 2" in check.review.note
    assert (outcome.applied, outcome.pending, outcome.changed) == (0, 1, 1)
    write_review_csv(path, reviewed, sheet)
    rows = {r["answer_sha"]: r for r in rows_of(path)}
    assert rows[sha("first try")]["points"] == "1" and rows[sha("first try")]["note"] == NOTE_ANSWER_CHANGED
    assert rows[sha("second, longer try")]["points"] == ""
    assert rows[sha("second, longer try")]["note"].startswith("pending: the answer changed")


def test_rows_of_students_not_in_this_run_are_kept(tmp_path):
    path = first_pass(tmp_path, [make("alice"), make("bob"), make("carol")])
    fill(path, "bob", "2")
    sheet, reviewed, _ = reapply(path, [make("alice")])
    write_review_csv(path, reviewed, sheet)
    rows = {r["student"]: r for r in rows_of(path)}
    assert set(rows) == {"alice", "bob", "carol"}
    assert (rows["bob"]["points"], rows["bob"]["note"]) == ("2", NOTE_NOT_IN_RUN)
    assert rows["carol"]["note"] == NOTE_NOT_IN_RUN


def test_unfilled_rows_for_answers_gone_are_dropped_filled_ones_kept(tmp_path):
    path = first_pass(tmp_path, [make("alice"), make("bob")])
    fill(path, "bob", "2")
    machine_now = [SubmissionResult(s, "hw", [CheckResult(ESSAY, CHECK, 2, 2, "passed")]) for s in ("alice", "bob")]
    sheet, reviewed, _ = reapply(path, machine_now)
    write_review_csv(path, reviewed, sheet)
    rows = rows_of(path)
    assert [(r["student"], r["points"], r["note"]) for r in rows] == [("bob", "2", NOTE_NO_LONGER)]


def test_rows_are_sorted_by_student_question_check(tmp_path):
    results = [make(s) for s in ("zoe", "adam", "mia")]
    path = first_pass(tmp_path, results)
    assert [r["student"] for r in rows_of(path)] == ["adam", "mia", "zoe"]


def test_graded_rows_are_noted(tmp_path):
    results = [make("alice"), make("bob")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "2")
    sheet, reviewed, _ = reapply(path, results)
    write_review_csv(path, reviewed, sheet)
    assert [r["note"] for r in rows_of(path)] == [NOTE_GRADED, NOTE_PENDING]


# ---------------------------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "'=x", "''+y",
                                  "plain", "'quoted'", "a=b"])
def test_guard_round_trips(text):
    assert unguard(guard(text)) == text


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\t=1"])
def test_guard_neutralises_formulas(text):
    assert guard(text).startswith("'")


def test_csv_cells_from_students_cannot_be_formulas(tmp_path):
    evil_id, evil_answer = "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil\",\"click\") attention is softmax"
    results = [make(evil_id, evil_answer)]
    path = first_pass(tmp_path, results)
    row = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8").splitlines()[1])))
    assert row[0] == "'" + evil_id
    assert row[-1] == "'" + evil_answer
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)
    fill(path, "'" + evil_id, "1", "-1: no mention of the scaling")  # the TA's own comment starts with "-"
    _, reviewed, outcome = reapply(path, results)
    check = essay_check(reviewed[0])
    assert outcome.applied == 1 and check.review.comment == "-1: no mention of the scaling"
    assert "'-1: no mention" in review_csv(read_review_csv(path).rows)


def test_a_spreadsheet_that_dropped_the_apostrophe_still_matches(tmp_path):
    results = [make("=odd")]
    path = first_pass(tmp_path, results)
    text = path.read_text(encoding="utf-8").replace("'=odd,", "=odd,")
    path.write_text(text.replace(",2,,,", ",2,2,,"), encoding="utf-8")
    _, reviewed, outcome = reapply(path, results)
    assert outcome.applied == 1 and essay_check(reviewed[0]).points == 2


def test_gradebook_counts_reviewed_points(tmp_path):
    results = [make("alice"), make("bob")]
    path = first_pass(tmp_path, results)
    fill(path, "alice", "1.5")
    _, reviewed, _ = reapply(path, results)
    assert gradebook_csv(reviewed, ["attn", ESSAY]) == (
        "student,score,max_score,status,awaiting_ta,attn,essay\nalice,2.5,3,graded,0,1,1.5\n"
        "bob,1,3,awaiting TA,2,1,0\n"
    )


# ---------------------------------------------------------------------------------------------- the batch


def assignment(root: Path) -> Assignment:
    return Assignment(name="hw", title="HW written", root=root, notebook="hw.ipynb",
                      questions=[Question("attn", "Attention"), Question(ESSAY, "Why attention?")])


def finished_batch(tmp_path: Path) -> tuple[Path, Path, Assignment]:
    """A batch whose results are all written, as after a first run; the notebooks are not valid, so a regrade
    (which --resume must not do) would turn every row into an error."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for student, answer in [("alice", "Softmax of $q \\cdot k / \\sqrt{d}$ weighs the values."), ("bob", "dunno")]:
        (subs / f"{student}.ipynb").write_text("not a notebook", encoding="utf-8")
        make(student, answer).write_json(out / "results" / f"{student}.json")
    return subs, out, assignment(tmp_path)


def test_batch_resume_applies_the_ta_points_everywhere_without_regrading(tmp_path, capsys):
    subs, out, hw = finished_batch(tmp_path)
    machine = {p.name: p.read_text(encoding="utf-8") for p in (out / "results").iterdir()}
    run_batch(subs, hw, out, BatchOptions(resume=True))
    err = capsys.readouterr().err
    assert f"2 answers await a TA: fill `points` in {out / 'ta_review.csv'}, then rerun with --resume" in err
    assert 'id="needs-ta"' in (out / "index.html").read_text(encoding="utf-8")

    fill(out / "ta_review.csv", "alice", "2", "Exactly.")
    results = run_batch(subs, hw, out, BatchOptions(resume=True))
    err = capsys.readouterr().err
    assert "applied the points of 1 answer from" in err and "1 answer awaits a TA" in err

    assert [r.error for r in results] == [None, None]  # nothing was regraded
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == (
        "student,score,max_score,status,awaiting_ta,attn,essay\nalice,3,3,graded,0,1,2\n"
        "bob,1,3,awaiting TA,2,1,0\n"
    )
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Awaiting a TA (1)" in index and "Graded by a TA (1)" in index and "Exactly." in index
    feedback = (out / "feedback" / "alice.html").read_text(encoding="utf-8")
    assert "graded by TA" in feedback and "TA: Exactly." in feedback
    gradescope = json.loads((out / "gradescope" / "alice.json").read_text(encoding="utf-8"))
    assert gradescope["score"] == 3
    # The results JSON keep the machine's verdict: the CSV is the one place TA points live.
    assert {p.name: p.read_text(encoding="utf-8") for p in (out / "results").iterdir()} == machine
    assert [r["points"] for r in rows_of(out / "ta_review.csv")] == ["2", ""]


def test_batch_clearing_a_row_takes_the_points_back(tmp_path):
    subs, out, hw = finished_batch(tmp_path)
    run_batch(subs, hw, out, BatchOptions(resume=True, quiet=True))
    fill(out / "ta_review.csv", "alice", "2")
    run_batch(subs, hw, out, BatchOptions(resume=True, quiet=True))
    fill(out / "ta_review.csv", "alice", "")
    results = run_batch(subs, hw, out, BatchOptions(resume=True, quiet=True))
    assert results[0].score == 1
    assert (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1] == "alice,1,3,awaiting TA,2,1,0"


def test_batch_warns_about_a_bad_row_and_still_renders(tmp_path, capsys):
    subs, out, hw = finished_batch(tmp_path)
    run_batch(subs, hw, out, BatchOptions(resume=True, quiet=True))
    fill(out / "ta_review.csv", "bob", "5")
    run_batch(subs, hw, out, BatchOptions(resume=True))
    err = capsys.readouterr().err
    assert "warning: ta_review.csv line 3 (bob, essay, 'explain attention'): points 5 is more than max_points 2" in err
    assert "bob,1,3,awaiting TA,2,1,0" in (out / "gradebook.csv").read_text(encoding="utf-8")


def two_written_questions(student: str) -> SubmissionResult:
    """A result with written answers to two questions, the assignment's first question ("zeta") last in its checks
    and last alphabetically, so that neither the checks' order nor the names' can pass for the assignment's."""
    titles = {"zeta": "Q1 Why recurrence?", "alpha": "Q2 Why attention?"}
    checks = [CheckResult("alpha", "explain attention", 0, 2, "needs_review", "",
                          review=Review(kind="free_text", answer=f"{student} on attention", answer_sha=sha(student))),
              CheckResult("zeta", "explain recurrence", 0, 2, "needs_review", "",
                          review=Review(kind="free_text", answer=f"{student} on recurrence", answer_sha=sha(student)))]
    return SubmissionResult(student=student, assignment="hw", checks=checks, question_titles=titles)


def test_the_review_queue_goes_question_by_question_in_the_assignments_order(tmp_path):
    """TAs grade one question at a time: the CSV and the page list every answer to Q1, then every answer to Q2."""
    results = [two_written_questions(s) for s in ("bob", "alice")]
    rows = rows_of(first_pass(tmp_path, results))
    assert [(r["question"], r["student"]) for r in rows] == [("zeta", "alice"), ("zeta", "bob"),
                                                              ("alpha", "alice"), ("alpha", "bob")]
    page = render_class_summary(results, title="hw", question_ids=["zeta", "alpha"],
                                question_titles=results[0].question_titles)
    items = re.findall(r'<article class="review-item" data-student="(\w+)" data-question="(\w+)"', page)
    assert items == [("alice", "zeta"), ("bob", "zeta"), ("alice", "alpha"), ("bob", "alpha")]
    headings = re.findall(r'<h4 class="review-question">([^<]+)<', page)
    assert [h.strip() for h in headings] == ["Q1 Why recurrence?", "Q2 Why attention?"]
