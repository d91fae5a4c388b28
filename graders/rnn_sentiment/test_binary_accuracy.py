"""binary_accuracy: accuracy of logits against 0/1 labels, as a number in [0, 1]."""

import pytest

from gradekit import shared_checks

Q = "binary_accuracy"


@pytest.mark.parametrize("n", [1, 10, 257], ids=lambda n: f"{n} logit{'s' if n != 1 else ''}")
@pytest.mark.question(Q, points=1)
def test_matches_reference(submission, reference, n, gen):
    """Matches the reference on random logits"""
    shared_checks.binary_accuracy_matches_reference(submission, reference.binary_accuracy, n, gen)


@pytest.mark.question(Q, points=1)
def test_hand_made_case(submission, reference, gen):
    """Logits near 0 and far from it: a logit above 0 predicts 1"""
    shared_checks.binary_accuracy_hand_made_case(submission, reference.binary_accuracy, gen)
