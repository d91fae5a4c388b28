"""End to end: grade every example submission of rnn_sentiment through the batch path (worker processes,
sandboxed kernels, real graders, real reports) and assert each one's exact per-question outcome."""

import csv
import json

import pytest

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.results import SCHEMA, SubmissionResult
from gradekit.runner import grade_notebook

from e2e_examples import page_and_solution_tests, unasserted_deductions

pytestmark = pytest.mark.e2e

FULL = {"build_vocab": 6, "tokenize": 4, "embedding": 5, "lstm": 5, "rnn_classifier": 5, "binary_accuracy": 4,
        "train_evaluate": 5, "param_count": 2, "accuracy_threshold": 3}

EXPECTED = {
    "solution": FULL,
    "pip_install_and_dead_import": FULL,
    "template": dict.fromkeys(FULL, 0),
    # train_evaluate 5, not 4: train and evaluate are right and average what binary_accuracy says; its missing
    # sigmoid is charged once, on binary_accuracy (issue 11: the question the mistake is in)
    "binary_accuracy_no_sigmoid": {**FULL, "binary_accuracy": 0},
    "classifier_over_padded_steps": {**FULL, "param_count": 1, "accuracy_threshold": 0},
    "embedding_padding_learns": {**FULL, "embedding": 4},
    "lstm_h_from_old_cell_state": {**FULL, "lstm": 2},
    "lstm_ignores_padding": {**FULL, "lstm": 4, "rnn_classifier": 3, "accuracy_threshold": 0},
    # build_vocab 3.5, not 4 (issue 10): the capitalised-stop-words rule case is drawn per run now, with the stop
    # word capitalised often enough to be counted, so this notebook's mistake (stop words checked before
    # lower-casing) fails it, as the case was meant to; the old fixed case had it twice, below min_freq
    "vocab_case_and_tokenize_indentation": {**FULL, "build_vocab": 3.5, "tokenize": 0},
}

# (student, question) -> words its feedback must contain, so a student knows what to fix.
MESSAGES = {
    ("binary_accuracy_no_sigmoid", "binary_accuracy"): "apply a sigmoid before rounding",
    ("classifier_over_padded_steps", "param_count"): "2,883,177 trainable parameters, expected 2,867,049",
    ("classifier_over_padded_steps", "accuracy_threshold"): "the threshold is 85%",
    ("embedding_padding_learns", "embedding"): "the padding row receives gradient",
    ("lstm_h_from_old_cell_state", "lstm"): "then h = o * tanh(c) with the new c",
    ("lstm_ignores_padding", "lstm"): "keep its h and c unchanged",
    ("lstm_ignores_padding", "rnn_classifier"): "padded to 9 words",
    ("vocab_case_and_tokenize_indentation", "build_vocab"): "stop words must be dropped after lower-casing",
    ("vocab_case_and_tokenize_indentation", "tokenize"): "cell 10, which defines it, raised SyntaxError",
    ("lstm_ignores_padding", "accuracy_threshold"): "the threshold is 85%",
}


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("rnn_sentiment")


@pytest.fixture(scope="module")
def reports(assignment, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    run_batch(assignment.root / "examples" / "submissions" / "rnn_sentiment", assignment, out,
              BatchOptions(jobs=2, quiet=True))
    return out


@pytest.fixture(scope="module")
def graded(reports) -> dict[str, SubmissionResult]:
    return {p.stem: SubmissionResult.read_json(p) for p in (reports / "results").glob("*.json")}


def test_every_example_is_graded(graded):
    assert set(graded) == set(EXPECTED)


@pytest.mark.parametrize("student", EXPECTED)
def test_per_question_points(graded, student):
    assert graded[student].question_scores() == pytest.approx(EXPECTED[student])


@pytest.mark.parametrize("student, question", MESSAGES)
def test_feedback_names_the_mistake(graded, student, question):
    q = next(q for q in graded[student].questions() if q.id == question)
    assert any(MESSAGES[student, question] in m for m in q.messages), q.messages


@pytest.mark.parametrize("question", FULL)
def test_template_has_one_not_implemented_message_per_question(graded, question):
    q = next(q for q in graded["template"].questions() if q.id == question)
    assert len(q.messages) == 1 and q.messages[0].startswith("not implemented yet"), q.messages


def test_template_is_graded_without_a_crash(graded):
    assert graded["template"].error is None


def test_gate_order_is_reported(graded):
    def recurrence(student):
        return next(c for c in graded[student].checks if c.name.startswith("Every time step"))

    assert recurrence("solution").message.endswith("i, f, g, o")
    assert recurrence("lstm_ignores_padding").message.endswith("f, i, o, g")  # seed 003's layout


def test_last_years_notebook_is_graded_despite_dead_cells(graded):
    r = graded["pip_install_and_dead_import"]
    assert any("shell commands" in n for n in r.routine_notes)
    assert any(e["ename"] == "ModuleNotFoundError" for e in r.cell_errors)


def test_gradebook(reports, graded):
    with open(reports / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "score", "max_score", "status", "awaiting_ta", *FULL]
    assert [r["student"] for r in rows] == sorted(EXPECTED)
    solution = next(r for r in rows if r["student"] == "solution")
    assert float(solution["score"]) == float(solution["max_score"]) == sum(FULL.values())


def test_results_json_follows_the_schema(reports):
    data = json.loads((reports / "results" / "solution.json").read_text())
    assert data["schema"] == SCHEMA
    fields = {"question", "name", "points", "max_points", "passed", "message", "hidden", "status"}
    assert fields <= set(data["checks"][0])
    assert any(c["hidden"] for c in data["checks"])


@pytest.mark.parametrize("page", ["index.html", "feedback/solution.html", "feedback/template.html"])
def test_reports_are_written(reports, page):
    assert "</html>" in (reports / page).read_text()


def test_check_mode_runs_public_checks_only(assignment):
    result = grade_notebook(assignment.root / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb",
                            assignment, mode="check")
    assert result.checks and not any(c.hidden for c in result.checks)
    assert result.score == result.max_score < sum(FULL.values())
    assert result.hidden_left_out > 0 and result.assignment_title == assignment.title


def test_grading_an_unchanged_notebook_again_draws_the_same_held_out_reviews(assignment, reports, monkeypatch):
    """The batch above and a second grading of the same file measure the same held-out accuracy (the draws come
    from the course secret and the notebook, gradekit.seeds); another course secret draws other reviews."""
    path = assignment.root / "examples" / "submissions" / "rnn_sentiment" / "binary_accuracy_no_sigmoid.ipynb"
    first = SubmissionResult.read_json(reports / "results" / "binary_accuracy_no_sigmoid.json")

    def measured(result: SubmissionResult) -> str:
        return next(c.message for c in result.checks if c.question == "accuracy_threshold")

    again = grade_notebook(path, assignment)
    assert again.question_scores() == first.question_scores()
    assert measured(again) == measured(first) and "held-out accuracy" in measured(first)
    monkeypatch.setenv("GRADEKIT_SECRET", "another course")
    assert measured(grade_notebook(path, assignment)) != measured(first)


def test_real_data_option_trains_and_calibrates_on_that_data(assignment, tmp_path, monkeypatch):
    """--data with an IMDB-style CSV: the notebook reads it, and the threshold comes from the reference on it."""
    from gradekit.datasets.sentiment import generate_corpus, write_csv

    monkeypatch.setenv("HOME", str(tmp_path))  # the threshold cache lives under ~/.cache
    data = tmp_path / "IMDB Dataset.csv"
    write_csv(generate_corpus(3000, seed=5), data)
    result = grade_notebook(assignment.root / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb",
                            assignment, data=data)
    learn = next(c for c in result.checks if c.question == "accuracy_threshold")
    assert result.score == result.max_score, [c.message for c in result.checks if not c.passed]
    assert "the reference reaches" in learn.message


def test_a_corrupt_notebook_does_not_stop_the_batch(assignment, tmp_path):
    """A truncated file and a binary file beside a good notebook: all three get a row; only the good one scores."""
    import shutil

    folder = tmp_path / "submissions"
    folder.mkdir()
    solution = assignment.root / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb"
    shutil.copy(solution, folder / "alice.ipynb")
    (folder / "bob.ipynb").write_text(solution.read_text()[:5000])
    (folder / "carol.ipynb").write_bytes(bytes(range(256)) * 40)
    results = {r.student: r for r in run_batch(folder, assignment, tmp_path / "out", BatchOptions(jobs=2, quiet=True))}
    assert results["alice"].score == sum(FULL.values())
    assert "not valid JSON" in results["bob"].error and results["bob"].score == 0
    assert "does not look like a Jupyter notebook" in results["carol"].error
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(row["student"], row["status"], row["score"]) for row in rows] == [
        ("alice", "graded", "39"), ("bob", "not graded", ""), ("carol", "not graded", "")]


def test_every_deduction_has_its_message_asserted():
    assert not unasserted_deductions(EXPECTED, FULL, MESSAGES)


(test_feedback_page_shows_every_questions_points_and_messages, test_the_solution_passes_every_check,
 test_every_page_fits_the_screen_without_console_errors) = page_and_solution_tests(EXPECTED)
