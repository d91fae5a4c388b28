"""Q5 GRUClassifier: logits of the right shape, padding that changes nothing, and the reference's logits with
the student's own weights (the prediction read from the last layer's final hidden state)."""

import pytest

from . import classifiers

Q = "gru_classifier"
NAME = "GRUClassifier"


@pytest.fixture(autouse=True)
def runs(built):
    built(NAME, runs=True)


@pytest.mark.parametrize("n_layers, bidirectional", [(1, False), (2, True)])
@pytest.mark.question(Q, points=0.5)
def test_logits_shape(submission, pyrng, gen, n_layers, bidirectional):
    """Returns logits of shape (batch, output_dim)"""
    classifiers.output_shape(submission, NAME, classifiers.random_arch(pyrng, n_layers, bidirectional), gen)


@pytest.mark.question(Q, points=1)
def test_padding_does_not_change_a_review(submission, pyrng, gen):
    """A review's logits are the same alone and padded in a batch"""
    classifiers.padding_does_not_change_a_review(submission, NAME, classifiers.random_arch(pyrng, 2, True), gen)


@pytest.mark.parametrize("n_layers, bidirectional", [(1, False), (2, True), (3, False)])
@pytest.mark.question(Q, points=0.5)
def test_matches_reference_with_your_weights(submission, pyrng, gen, record_property, n_layers, bidirectional):
    """With your weights, the logits are the reference's (final hidden state of the last layer)"""
    arch = classifiers.random_arch(pyrng, n_layers, bidirectional)
    classifiers.matches_reference(submission, NAME, arch, gen, record_property)


@pytest.mark.question(Q, points=0.5)
def test_padding_row_gets_no_gradient(submission, pyrng, gen):
    """The embedding row of pad_index receives no gradient"""
    classifiers.padding_row_gets_no_gradient(submission, NAME, classifiers.random_arch(pyrng), gen)


@pytest.mark.question(Q, points=0.5, hidden=True)
def test_dropout_in_train_mode_only(submission, pyrng, gen):
    """Dropout acts in training mode only"""
    arch = classifiers.random_arch(pyrng, 2, False, dropout_rate=0.5)
    classifiers.dropout_in_train_mode_only(submission, NAME, arch, gen)
