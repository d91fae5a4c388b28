"""Q2 tokenize: the same ids as the reference, given the reference's vocabulary."""

import string

import pytest

import reference.rnn_sentiment as ref
from gradekit.datasets.sentiment import generate_corpus

from . import cases

Q = "tokenize"


def usual_mistake(vocab: dict, hparams, text: str, got: list[int], expected: list[int]) -> str:
    """"" unless `got` is what a usual tokenizer mistake gives on `text` (and the right answer is not): then that
    mistake, in the student's words (as the LSTM's gate orders and train's loops are searched)."""
    unk, pad, stop = hparams.UNK_INDEX, hparams.PAD_INDEX, hparams.STOP_WORDS
    letters = ref.WORD_RE.findall(ref.TAG_RE.sub(" ", text))
    words = [w.lower() for w in letters]
    mistakes = {
        f"a word not in the vocabulary must become UNK_INDEX ({unk}), not be dropped":
            [vocab[w] for w in words if w not in stop and w in vocab],
        f"a word not in the vocabulary must become UNK_INDEX ({unk}), not PAD_INDEX ({pad})":
            [vocab.get(w, pad) for w in words if w not in stop],
        "lower-case each word before the stop-word check and the look-up ('Good' is the word 'good', 'The' the "
        "stop word 'the')": [vocab.get(w, unk) for w in letters if w not in stop],
        "drop stop words after lower-casing ('The' is the stop word 'the')":
            [vocab.get(w.lower(), unk) for w in letters if w not in stop],
    }
    return next((why for why, ids in mistakes.items() if ids == got and ids != expected), "")


def mismatch(vocab, hparams, text, got, expected, shown) -> str:
    why = usual_mistake(vocab, hparams, text, got, expected)
    return shown + (f": {why}" if why else "")


def student_tokens(submission, student_hparams, vocab, text):
    tokens = submission.call("tokenize", vocab, student_hparams, text)
    if not isinstance(tokens, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
        pytest.fail(f"tokenize should return a list of int ids, but it returned {tokens!r:.80}")
    return tokens


def with_unknown_word(text: str, vocab: dict, rng) -> str:
    """`text` with a made-up word (a name, a typo: in no vocabulary) put among its first words, as real reviews
    have them; the generator's reviews use only words the vocabulary holds, where dropping unknown words or giving
    them another id cannot show."""
    while (word := "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 9)))) in vocab:
        pass
    words = text.split(" ")
    words.insert(rng.randint(0, min(len(words), 8)), word)
    return " ".join(words)


@pytest.mark.question(Q, points=2)
def test_matches_reference_on_fresh_reviews(submission, student_hparams, reference, hparams, ref_vocab, pyrng):
    """Gives the reference's ids on reviews drawn at grading time"""
    for review in generate_corpus(20, seed=pyrng.randrange(10**6)):
        text = with_unknown_word(review.text, ref_vocab, pyrng)
        got = student_tokens(submission, student_hparams, ref_vocab, text)
        expected = reference.tokenize(ref_vocab, hparams, text)
        assert got == expected, mismatch(ref_vocab, hparams, text, got, expected,
                                         f"tokenize({text[:60]!r}...) gave {got[:12]}..., expected "
                                         f"{expected[:12]}...")


@pytest.mark.parametrize("rule", cases.TOKENIZE_RULES)
@pytest.mark.question(Q, points=0.5)
def test_rules(submission, student_hparams, hparams, rule, pyrng):
    """Unknown words, case, stop words, HTML, empty input"""
    vocab, examples = cases.tokenize_rule(rule, pyrng)
    for text, expected in examples:
        got = student_tokens(submission, student_hparams, vocab, text)
        assert got == expected, mismatch(vocab, hparams, text, got, expected,
                                         f"tokenize({text!r}) with vocab {vocab} gave {got}, expected {expected}")
