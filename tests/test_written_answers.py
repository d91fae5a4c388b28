"""Finding answer cells and reading their text (host side), and the math worker's time limit."""

import os
import signal
import threading
import time

import nbformat
import pytest

from gradekit.written.answers import find_answer, true_false
from gradekit.written.client import MathChecker
from reference.theory_rnn_attention import MATH


def notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def tagged(cell, answer_id: str):
    cell.metadata["tags"] = [f"answer:{answer_id}"]
    return cell


def test_markdown_answer():
    nb = notebook(nbformat.v4.new_markdown_cell("intro"), tagged(nbformat.v4.new_markdown_cell("$\\beta$"), "n"))
    answer = find_answer(nb, "n")
    assert (answer.text, answer.cell, answer.problem) == ("$\\beta$", 2, "")


def test_code_answer_is_read_with_ast_not_run():
    cell = tagged(nbformat.v4.new_code_cell('import os\nos.system("touch /tmp/pwned")\nanswer = r"\\sqrt{2}"'), "n")
    assert find_answer(notebook(cell), "n").text == "\\sqrt{2}"


def test_code_answer_without_a_string_says_how_to_write_one():
    answer = find_answer(notebook(tagged(nbformat.v4.new_code_cell("answer = 2 ** 0.5"), "n")), "n")
    assert "write the answer as a string" in answer.problem


def test_code_answer_with_a_syntax_error():
    answer = find_answer(notebook(tagged(nbformat.v4.new_code_cell('answer = r"\\beta'), "n")), "n")
    assert "not valid Python (line 1)" in answer.problem


def test_missing_cell_says_how_to_restore_the_tag():
    answer = find_answer(notebook(nbformat.v4.new_markdown_cell("$\\beta$")), "n")
    assert "no answer cell is tagged `answer:n`" in answer.problem and "Tags" in answer.problem


@pytest.mark.parametrize("source", ["", "   ", "YOUR ANSWER HERE", "### BEGIN SOLUTION\n### END SOLUTION"])
def test_empty_or_untouched_answer(source):
    answer = find_answer(notebook(tagged(nbformat.v4.new_markdown_cell(source), "n")), "n")
    assert answer.problem.startswith("not answered yet")


def test_unreadable_notebook():
    assert "could not be read" in find_answer(None, "n").problem


def test_answer_sha_changes_with_the_text():
    a = find_answer(notebook(tagged(nbformat.v4.new_markdown_cell("x"), "n")), "n")
    b = find_answer(notebook(tagged(nbformat.v4.new_markdown_cell("y"), "n")), "n")
    assert a.sha != b.sha and len(a.sha) == 64


@pytest.mark.parametrize("text", [
    "1. True\n2. False\n3. T\n4. f",
    "- 1. **True.** because\n- 2. **False.** no\n- 3: true\n- 4) FALSE",
    "TFTF",
    "T, F, T, F",
])
def test_true_false_layouts(text):
    assert true_false(text, 4) == ({1: True, 2: False, 3: True, 4: False}, "")


def test_true_false_names_the_statements_it_could_not_read():
    answers, problem = true_false("1. True\n3. False", 4)
    assert answers == {1: True, 3: False} and "statement(s) 2, 4" in problem


# -- the worker's limits -------------------------------------------------------------------------------------

def test_a_formula_that_runs_past_the_limit_goes_to_a_ta_and_the_next_one_is_checked():
    kind, spec = MATH["norm_x1"]
    with MathChecker(timeout=3) as checker:
        start = time.monotonic()
        slow = checker.check(kind, spec, r"2^{2^{2^{2^{40}}}}")
        print(f"\nslow formula stopped after {time.monotonic() - start:.1f} s")
        assert slow["verdict"] == "review" and "took longer than 3 s" in slow["message"]
        assert checker.check(kind, spec, r"\sqrt{2}\beta")["verdict"] == "correct"


def test_the_limit_counts_the_workers_cpu_time_not_the_clock():
    """On a busy machine an answer can wait seconds for a core: that wait (here, the worker stopped for longer
    than the limit) must not send a well-formed answer to a TA."""
    kind, spec = MATH["norm_x1"]
    with MathChecker(timeout=2) as checker:
        assert checker.check(kind, spec, r"\beta")["verdict"] == "wrong"  # started and warm
        pid = checker._proc.pid
        os.kill(pid, signal.SIGSTOP)
        resume = threading.Timer(3.0, os.kill, (pid, signal.SIGCONT))
        resume.start()
        try:
            assert checker.check(kind, spec, r"\sqrt{2}\beta")["verdict"] == "correct"
        finally:
            resume.join()


def test_a_worker_that_dies_costs_one_answer():
    kind, spec = MATH["norm_x1"]
    with MathChecker() as checker:
        assert checker.check(kind, spec, r"\beta")["verdict"] == "wrong"
        checker._proc.kill()
        checker._proc.wait()
        assert checker.check(kind, spec, r"\sqrt{2}\beta")["verdict"] == "correct"
