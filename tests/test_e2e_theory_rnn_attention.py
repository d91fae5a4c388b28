"""End to end: grade every example submission of theory_rnn_attention (a sandboxed kernel for the code
question, the written answers read from the notebook on the host and checked in the math worker) and assert
each one's exact per-question outcome; then record TA points in the CSV and see them reach the gradebook."""

import csv

import pytest

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.results import SubmissionResult

from e2e_examples import grade_examples, page_and_solution_tests, question, unasserted_deductions

pytestmark = pytest.mark.e2e

# Machine-graded points; the TA's share of each question is in TA_CHECKS.
FULL = {"cnn_vs_rnn": 0, "rnn_recurrence": 3, "attention_norms": 3, "attention_outputs": 7,
        "linear_attention_complexity": 3, "true_false": 5}
NOTHING = dict.fromkeys(FULL, 0)
ALL_FREE_TEXT = {"cnn_vs_rnn", "rnn_recurrence", "attention_outputs", "linear_attention_complexity"}

EXPECTED = {
    "solution": FULL,
    "answers_as_code_strings": FULL,
    "template": NOTHING,
    "answer_tag_removed": {**FULL, "attention_outputs": 5},
    # Seed 000: the recurrence right (\text{sigmoid}, X_{2i}, H_0), 2 beta for both norms, the limit given as
    # the exact y_2, all three limits right, O(T) right; no code, no true/false in its homework.
    "seed000": {**NOTHING, "rnn_recurrence": 3, "attention_norms": 1, "attention_outputs": 3,
                "linear_attention_complexity": 1},
    # Seed 001: a case-by-case answer goes to a TA; O(n) is accepted (the question allows n for T).
    "seed001": {**NOTHING, "linear_attention_complexity": 1},
    # Seed 002: statements 3 and 7 wrong.
    "seed002_true_false": {**NOTHING, "true_false": 4},
}

# Questions with an answer awaiting a TA, per submission.
AWAITING_TA = {
    "solution": ALL_FREE_TEXT,
    "answers_as_code_strings": ALL_FREE_TEXT,
    "answer_tag_removed": ALL_FREE_TEXT,
    "template": set(),
    "seed000": {"attention_outputs", "linear_attention_complexity"},
    "seed001": {"cnn_vs_rnn", "rnn_recurrence", "linear_attention_complexity"},
    "seed002_true_false": set(),
}

MESSAGES = {
    ("seed000", "attention_norms"): "the norms of orthogonal vectors do not add",  # its 2 beta, named
    ("answer_tag_removed", "attention_outputs"): "no answer cell is tagged `answer:y2_exact`",
    ("seed002_true_false", "true_false"): "statement 3 is False",
    ("template", "rnn_recurrence"): "not answered yet",
    # seed 000 wrote no self_attention, and gave the limit of y_1..y_3 as the exact y_2 (which keeps b, c, d, beta)
    ("seed000", "attention_outputs"): "your answer does not depend on b, beta, c, d; the expected answer does",
    ("seed000", "linear_attention_complexity"): "not answered yet: the answer cell",
    ("seed000", "true_false"): "not answered yet: the answer cell",
    ("seed001", "attention_norms"): "not answered yet: the answer cell",
    ("seed001", "attention_outputs"): "self_attention() (still raises NotImplementedError)",
    ("seed001", "linear_attention_complexity"): "not answered yet: the answer cell",
    ("seed001", "true_false"): "not answered yet: the answer cell",
    ("seed002_true_false", "rnn_recurrence"): "not answered yet: the answer cell",
    ("seed002_true_false", "attention_norms"): "not answered yet: the answer cell",
    ("seed002_true_false", "attention_outputs"): "not answered yet: the answer cell",
    ("seed002_true_false", "linear_attention_complexity"): "not answered yet: the answer cell",
}
# Deductions that are not the student's mistake to fix but an answer waiting for a person: asserted on their own.
SENT_TO_A_TA = {("seed001", "rnn_recurrence")}  # test_seed001_case_answer_goes_to_a_ta_with_the_reason


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def graded(reports) -> dict[str, SubmissionResult]:
    return grade_examples("theory_rnn_attention", reports)


@pytest.mark.parametrize("student", EXPECTED)
def test_per_question_points(graded, student):
    assert graded[student].question_scores() == pytest.approx(EXPECTED[student])


@pytest.mark.parametrize("student", AWAITING_TA)
def test_answers_awaiting_a_ta(graded, student):
    awaiting = {c.question for c in graded[student].checks if c.status == "needs_review"}
    assert awaiting == AWAITING_TA[student]


@pytest.mark.parametrize("student, qid", MESSAGES)
def test_feedback_names_the_mistake(graded, student, qid):
    messages = question(graded[student], qid).messages
    assert any(MESSAGES[student, qid] in m for m in messages), messages


def test_every_deduction_has_its_message_asserted():
    assert unasserted_deductions(EXPECTED, FULL, {**MESSAGES, **dict.fromkeys(SENT_TO_A_TA, "")}) == []


def test_seed002_both_wrong_statements_are_named(graded):
    messages = question(graded["seed002_true_false"], "true_false").messages
    assert [m.split(":")[0] for m in messages] == ["statement 3 is False", "statement 7 is True"]


def test_seed001_case_answer_goes_to_a_ta_with_the_reason(graded):
    check = next(c for c in graded["seed001"].checks if c.name == "y_T in closed form")
    assert check.status == "needs_review" and "case-by-case" in check.message
    assert check.review.kind == "math" and r"\begin{cases}" in check.review.answer


def test_each_math_answer_says_how_it_was_read(graded):
    check = next(c for c in graded["seed000"].checks if c.name == "y_T in closed form")
    assert check.passed and r"\sigma" in check.reading.parsed
    assert check.reading.example.startswith("at T = 4:") and "h_{0}" in check.reading.example


def test_ta_points_in_the_csv_reach_the_gradebook(graded, reports):
    """A TA fills `points` for the solution's free-text answers; rerunning with --resume regrades nothing and
    the gradebook shows full marks."""
    path = reports / "ta_review.csv"
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        if row["student"] == "solution":
            row["points"] = row["max_points"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assignment = load_assignment("theory_rnn_attention")
    results = run_batch(assignment.root / "examples" / "submissions" / "theory_rnn_attention", assignment,
                        reports, BatchOptions(jobs=1, quiet=True, resume=True))
    solution = next(r for r in results if r.student == "solution")
    assert solution.score == solution.max_score == 26
    gradebook = {r["student"]: r for r in csv.DictReader((reports / "gradebook.csv").open())}
    assert float(gradebook["solution"]["score"]) == 26
    assert float(gradebook["seed000"]["score"]) == 8  # untouched: its free text still awaits a TA


(test_feedback_page_shows_every_questions_points_and_messages, test_the_solution_passes_every_check,
 test_every_page_fits_the_screen_without_console_errors) = page_and_solution_tests(EXPECTED)
