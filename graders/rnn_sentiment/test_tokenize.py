"""Q2 tokenize: the same ids as the reference, given the reference's vocabulary."""

import pytest

from gradekit.datasets.sentiment import generate_corpus

import cases

Q = "tokenize"


def student_tokens(submission, student_hparams, vocab, text):
    tokens = submission.call("tokenize", vocab, student_hparams, text)
    if not isinstance(tokens, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
        pytest.fail(f"tokenize should return a list of int ids, but it returned {tokens!r:.80}")
    return tokens


@pytest.mark.question(Q, points=2)
def test_matches_reference_on_fresh_reviews(submission, student_hparams, reference, hparams, ref_vocab, pyrng):
    """Gives the reference's ids on reviews drawn at grading time"""
    for review in generate_corpus(20, seed=pyrng.randrange(10**6)):
        got = student_tokens(submission, student_hparams, ref_vocab, review.text)
        expected = reference.tokenize(ref_vocab, hparams, review.text)
        assert got == expected, (
            f"tokenize({review.text[:60]!r}...) gave {got[:12]}..., expected {expected[:12]}...")


@pytest.mark.parametrize("rule", cases.TOKENIZE_RULES)
@pytest.mark.question(Q, points=0.5)
def test_rules(submission, student_hparams, rule, pyrng):
    """Unknown words, case, stop words, HTML, empty input"""
    vocab, examples = cases.tokenize_rule(rule, pyrng)
    for text, expected in examples:
        got = student_tokens(submission, student_hparams, vocab, text)
        assert got == expected, f"tokenize({text!r}) with vocab {vocab} gave {got}, expected {expected}"
