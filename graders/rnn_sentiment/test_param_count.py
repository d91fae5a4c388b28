"""Q8 parameter counts: the architecture's count, and the notebook's model within its budget. Counted from what
the module tree holds (gradekit.checks.read_module), never from methods a notebook can replace; a model whose
own state_dict() or parameters() report something else fails too."""

import pytest

from gradekit import checks
from gradekit.proxy import NotImplementedByStudent

Q = "param_count"


@pytest.mark.question(Q, points=1)
def test_architecture_count(submission, reference):
    """RNNClassifier(25002, 100, 256) has the reference's parameter count around your LSTM"""
    reading = checks.read_module(submission.new("RNNClassifier", 25002, 100, 256))
    count = checks.trainable_count(reading.rows)
    # The LSTM's own layout is Q4's question (its layout check): counted here as the student's LSTM(100, 256) has
    # it, so that a layout departure there is not charged twice.
    own_lstm = checks.trainable_count(checks.read_module(submission.new("LSTM", 100, 256)).rows)
    ref_lstm = reference.count_parameters(reference.LSTM(100, 256))
    expected = reference.count_parameters(reference.RNNClassifier(25002, 100, 256)) - ref_lstm + own_lstm
    lstm = f"LSTM {own_lstm:,} (yours)" if own_lstm != ref_lstm else "LSTM 4 x 256 x (100 + 256 + 2)"
    assert count == expected, (
        f"RNNClassifier(25002, 100, 256) has {count:,} trainable parameters, expected {expected:,}: embedding "
        f"25,002 x 100, {lstm}, output 256 + 1. A linear layer over every time step "
        "(hidden_size x MAX_LENGTH inputs) is the usual cause of a larger count")
    reading.assert_agrees()


@pytest.mark.question(Q, points=1)
def test_notebook_model_within_budget(submission, assignment):
    """The notebook's `model` is an RNNClassifier within the parameter budget"""
    budget = int(assignment.settings["parameter_budget"])
    model = submission.get("model")
    if model is None:
        why = submission.cell_error_for("model")
        if why:
            pytest.fail(f"`model` is still None: {why}")
        raise NotImplementedByStudent("`model`", "it is still None: create it in the Q8 cell")
    type_name = getattr(model, "type_name", type(model).__name__)
    assert type_name == "RNNClassifier", f"`model` should be an RNNClassifier; it is a {type_name}"
    reading = checks.read_module(model)
    count = checks.trainable_count(reading.rows)
    assert 0 < count <= budget, f"`model` has {count:,} trainable parameters; the budget is {budget:,}"
    reading.assert_agrees()
