"""End to end: grade every example submission of rnn_experiments through the batch path (worker processes,
sandboxed kernels, the report read from the notebook files, the re-run of the study in the kernels) and assert
each one's exact per-question outcome; then a TA's points for the conclusions reach the gradebook."""

import csv

import pytest

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.runner import grade_notebook

from e2e_examples import grade_examples, page_and_solution_tests, question, unasserted_deductions

pytestmark = pytest.mark.e2e

# Machine-graded points; each of the four conclusions' explanations (1 point) awaits a TA on top.
FULL = {"split_data": 3, "dataset": 3, "collate": 3, "lstm_classifier": 4.5, "gru_classifier": 4.5, "param_count": 3,
        "train_and_test": 5, "learning": 4, "report_curves": 2, "report_table": 3, "report_conclusions": 2,
        "report_rerun": 3}
TA_POINTS = 4

EXPECTED = {
    "solution": FULL,
    "template": dict.fromkeys(FULL, 0),
    # Correct code written another way (a stratified scikit-learn split, a time-first LSTM read with
    # h_n.view(...)[-1], a GRU with the backward direction first), and the table as a DataFrame.
    "stratified_time_first": FULL,
    "table_as_dataframe": FULL,
    # Seed 002's LSTM: the linear layer over every padded step. Shapes and padding still pass; the logits, the
    # counts and the learning do not. Its Adam still beats SGD by more than the margin, so the report holds.
    "classifier_over_padded_steps": {**FULL, "lstm_classifier": 3, "param_count": 1.5, "learning": 2},
    # Seed 002's GRU with an nn.GRU as the embedding: every GRU check fails with one message.
    "gru_as_embedding": {**FULL, "gru_classifier": 0, "param_count": 1.5, "learning": 2},
    # The label stays the string: Q2 fails, the training function cannot run on that data, nor can the re-run.
    "label_as_string": {**FULL, "dataset": 2, "train_and_test": 3, "report_rerun": 0},
    # Lengths lost in collate: Q3 fails; Q7 runs on the graders' own collate and passes.
    "collate_loses_lengths": {**FULL, "collate": 2},
    "conclusion_contradicts_table": {**FULL, "report_conclusions": 1.5},
    "table_typed_in": {**FULL, "report_rerun": 0},
}

# (student, question) -> words its feedback must contain, so a student knows what to fix.
MESSAGES = {
    ("classifier_over_padded_steps", "lstm_classifier"): "it reads every (padded) time step's output",
    ("classifier_over_padded_steps", "param_count"): "5,475,152 trainable parameters, expected 5,398,652: 76,500 "
                                                     "more, what a linear layer over 256 time steps adds",
    ("classifier_over_padded_steps", "learning"): "the threshold is 85%",
    ("gru_as_embedding", "gru_classifier"): "(`embedding` is a recurrent layer, not an embedding)",
    ("gru_as_embedding", "param_count"): "has 62,002 trainable parameters, expected 64,675",
    ("gru_as_embedding", "learning"): "embedded = self.dropout(self.embedding(ids))",
    ("label_as_string", "dataset"): "is the string",
    ("label_as_string", "train_and_test"): "a 'label' that is not an integer (see Q2)",
    ("label_as_string", "report_rerun"): "too many dimensions 'str'",
    ("collate_loses_lengths", "collate"): "that is the padded length, for every review",
    ("conclusion_contradicts_table", "report_conclusions"): "the layers conclusion names 4 as best, but your table "
                                                            "ranks 2 best",
    ("table_typed_in", "report_rerun"): "your table has SGD and Adam within 0.02 of each other in test accuracy "
                                        "(SGD 0.861, Adam 0.884), but re-running both with your code puts Adam ahead",
    ("template", "report_table"): "not answered yet: the results table cell",
    ("template", "report_curves"): "no curves yet",
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def graded(reports):
    return grade_examples("rnn_experiments", reports)


@pytest.mark.parametrize("student", EXPECTED)
def test_per_question_points(graded, student):
    assert graded[student].question_scores() == pytest.approx(EXPECTED[student])


@pytest.mark.parametrize("student", EXPECTED)
def test_explanations_await_a_ta(graded, student):
    awaiting = [c for c in graded[student].checks if c.status == "needs_review"]
    assert len(awaiting) == (0 if student == "template" else 4)
    assert all(c.question == "report_conclusions" and c.review.kind == "free_text" for c in awaiting)


@pytest.mark.parametrize("student, qid", MESSAGES)
def test_feedback_names_the_mistake(graded, student, qid):
    messages = question(graded[student], qid).messages
    assert any(MESSAGES[student, qid] in m for m in messages), messages


@pytest.mark.parametrize("qid", FULL)
def test_template_has_one_message_per_question(graded, qid):
    assert len(question(graded["template"], qid).messages) == 1, question(graded["template"], qid).messages


@pytest.mark.parametrize("student", ["gru_as_embedding", "label_as_string"])
def test_a_broken_piece_is_one_message(graded, student):
    qid = "gru_classifier" if student == "gru_as_embedding" else "dataset"
    assert len(question(graded[student], qid).messages) == 1


def test_the_rerun_shows_the_students_curves_next_to_its_own(graded, reports):
    check = next(c for c in graded["solution"].checks if c.question == "report_rerun")
    assert [f.kind for f in check.figures] == ["png", "svg"]
    assert "your optimizer curves" in check.figures[0].title and b"SGD train" in check.figures[1].data
    page = (reports / "feedback" / "solution.html").read_text()
    assert page.count('src="data:image/png;base64,') == 5  # four curve cells, and the optimizer's again
    # the re-run's chart, and each learning check's (LSTM, GRU) held-out confusion matrix and training loss
    assert page.count('src="data:image/svg+xml;base64,') == 5
    learning = [f.title for c in graded["solution"].checks if c.question == "learning" for f in c.figures]
    assert learning == ["Training loss, step by step", "Your LSTMClassifier on the held-out set"] + [
        "Training loss, step by step", "Your GRUClassifier on the held-out set"]


def test_the_dataframe_table_is_read_as_one(graded):
    check = next(c for c in graded["table_as_dataframe"].checks if c.name == "The results table can be read")
    assert "from a DataFrame" in check.message


def test_ta_points_in_the_csv_reach_the_gradebook(graded, reports):
    """A TA fills `points` for the solution's four explanations; rerunning with --resume regrades nothing."""
    path = reports / "ta_review.csv"
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        if row["student"] == "solution":
            row["points"] = row["max_points"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assignment = load_assignment("rnn_experiments")
    results = run_batch(assignment.root / "examples" / "submissions" / "rnn_experiments", assignment, reports,
                        BatchOptions(jobs=1, quiet=True, resume=True))
    solution = next(r for r in results if r.student == "solution")
    assert solution.score == solution.max_score == sum(FULL.values()) + TA_POINTS
    gradebook = {r["student"]: r for r in csv.DictReader((reports / "gradebook.csv").open())}
    assert float(gradebook["solution"]["score"]) == sum(FULL.values()) + TA_POINTS


def test_check_mode_runs_public_checks_only():
    assignment = load_assignment("rnn_experiments")
    result = grade_notebook(assignment.root / "examples" / "submissions" / "rnn_experiments" / "solution.ipynb",
                            assignment, mode="check")
    assert result.checks and not any(c.hidden for c in result.checks)
    machine = sum(c.points for c in result.checks if c.status != "needs_review")
    assert machine == sum(c.max_points for c in result.checks if c.status != "needs_review") < sum(FULL.values())


def test_real_data_option_reads_that_data_and_calibrates_on_it(tmp_path, monkeypatch):
    """--data with an IMDB-style CSV: the notebook splits and trains on it, the re-run runs on it, and the learning
    threshold comes from the reference on it."""
    from gradekit.datasets.sentiment import generate_corpus, write_csv

    monkeypatch.setenv("HOME", str(tmp_path))  # the threshold cache lives under ~/.cache
    data = tmp_path / "IMDB Dataset.csv"
    write_csv(generate_corpus(3000, seed=5), data)
    assignment = load_assignment("rnn_experiments")
    result = grade_notebook(assignment.root / "examples" / "submissions" / "rnn_experiments" / "solution.ipynb",
                            assignment, data=data)
    machine = [c for c in result.checks if c.status != "needs_review"]
    assert all(c.passed for c in machine), [c.message for c in machine if not c.passed]
    learn = [c for c in result.checks if c.question == "learning"]
    assert learn and all("the reference reaches" in c.message for c in learn)


def test_every_deduction_has_its_message_asserted():
    assert not unasserted_deductions(EXPECTED, FULL, MESSAGES)


(test_feedback_page_shows_every_questions_points_and_messages, test_the_solution_passes_every_check,
 test_every_page_fits_the_screen_without_console_errors) = page_and_solution_tests(EXPECTED)
