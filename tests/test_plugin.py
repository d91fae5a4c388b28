"""Unit tests for gradekit.plugin: what a student reads when a check fails, and the whole plugin path
(grader files -> pytest -> CheckResults) through gradekit.runner.run_graders, with graders written here."""

from __future__ import annotations

import textwrap

import pytest
import torch

from gradekit.config import Assignment, Question
from gradekit.plugin import failure_message
from gradekit.proxy import (
    BadReply,
    MissingName,
    NotImplementedByStudent,
    StudentCodeError,
    Submission,
    SubmissionError,
    SubmissionTimeout,
    Unavailable,
)
from gradekit.results import Cause
from gradekit.runner import GraderError, run_graders

from toys import graders_folder

# ------------------------------------------------------------------------------------------ failure_message


def test_rewritten_assert_keeps_only_the_grader_message():
    got, expected = [4, 7, 1], [4, 7, 2]
    with pytest.raises(AssertionError) as info:
        assert got == expected, "tokenize returned the wrong ids for 'not bad'"
    assert "\nassert " in str(info.value)  # pytest really rewrote it (the test is meaningful)
    assert failure_message(info.value) == ("failed", "tokenize returned the wrong ids for 'not bad'")


def test_multi_line_grader_message_is_kept_without_the_explanation():
    with pytest.raises(AssertionError) as info:
        assert 1 == 2, "first line\nsecond line"
    status, message = failure_message(info.value)
    assert status == "failed"
    assert message.splitlines()[0] == "first line"
    assert message.splitlines()[1].strip() == "second line"  # pytest indents continuation lines
    assert "assert" not in message


def test_bare_rewritten_assert_says_check_failed_in_one_line():
    value = [1, 2, 3]
    with pytest.raises(AssertionError) as info:
        assert len(value) == 4
    status, message = failure_message(info.value)
    assert status == "failed"
    assert message.startswith("check failed: assert ")
    assert "\n" not in message


def test_empty_assertion_error_says_check_failed():
    assert failure_message(AssertionError()) == ("failed", "check failed")


def test_plain_assertion_message_without_explanation_is_kept():
    assert failure_message(AssertionError("shape should be (2, 3)")) == ("failed", "shape should be (2, 3)")


def test_pytest_fail_message_is_the_message():
    with pytest.raises(pytest.fail.Exception) as info:
        pytest.fail("LSTM(7, 5): could not find the four gates' weights")
    assert failure_message(info.value) == ("failed", "LSTM(7, 5): could not find the four gates' weights")


def test_not_implemented_by_student_has_its_own_status_and_text():
    exc = NotImplementedByStudent("tokenize(): not implemented yet (it still raises NotImplementedError)")
    assert failure_message(exc) == ("not_implemented", str(exc))


@pytest.mark.parametrize("exc", [
    MissingName("`tokenize`", "cell 10, which defines it, raised SyntaxError"),
    StudentCodeError("tokenize()", {"type": "IndexError", "message": "list index out of range"},
                     "in your cell 10, line 4: ids[5]"),
    SubmissionTimeout("LSTM(7, 5).forward ran past its 60 s limit"),
    Unavailable("the kernel died"),
    BadReply("the reply to tokenize() could not be read"),
    SubmissionError("a plain submission error"),
], ids=lambda e: type(e).__name__)
def test_submission_errors_fail_with_their_own_text(exc):
    assert failure_message(exc) == ("failed", str(exc))


def test_a_submission_error_names_its_cause_the_same_way_whichever_check_met_it():
    """So that reports say one mistake once: the same error at the same place, from two different calls."""
    first = StudentCodeError("tokenize()", {"type": "IndexError", "message": "list index out of range"},
                             "in your cell 10, line 4: ids[5]")
    second = StudentCodeError("build_vocab(texts)", {"type": "IndexError", "message": "list index out of range"},
                              "in your cell 10, line 4: ids[5]")
    assert str(first) != str(second)
    assert first.cause == second.cause == Cause("IndexError: list index out of range",
                                                "in your cell 10, line 4: ids[5]")
    assert MissingName("`tokenize`", "cell 10 raised").cause == Cause("`tokenize` is not defined in your notebook",
                                                                      "cell 10 raised")
    assert Unavailable("the kernel died").cause == Cause("the kernel died")
    assert SubmissionError("this check's own").cause is None


def test_student_code_error_text_names_the_error_and_the_place():
    exc = StudentCodeError("tokenize()", {"type": "IndexError", "message": "list index out of range"},
                           "in your cell 10, line 4: ids[5]")
    assert failure_message(exc)[1] == ("tokenize() raised IndexError: list index out of range\n"
                                       "  in your cell 10, line 4: ids[5]")


def nested_key_error():
    def inner(d):
        return d["hidden_state"]
    return inner({})


@pytest.mark.parametrize("make", [
    nested_key_error,
    lambda: torch.zeros(2, 3) @ torch.zeros(4, 5),
    lambda: 1 / 0,
    lambda: int("twelve"),
], ids=["KeyError", "RuntimeError", "ZeroDivisionError", "ValueError"])
def test_other_exceptions_are_errors_without_a_traceback(make):
    with pytest.raises(Exception) as info:  # noqa: B017 - each case raises its own type
        make()
    status, message = failure_message(info.value)
    assert status == "error"
    assert type(info.value).__name__ in message
    assert "Traceback" not in message
    assert 'File "' not in message
    assert "\n" not in message


def test_error_message_keeps_only_the_first_line_of_a_multi_line_exception():
    exc = RuntimeError("shape mismatch\nTraceback (most recent call last):\n  File \"/srv/graders/x.py\", line 3")
    status, message = failure_message(exc)
    assert status == "error"
    assert "shape mismatch" in message
    assert "/srv/graders" not in message


def test_no_exception_is_an_error_for_course_staff():
    status, message = failure_message(None)
    assert status == "error"
    assert "course staff" in message


# ------------------------------------------------------------------------------------- the full plugin path

GRADER = '''
from pathlib import Path

import pytest

HIDDEN_RAN = Path(__file__).with_name("hidden_ran")


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


@pytest.mark.question("q1", points=2)
def test_public_passes(submission, assignment):
    """Public check passes."""
    assert assignment.name == "demo"


@pytest.mark.question("q1", points=1.5, hidden=True)
def test_hidden_check(submission):
    HIDDEN_RAN.write_text("ran")


@pytest.mark.question("q2", points=3)
def test_calls_the_student(submission):
    submission.call("tokenize", "some text")


@pytest.mark.question("q2")
def test_failing_assert():
    ids = [1, 2]
    assert ids == [1, 3], "the ids are off by one"


@pytest.mark.question(id="q3", points=0.5)
@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1, f"n was {n}"


@pytest.mark.question("q3", points=1)
def test_grader_bug():
    raise KeyError("oops")


@pytest.mark.question("q3", points=1)
def test_fixture_error(broken):
    pass


@pytest.mark.question("q4", points=2, hidden=True)
def test_hidden_skip():
    pytest.skip("needs a GPU")
'''

# name -> (question, points when passed, max points, hidden)
EXPECTED = {
    "Public check passes": ("q1", 2.0, 2.0, False),
    "hidden check": ("q1", 1.5, 1.5, True),
    "calls the student": ("q2", 0.0, 3.0, False),
    "failing assert": ("q2", 0.0, 1.0, False),
    "param [1]": ("q3", 0.5, 0.5, False),
    "param [2]": ("q3", 0.0, 0.5, False),
    "grader bug": ("q3", 0.0, 1.0, False),
    "fixture error": ("q3", 0.0, 1.0, False),
    "hidden skip": ("q4", 0.0, 2.0, True),
}
HIDDEN_NAMES = {name for name, row in EXPECTED.items() if row[3]}


def make_assignment(root, name="demo", files=None) -> Assignment:
    assignment = Assignment(name=name, title="Demo", root=root, notebook=f"{name}.ipynb",
                            questions=[Question(q, q.upper()) for q in ("q1", "q2", "q3", "q4")])
    graders_folder(root, name)
    for filename, text in (files or {}).items():
        (assignment.graders / filename).write_text(textwrap.dedent(text))
    return assignment


def unavailable() -> Submission:
    return Submission(None, unavailable="your notebook could not be run: reason")


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    assignment = make_assignment(tmp_path_factory.mktemp("batch"), files={"test_checks.py": GRADER})
    results = run_graders(assignment, unavailable(), "batch", None).checks
    return assignment, {r.name: r for r in results}, results


@pytest.fixture(scope="module")
def check_run(tmp_path_factory):
    assignment = make_assignment(tmp_path_factory.mktemp("check"), files={"test_checks.py": GRADER})
    results = run_graders(assignment, unavailable(), "check", None).checks
    return assignment, {r.name: r for r in results}, results


def test_batch_gives_one_result_per_test(batch_run):
    _, by_name, results = batch_run
    assert len(results) == len(EXPECTED)
    assert set(by_name) == set(EXPECTED)


def test_batch_results_carry_question_ids_points_and_hidden_flags(batch_run):
    _, by_name, _ = batch_run
    got = {name: (r.question, r.points, r.max_points, r.hidden) for name, r in by_name.items()}
    assert got == EXPECTED


def test_batch_runs_hidden_checks(batch_run):
    assignment, by_name, _ = batch_run
    assert (assignment.graders / "hidden_ran").exists()
    assert by_name["hidden check"].passed


def test_passing_check_has_status_passed(batch_run):
    result = batch_run[1]["Public check passes"]
    assert (result.passed, result.status) == (True, "passed")


def test_unavailable_submission_fails_checks_with_its_reason(batch_run):
    result = batch_run[1]["calls the student"]
    assert (result.passed, result.status, result.message) == (
        False, "failed", "your notebook could not be run: reason")


def test_failing_grader_assert_reads_as_its_message(batch_run):
    result = batch_run[1]["failing assert"]
    assert (result.status, result.message) == ("failed", "the ids are off by one")


def test_each_parametrized_case_is_its_own_check(batch_run):
    by_name = batch_run[1]
    assert by_name["param [1]"].passed
    assert (by_name["param [2]"].passed, by_name["param [2]"].message) == (False, "n was 2")


def test_grader_exception_is_an_error_not_a_failure(batch_run):
    result = batch_run[1]["grader bug"]
    assert result.status == "error"
    assert "KeyError" in result.message


def test_fixture_setup_error_gives_an_error_result(batch_run):
    result = batch_run[1]["fixture error"]
    assert (result.passed, result.status) == (False, "error")
    assert "fixture broke" in result.message


def test_skipped_check_is_reported_with_its_reason(batch_run):
    result = batch_run[1]["hidden skip"]
    assert (result.passed, result.status, result.message) == (False, "skipped", "needs a GPU")


def test_check_mode_reports_public_checks_only(check_run):
    _, by_name, results = check_run
    assert set(by_name) == set(EXPECTED) - HIDDEN_NAMES
    assert not any(r.hidden for r in results)


def test_check_mode_does_not_run_hidden_checks_at_all(check_run):
    assignment, _, _ = check_run
    assert not (assignment.graders / "hidden_ran").exists()


def test_check_mode_public_results_match_batch(check_run, batch_run):
    check = {n: (r.points, r.status, r.message) for n, r in check_run[1].items()}
    batch = {n: (r.points, r.status, r.message) for n, r in batch_run[1].items() if n not in HIDDEN_NAMES}
    assert check == batch


def test_test_without_question_marker_raises_grader_error(tmp_path):
    assignment = make_assignment(tmp_path, files={"test_unmarked.py": """
        import pytest

        @pytest.mark.question("q1")
        def test_marked():
            pass

        def test_unmarked():
            pass
    """})
    with pytest.raises(GraderError):
        run_graders(assignment, unavailable(), "batch", None)


def test_grader_file_that_does_not_import_raises_grader_error(tmp_path):
    assignment = make_assignment(tmp_path, files={"test_broken.py": "import pytest\ndef test_x(:\n    pass\n"})
    with pytest.raises(GraderError):
        run_graders(assignment, unavailable(), "batch", None)


def test_missing_graders_folder_raises_grader_error(tmp_path):
    assignment = Assignment(name="nothing", title="Nothing", root=tmp_path, notebook="n.ipynb",
                            questions=[Question("q1", "Q1")])
    with pytest.raises(GraderError):
        run_graders(assignment, unavailable(), "batch", None)



def test_graders_of_different_assignments_do_not_share_local_modules():
    """rnn_sentiment's and vit_fashion_mnist's graders each import a local `workspace`: graded in one process one
    after the other, the second used to get the first's from sys.modules (and read IMDB for FashionMNIST)."""
    import sys as _sys
    from pathlib import Path

    from gradekit.config import load_assignment
    from gradekit.proxy import Submission
    from gradekit.runner import run_graders

    for name in ("rnn_sentiment", "vit_fashion_mnist"):
        assignment = load_assignment(name)
        run_graders(assignment, Submission(None, unavailable="no kernel in this test"), "check", None)
        assert Path(_sys.modules[f"graders.{name}.workspace"].__file__).parent == assignment.graders


IMPORT_COUNTER = """
    import pathlib

    import pytest

    with (pathlib.Path(__file__).parent / "imports.txt").open("a") as counter:
        counter.write("x")

    @pytest.mark.question("q1", points=1)
    def test_q1():
        pass
"""


ONE_CHECK = """
    import pytest

    @pytest.mark.question("q1", points=1)
    def test_q1():
        pass
"""


def test_graders_are_imported_once_per_process(tmp_path):
    """A warm worker grades notebook after notebook: the graders' modules are imported for the first only (each
    run still builds every fixture afresh), and pytest collects the very modules graders_package imported."""
    assignment = make_assignment(tmp_path, files={"test_count.py": IMPORT_COUNTER})
    for _ in range(3):
        assert [r.points for r in run_graders(assignment, unavailable(), "batch", None).checks] == [1.0]
    assert (assignment.graders / "imports.txt").read_text() == "x"


def test_a_root_with_an_assignment_of_the_same_name_gets_its_own_graders(tmp_path):
    """Two course roots graded in one process: the second root's `graders` package replaces the first's."""
    first = make_assignment(tmp_path / "one", files={"test_a.py": ONE_CHECK})
    second = make_assignment(tmp_path / "two", files={"test_a.py": ONE_CHECK.replace("points=1", "points=3")})
    assert [r.max_points for r in run_graders(first, unavailable(), "batch", None).checks] == [1.0]
    assert [r.max_points for r in run_graders(second, unavailable(), "batch", None).checks] == [3.0]


def test_a_graders_folder_that_is_not_a_package_is_a_grader_error(tmp_path):
    assignment = make_assignment(tmp_path, files={"test_a.py": ONE_CHECK})
    (assignment.graders / "__init__.py").unlink()
    with pytest.raises(GraderError, match="is not a package: create an empty .*__init__.py"):
        run_graders(assignment, unavailable(), "batch", None)


def test_a_check_says_which_questions_code_it_runs(tmp_path):
    assignment = make_assignment(tmp_path, files={"test_a.py": """
        import pytest

        @pytest.mark.question("q4", points=1, builds_on=("q1", "q2"))
        def test_learns():
            assert False, "did not learn"
    """})
    [check] = run_graders(assignment, unavailable(), "batch", None).checks
    assert check.builds_on == ("q1", "q2")


def test_a_self_check_counts_the_hidden_checks_it_left_out(tmp_path):
    """So that its feedback can say how many the staff's grading adds, or that it adds none."""
    assignment = make_assignment(tmp_path, files={"test_checks.py": GRADER})
    assert run_graders(assignment, unavailable(), "check", None).hidden_left_out == 2
    assert run_graders(assignment, unavailable(), "batch", None).hidden_left_out == 0


def test_the_graders_say_each_question_as_its_checks_start(tmp_path):
    """For a student waiting on `grade check`: one step per question, in the order the checks run."""
    steps = []
    assignment = make_assignment(tmp_path, files={"test_checks.py": GRADER})
    run_graders(assignment, unavailable(), "batch", None, on_step=steps.append)
    assert [s.phase for s in steps] == ["question"] * len(steps)
    assert [s.index for s in steps] == list(range(1, len(steps) + 1)) and steps[0].total == len(steps) > 1
    assert len({s.label for s in steps}) == len(steps)


def test_cases_of_numbers_are_named_by_their_parameters_and_cases_of_words_by_the_word(tmp_path):
    """pytest's own ids for (5, 3) and ((),) are `5-3` and `()`: a student reads `seq_len=5, batch=3`. One number
    or one word is its own name ("Statement [3]", an answer's id), and an id the grader gave is kept."""
    assignment = make_assignment(tmp_path, files={"test_cases.py": """
        import pytest

        @pytest.mark.parametrize("seq_len, batch", [(5, 3)])
        @pytest.mark.question("q1", points=1)
        def test_shapes(seq_len, batch):
            \"\"\"Output shapes\"\"\"

        @pytest.mark.parametrize("index_shape, scale, packed", [((), 0.5, True), ((7,), 2.0, False)])
        @pytest.mark.question("q1", points=1)
        def test_more(index_shape, scale, packed):
            \"\"\"More shapes\"\"\"

        @pytest.mark.parametrize("answer_id", ["norm_x1"])
        @pytest.mark.question("q2", points=1)
        def test_answer(answer_id):
            \"\"\"The answer\"\"\"

        @pytest.mark.parametrize("n", [3, 257], ids=lambda n: "one" if n == 3 else str(n))
        @pytest.mark.question("q2", points=1)
        def test_number(n):
            \"\"\"Statement\"\"\"
    """})
    names = [c.name for c in run_graders(assignment, unavailable(), "batch", None).checks]
    assert names == ["Output shapes [seq_len=5, batch=3]", "More shapes [index_shape=(), scale=0.5, packed=True]",
                     "More shapes [index_shape=(7,), scale=2, packed=False]", "The answer [norm_x1]",
                     "Statement [one]", "Statement [257]"]


@pytest.mark.parametrize("name", ["rnn_sentiment", "vit_fashion_mnist", "bert_gru_sentiment", "rnn_experiments",
                                  "theory_rnn_attention"])
def test_every_builds_on_names_a_question_of_its_assignment(name):
    """A misspelt id would never point anywhere, silently."""
    import ast

    from gradekit.config import load_assignment

    assignment = load_assignment(name)
    named = []
    for path in assignment.graders.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "builds_on":
                named += [ast.literal_eval(e) for e in node.value.elts]
    assert set(named) <= set(assignment.question_ids), set(named) - set(assignment.question_ids)
    if name != "theory_rnn_attention":
        assert named, "its learning check runs other questions' code"
