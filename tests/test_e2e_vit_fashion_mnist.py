"""End to end: grade every example submission of vit_fashion_mnist (sandboxed kernels, the bundled 28x28 images,
the learning check) and assert each one's exact per-question outcome."""

import pytest

from gradekit.config import load_assignment
from gradekit.results import SubmissionResult

from e2e_examples import grade_examples, page_and_solution_tests, question, unasserted_deductions

pytestmark = pytest.mark.e2e

FULL = {"prenorm": 2, "feedforward": 2, "attention": 3.5, "transformer": 3, "vit_forward": 6, "param_count": 2,
        "train_epoch": 2, "evaluate": 2.5, "accuracy_threshold": 3}

EXPECTED = {
    "solution": FULL,
    "template": dict.fromkeys(FULL, 0),
    # Issue 11: train_epoch and evaluate run on the graders' probe model, the ViT is judged around the reference's
    # Transformer and the Transformer around the reference's blocks, so a mistake costs the question it is in
    # (and the learning check, which trains the student's whole model).
    "seed000_forward_inside_init": {**FULL, "transformer": 0, "accuracy_threshold": 0},
    "missing_class_token": {**FULL, "vit_forward": 2.5, "param_count": 0},
    "pos_embedding_one_short": {**FULL, "vit_forward": 1, "param_count": 0, "accuracy_threshold": 0},
    "attention_without_scale": {**FULL, "attention": 1, "accuracy_threshold": 0},
    "softmax_over_queries": {**FULL, "attention": 0.5},
    "evaluate_accuracy_as_count": {**FULL, "evaluate": 1},
}

MESSAGES = {
    ("seed000_forward_inside_init", "transformer"): "`def forward` is indented inside `__init__`",
    ("missing_class_token", "vit_forward"): "pos_embedding should have shape (1, 17, 16)",
    ("missing_class_token", "param_count"): "499,594 trainable parameters, expected 499,722",
    ("pos_embedding_one_short", "vit_forward"): "The size of tensor a (17) must match the size of tensor b (16)",
    ("attention_without_scale", "attention"): "q k^T * dim_head ** -0.5",
    ("softmax_over_queries", "attention"): "The softmax must run over the last dimension (the keys)",
    ("evaluate_accuracy_as_count", "evaluate"): "a fraction between 0 and 1",
    # the consequences on the questions a mistake also costs
    # said in full under Transformer; here once, pointing back to it (and first on the page, under "Start here")
    ("seed000_forward_inside_init", "accuracy_threshold"): "the same mistake as under Transformer: Transformer has "
                                                           "no forward method",
    ("pos_embedding_one_short", "param_count"): "499,658 trainable parameters, expected 499,722",
    ("pos_embedding_one_short", "accuracy_threshold"): "The size of tensor a (50) must match the size of tensor b (49)",
    ("attention_without_scale", "accuracy_threshold"): "the threshold is 80%",
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def graded(reports) -> dict[str, SubmissionResult]:
    return grade_examples("vit_fashion_mnist", reports)


@pytest.mark.parametrize("student", EXPECTED)
def test_per_question_points(graded: dict[str, SubmissionResult], student):
    assert graded[student].question_scores() == pytest.approx(EXPECTED[student])


@pytest.mark.parametrize("student, qid", MESSAGES)
def test_feedback_names_the_mistake(graded, student, qid):
    messages = question(graded[student], qid).messages
    assert any(MESSAGES[student, qid] in m for m in messages), messages


@pytest.mark.parametrize("qid", FULL)
def test_template_has_one_not_implemented_message_per_question(graded, qid):
    messages = question(graded["template"], qid).messages
    assert len(messages) == 1 and messages[0].startswith("not implemented yet"), messages


def test_download_cell_is_replaced_offline(graded):
    assert any("replaced by the course's offline set-up" in n for n in graded["solution"].routine_notes)
    assert not graded["solution"].cell_errors and not graded["solution"].notes


def test_real_data_option_reads_fashion_mnist_layout(tmp_path, monkeypatch):
    """--data with a FashionMNIST raw folder (here written from generated images in the idx format): the notebook
    trains on it and the learning threshold is calibrated from the reference on that data."""
    import numpy as np

    from gradekit.datasets.images import generate_images
    from gradekit.runner import grade_notebook

    def idx(array: np.ndarray) -> bytes:  # magic (0, 0, 0x08 = ubyte, ndim), big-endian dims, bytes
        return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + \
            array.astype(np.uint8).tobytes()

    monkeypatch.setenv("HOME", str(tmp_path))  # the threshold cache lives under ~/.cache
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, split in (("train", generate_images(2000, seed=7)), ("t10k", generate_images(1000, seed=8))):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx(split.images.numpy()))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(split.labels.numpy()))
    assignment = load_assignment("vit_fashion_mnist")
    result = grade_notebook(assignment.root / "examples" / "submissions" / "vit_fashion_mnist" / "solution.ipynb",
                            assignment, data=tmp_path / "data")
    learn = next(c for c in result.checks if c.question == "accuracy_threshold")
    assert result.score == result.max_score, [c.message for c in result.checks if not c.passed]
    assert "the reference reaches" in learn.message


def test_every_deduction_has_its_message_asserted():
    assert not unasserted_deductions(EXPECTED, FULL, MESSAGES)


(test_feedback_page_shows_every_questions_points_and_messages, test_the_solution_passes_every_check,
 test_every_page_fits_the_screen_without_console_errors) = page_and_solution_tests(EXPECTED)


def test_a_failed_learning_check_shows_where_the_predictions_fell_and_where_to_look_first(graded):
    """attention_without_scale loses attention's points and, through them, the learning check: its page draws the
    held-out confusion matrix and points from the learning check to Attention."""
    result = graded["attention_without_scale"]
    learning = question(result, "accuracy_threshold")
    assert [f.title for c in learning.checks for f in c.figures] == ["Your ViT on the held-out set"]
    assert [q.id for q in result.may_explain(learning)] == ["attention"]
    assert result.may_explain(question(graded["solution"], "accuracy_threshold")) == []
