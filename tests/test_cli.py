"""Tests for gradekit.cli: the terminal table a student reads, and the commands' exits and files (no kernels)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pty
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from gradekit.cli import UsageError, format_table, infer_assignment, main
from gradekit.datasets import bundled_splits, read_csv
from gradekit.results import Cause, CheckResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "student_template" / "rnn_sentiment.ipynb"
TITLES = {"q1": "Q1 build_vocab", "q2": "Q2 tokenize", "q3": "Q3 Embedding"}
Q3_MESSAGES = [f"Embedding problem number {i}" for i in range(1, 6)]


@pytest.fixture(autouse=True)
def project_root(monkeypatch):
    monkeypatch.setenv("GRADEKIT_ROOT", str(ROOT))


def check(question, name, points, max_points, message="", hidden=False):
    passed = points == max_points
    return CheckResult(question=question, name=name, points=points, max_points=max_points,
                       message="" if passed else message, hidden=hidden, status="passed" if passed else "failed")


def make_result(mode="check", **kwargs) -> SubmissionResult:
    checks = [
        check("q1", "counts words", 1, 1),
        check("q1", "ids are contiguous", 2, 2),
        check("q2", "maps words", 0.5, 0.5),
        check("q2", "unknown words", 0, 2, "unknown words should map to UNK_INDEX"),
        *[check("q3", f"check {i}", 0, 1, m) for i, m in enumerate(Q3_MESSAGES, start=1)],
    ]
    kwargs.setdefault("question_titles", TITLES)
    return SubmissionResult(student="jane", assignment="demo", checks=checks, mode=mode, **kwargs)


def question_line(table: str, title: str) -> str:
    [line] = [line for line in table.splitlines() if line.startswith(title)]
    return line


# ---------------------------------------------------------------------------------------------- format_table


def test_the_terminal_says_where_to_look_first_when_a_check_that_runs_other_questions_code_fails():
    learning = dataclasses.replace(check("q3", "learns", 0, 3, "classified 55% correctly; the threshold is 80%"),
                                   builds_on=("q1", "q2"))
    result = SubmissionResult(student="jane", assignment="demo", question_titles=TITLES, checks=[
        check("q1", "counts", 1, 1), check("q2", "unknown words", 0, 2, "map them to UNK_INDEX"), learning])
    lines = format_table(result).splitlines()
    assert "    - look first at Q2 tokenize (0/2): this check runs that code, which lost points too" in lines


def test_the_terminal_says_a_mistake_behind_several_questions_first_then_points_back_to_it():
    cause = Cause("KeyError: 'label'", "in your cell 9, line 2: batch['label']")
    failed = [dataclasses.replace(check(q, f"{q} check", 0, 1, f"{q}() raised KeyError: 'label'"), cause=cause)
              for q in ("q1", "q2", "q3")]
    lines = format_table(SubmissionResult(student="jane", assignment="demo", checks=failed,
                                          question_titles=TITLES)).splitlines()
    assert " ".join(line.strip() for line in lines[:2]) == (
        "start here: KeyError: 'label' (in your cell 9, line 2: batch['label']); it costs checks in Q1 build_vocab, "
        "Q2 tokenize and Q3 Embedding")
    assert "    - q1() raised KeyError: 'label'" in lines
    assert lines.count("    - the same mistake as under Q1 build_vocab: KeyError: 'label'") == 2


@pytest.mark.parametrize(("title", "points", "status"), [
    ("Q1 build_vocab", "3 / 3", "passed"),
    ("Q2 tokenize", "0.5 / 2.5", "partial"),
    ("Q3 Embedding", "0 / 5", "failed"),
])
def test_table_shows_every_question_with_points_and_status(title, points, status):
    line = question_line(format_table(make_result()), title)
    assert re.fullmatch(rf"{re.escape(title)}\s+{re.escape(points)}\s+{status}", line.strip())


def test_table_shows_the_failure_message_under_its_question():
    lines = format_table(make_result()).splitlines()
    q2 = lines.index(question_line("\n".join(lines), "Q2 tokenize"))
    assert lines[q2 + 1].strip() == "- unknown words should map to UNK_INDEX"


def test_table_shows_at_most_three_messages_per_question():
    table = format_table(make_result())
    assert [m for m in Q3_MESSAGES if m in table] == Q3_MESSAGES[:3]


def test_table_shows_no_messages_for_a_passed_question():
    lines = format_table(make_result()).splitlines()
    q1 = lines.index(question_line("\n".join(lines), "Q1 build_vocab"))
    assert lines[q1 + 1].startswith("Q2 tokenize")


def test_table_in_check_mode_says_public_checks():
    table = format_table(make_result(mode="check", hidden_left_out=3))
    assert "Score: 3.5 / 10.5 (public checks)" in table
    assert "3 hidden checks run when your course staff grades" in table


def test_table_in_check_mode_of_an_assignment_without_hidden_checks_says_so():
    table = format_table(make_result(mode="check", hidden_left_out=0))
    assert "no hidden checks; your course staff's grading runs these same checks" in table
    assert "hidden checks run" not in table


def test_table_in_batch_mode_says_all_checks():
    table = format_table(make_result(mode="batch"))
    assert "Score: 3.5 / 10.5 (all checks)" in table
    assert "public checks" not in table
    assert "Hidden checks" not in table


def test_table_wraps_long_messages_to_100_columns():
    result = SubmissionResult(student="s", assignment="a", question_titles={"q": "Q"},
                              checks=[check("q", "long", 0, 1, "word " * 60)])
    assert all(len(line) <= 100 for line in format_table(result).splitlines())


def test_table_shows_a_grading_error_notes_and_cell_errors():
    result = make_result(error="your notebook is not valid JSON", notes=["cell 4 was not run"],
                         cell_errors=[{"cell": 7, "ename": "NameError", "evalue": "name 'vocab' is not defined"}])
    table = format_table(result)
    assert "Could not grade: your notebook is not valid JSON" in table
    assert "note: cell 4 was not run" in table
    assert "note: cell 7 raised NameError: name 'vocab' is not defined" in table


def test_table_does_not_call_a_question_without_checks_failed():
    result = make_result(question_titles={**TITLES, "q4": "Q4 LSTM"})
    assert not question_line(format_table(result), "Q4 LSTM").rstrip().endswith("failed")


# ---------------------------------------------------------------------------------------------------- main


def test_check_of_a_missing_file_exits_2_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "missing.ipynb"]) == 2
    err = capsys.readouterr().err
    assert "missing.ipynb" in err
    assert "no such file" in err


def test_check_of_a_notebook_without_assignment_metadata_exits_2(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell("x = 1")]), path)
    assert main(["check", str(path)]) == 2
    assert "--assignment" in capsys.readouterr().err


def test_check_with_an_unknown_assignment_exits_2(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    nbformat.write(v4.new_notebook(), path)
    assert main(["check", str(path), "--assignment", "no_such_assignment"]) == 2
    assert "unknown assignment" in capsys.readouterr().err


def test_batch_of_a_missing_folder_exits_2(tmp_path, capsys):
    assert main(["batch", "/nonexistent", "--assignment", "rnn_sentiment", "--out", str(tmp_path / "out")]) == 2
    assert "/nonexistent" in capsys.readouterr().err


def test_batch_of_a_folder_without_notebooks_exits_2(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main(["batch", str(tmp_path / "subs"), "--assignment", "rnn_sentiment", "--out",
                 str(tmp_path / "out")]) == 2
    assert ".ipynb" in capsys.readouterr().err


def test_release_writes_the_student_notebook(tmp_path):
    assert main(["release", "--assignment", "rnn_sentiment", "--out", str(tmp_path)]) == 0
    written = nbformat.read(tmp_path / "rnn_sentiment.ipynb", as_version=4)
    committed = nbformat.read(TEMPLATE, as_version=4)
    assert [c.source for c in written.cells] == [c.source for c in committed.cells]
    assert written.metadata["gradekit"] == {"assignment": "rnn_sentiment"}


@pytest.fixture(scope="module")
def data_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("data-out")
    code = main(["data", "rnn_sentiment", "--out", str(out)])
    return code, out


def test_data_writes_train_and_valid_splits(data_out):
    code, out = data_out
    assert code == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "data/rnn_sentiment/train.csv", "data/rnn_sentiment/valid.csv"]


def test_data_written_are_real_csv_splits(data_out):
    _, out = data_out
    header, *rows = (out / "data" / "rnn_sentiment" / "train.csv").read_text(encoding="utf-8").splitlines()
    assert header == "review,sentiment"
    assert len(rows) == len(bundled_splits().train)


def test_data_never_writes_held_out_reviews(data_out):
    _, out = data_out
    written = {r.text for path in out.rglob("*.csv") for r in read_csv(path)}
    held_out = {r.text for r in bundled_splits().test}
    assert held_out
    assert sorted(held_out & written) == []


# ------------------------------------------------------------------------------------------ infer_assignment


def test_infer_assignment_reads_the_notebook_metadata(tmp_path):
    path = tmp_path / "released.ipynb"
    nbformat.write(v4.new_notebook(metadata={"gradekit": {"assignment": "rnn_sentiment"}}), path)
    assert infer_assignment(path, None) == "rnn_sentiment"


def test_infer_assignment_prefers_the_given_name(tmp_path):
    path = tmp_path / "released.ipynb"
    nbformat.write(v4.new_notebook(metadata={"gradekit": {"assignment": "rnn_sentiment"}}), path)
    assert infer_assignment(path, "other") == "other"


def test_infer_assignment_without_metadata_is_a_clear_usage_error(tmp_path):
    path = tmp_path / "plain.ipynb"
    nbformat.write(v4.new_notebook(), path)
    with pytest.raises(UsageError) as err:
        infer_assignment(path, None)
    assert "plain.ipynb" in str(err.value)
    assert "--assignment" in str(err.value)
    assert "rnn_sentiment" in str(err.value)  # the known assignments are listed


def test_infer_assignment_of_an_unreadable_notebook_says_what_is_wrong_with_the_file(tmp_path):
    """Not "pass --assignment": no assignment could grade a file that is not a notebook."""
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    with pytest.raises(UsageError, match="broken.ipynb is not valid JSON"):
        infer_assignment(path, None)


def test_check_of_a_zip_named_ipynb_says_it_is_a_zip(tmp_path, capsys):
    path = tmp_path / "hw.ipynb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hw/hw.ipynb", "{}")
    assert main(["check", str(path)]) == 2
    assert "hw.ipynb is a zip archive, not a notebook: unzip it" in capsys.readouterr().err


def test_batch_of_a_notebook_file_points_to_check(tmp_path, capsys):
    path = tmp_path / "ann.ipynb"
    nbformat.write(v4.new_notebook(), path)
    assert main(["batch", str(path), "--assignment", "rnn_sentiment", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "is a file; this command takes a folder of notebooks" in err and f"grade check {path}" in err


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_batch_refuses_a_job_count_below_one(tmp_path, capsys, jobs):
    with pytest.raises(SystemExit) as exit_:
        main(["batch", str(tmp_path), "--assignment", "rnn_sentiment", "--out", str(tmp_path / "o"), "--jobs", jobs])
    assert exit_.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_help_names_the_assignments_and_gives_examples(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    out = capsys.readouterr().out
    assert "one of: " in out and "rnn_sentiment" in out and "vit_fashion_mnist" in out
    assert "examples:" in out and "--resume" in out


def test_the_command_line_loads_without_torch():
    """`grade --help` must not wait seconds for torch: only the commands that grade import it."""
    code = "import sys, gradekit.cli; print('torch' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert found.stdout.strip() == "False"


@pytest.mark.e2e
def test_batch_exits_1_and_names_the_notebooks_that_could_not_be_graded(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "bob.ipynb").write_text("{ truncated")
    assert main(["batch", str(tmp_path / "subs"), "--assignment", "rnn_sentiment", "--out",
                 str(tmp_path / "out")]) == 1
    assert "1 notebook: 0 graded, 1 could not be graded (bob: see index.html)" in capsys.readouterr().out


def test_committed_template_names_its_assignment_for_check():
    assert infer_assignment(TEMPLATE, None) == "rnn_sentiment"


# ------------------------------------------------------------------------------- the commands, for real

THEORY = ROOT / "examples" / "submissions" / "theory_rnn_attention"


def grade_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.e2e
def test_check_of_a_good_notebook_exits_0_prints_the_table_and_writes_the_feedback(tmp_path):
    notebook = tmp_path / "mine.ipynb"
    shutil.copy(THEORY / "solution.ipynb", notebook)
    out = grade_cli("check", str(notebook), "--assignment", "theory_rnn_attention")
    assert out.returncode == 0, out.stderr[-2000:]
    # the solution earns every public machine-checked point; its 5 points of free text wait for a TA
    assert "Score: 16 / 21 (public checks, 5 awaiting a TA)" in out.stdout, out.stdout
    feedback = tmp_path / "mine.feedback.html"
    assert feedback.exists() and "Q3" in feedback.read_text() and f"Feedback page: {feedback}" in out.stdout


@pytest.mark.e2e
def test_check_in_a_terminal_shows_where_it_is_while_the_student_waits(tmp_path):
    """In a terminal, `check` says which cell runs, then which question is checked, on one line it rewrites; the
    table comes after, the line cleared."""
    notebook = tmp_path / "mine.ipynb"
    shutil.copy(THEORY / "solution.ipynb", notebook)
    controller, terminal = pty.openpty()
    with subprocess.Popen([sys.executable, str(ROOT / "grade.py"), "check", str(notebook), "--assignment",
                           "theory_rnn_attention"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=terminal, cwd=ROOT) as proc:
        os.close(terminal)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the child's end closes
            while chunk := os.read(controller, 1 << 16):
                shown += chunk
        out = proc.stdout.read().decode()
    os.close(controller)
    text = shown.decode(errors="replace")
    assert proc.returncode == 0 and "Score: 16 / 21" in out
    assert "running the course's set-up (1 of " in text and "running cell " in text
    assert "checking Q1 " in text and text.index("running cell ") < text.index("checking Q1 ")
    assert "\r" in text and "\n  running" not in text  # one line, rewritten


@pytest.mark.e2e
def test_demo_grades_the_examples_into_reports(tmp_path):
    out = grade_cli("demo", "--assignment", "theory_rnn_attention", "--out", str(tmp_path / "reports"))
    assert out.returncode == 0, out.stderr[-2000:]
    reports = tmp_path / "reports" / "theory_rnn_attention"
    students = {p.stem for p in THEORY.glob("*.ipynb")}
    assert {p.stem for p in (reports / "results").glob("*.json")} == students
    assert (reports / "index.html").exists() and (reports / "gradebook.csv").exists()
    assert len((reports / "gradebook.csv").read_text().splitlines()) == len(students) + 1


def test_table_says_routine_notes_last_and_never_as_a_note_to_act_on():
    table = format_table(make_result(routine_notes=["cell 9 is a shell cell (!pip); it was not run"]))
    assert "note:" not in table
    assert table.splitlines()[-1] == ("How your notebook was run (nothing to fix): cell 9 is a shell cell (!pip); it "
                                      "was not run")
