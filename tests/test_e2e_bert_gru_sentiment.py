"""End to end: grade every example submission of bert_gru_sentiment (offline MiniLM, sandboxed kernels, the
learning check on cached frozen-BERT features) and assert each one's exact per-question outcome."""

import time

import pytest

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.results import SubmissionResult

pytestmark = pytest.mark.e2e

FULL = {"tokenizer": 6, "data_split": 2.5, "model_init": 5, "param_count": 2, "param_count_frozen": 3,
        "binary_accuracy": 4, "train": 4, "evaluate": 3, "training_loop": 3.5, "predict_sentiment": 4.5,
        "accuracy_threshold": 3}

EXPECTED = {
    "solution": FULL,
    "template": dict.fromkeys(FULL, 0),
    "bert_not_frozen": {**FULL, "param_count_frozen": 0},
    "evaluate_still_trains": {**FULL, "evaluate": 2},
    "fit_saves_every_epoch": {**FULL, "training_loop": 1.5},
    "predict_without_special_tokens": {**FULL, "predict_sentiment": 2.5},
    "seed001_max_model_input_sizes": {**FULL, "tokenizer": 3.5, "predict_sentiment": 0.5},
}

MESSAGES = {
    ("bert_not_frozen", "param_count_frozen"):
        "Q2c: 112,241,409 trainable parameters, expected 2,759,169: BERT is not frozen (every bert.* parameter "
        "must have requires_grad=False)",
    ("evaluate_still_trains", "evaluate"): "wrap the loop in `with torch.no_grad():`",
    ("fit_saves_every_epoch", "training_loop"): "should hold epoch 2's weights, it holds epoch 4's",
    ("predict_without_special_tokens", "predict_sentiment"): "expected (1, 7)",
    ("seed001_max_model_input_sizes", "tokenizer"):
        "cell 6, which defines it, raised AttributeError: BertTokenizer has no attribute max_model_input_sizes",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assignment = load_assignment("bert_gru_sentiment")
    out = tmp_path_factory.mktemp("reports")
    start = time.monotonic()
    results = run_batch(assignment.root / "examples" / "submissions" / "bert_gru_sentiment", assignment, out,
                        BatchOptions(jobs=2, quiet=True))
    print(f"\ngraded {len(results)} bert_gru_sentiment notebooks in {time.monotonic() - start:.1f} s")
    return {r.student: r for r in results}


@pytest.mark.parametrize("student", EXPECTED)
def test_per_question_points(graded: dict[str, SubmissionResult], student):
    assert graded[student].question_scores() == pytest.approx(EXPECTED[student])


@pytest.mark.parametrize("student, question", MESSAGES)
def test_feedback_names_the_mistake(graded, student, question):
    q = next(q for q in graded[student].questions() if q.id == question)
    assert any(MESSAGES[student, question] in m for m in q.messages), q.messages


@pytest.mark.parametrize("question", FULL)
def test_template_has_one_not_implemented_message_per_question(graded, question):
    q = next(q for q in graded["template"].questions() if q.id == question)
    assert len(q.messages) == 1 and q.messages[0].startswith("not implemented yet"), q.messages


def test_downloads_are_replaced_offline(graded):
    notes = " ".join(graded["solution"].notes)
    assert "replaced by the course's offline set-up" in notes
    assert not graded["solution"].cell_errors


def test_learning_check_reports_the_accuracy(graded):
    check = next(c for c in graded["solution"].checks if c.question == "accuracy_threshold")
    assert check.passed and "held-out accuracy" in check.message
