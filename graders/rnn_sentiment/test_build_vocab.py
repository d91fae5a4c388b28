"""Q1 build_vocab: the same words as the reference on corpora drawn at grading time, with valid ids, and
the word rules on cases drawn at grading time too (graders/rnn_sentiment/cases.py)."""

import collections

import pytest

import reference.rnn_sentiment as ref
from gradekit.datasets.sentiment import generate_corpus

from . import cases

Q = "build_vocab"


def student_vocab(submission, student_hparams, texts, min_freq):
    vocab = submission.call("build_vocab", texts, min_freq, hparams=student_hparams)
    if not isinstance(vocab, dict):
        pytest.fail(f"build_vocab should return a dict word -> id, but it returned a {type(vocab).__name__}")
    return vocab


def min_freq_hint(got_words: set, expected_words: set, texts: list[str], min_freq: int, hparams) -> str:
    """A hint when the difference is the words seen exactly min_freq times (or min_freq - 1 times): min_freq's
    comparison off by one."""
    counts = collections.Counter(w for t in texts for w in ref.words(t) if w not in hparams.STOP_WORDS)
    missing, extra = expected_words - got_words, got_words - expected_words
    if missing and not extra and all(counts[w] == min_freq for w in missing):
        return (f"the words seen exactly min_freq={min_freq} times are missing: words seen exactly min_freq times "
                "must be kept (count >= min_freq)")
    if extra and not missing and all(counts[w] == min_freq - 1 for w in extra):
        return (f"words seen min_freq - 1 = {min_freq - 1} times were kept: keep a word only when "
                "count >= min_freq")
    return ""


def explain_difference(got: dict, expected: dict, hparams, texts: list[str], min_freq: int) -> str:
    extra = sorted(set(got) - set(expected))
    missing = sorted(set(expected) - set(got))
    hint = min_freq_hint(set(got), set(expected), texts, min_freq, hparams)
    parts = [hint] if hint else []
    if extra:
        parts.append(f"{len(extra)} word(s) that should not be there, e.g. {extra[:5]}")
        if any(w.lower() in hparams.STOP_WORDS for w in extra):
            parts.append("stop words must be dropped after lower-casing ('The' is the stop word 'the')")
        if any(w != w.lower() for w in extra):
            parts.append("words must be lower-cased")
        if "br" in extra:
            parts.append("HTML tags such as <br /> must be removed before splitting into words")
    if missing:
        parts.append(f"{len(missing)} word(s) missing, e.g. {missing[:5]}")
    return "; ".join(parts)


@pytest.mark.question(Q, points=2)
def test_same_words_as_reference(submission, student_hparams, reference, hparams, pyrng):
    """Keeps the same words as the reference on a corpus drawn at grading time"""
    texts = [r.text for r in generate_corpus(300, seed=pyrng.randrange(10**6))]
    got = student_vocab(submission, student_hparams, texts, 5)
    expected = reference.build_vocab(texts, 5, hparams)
    assert set(got) == set(expected), "build_vocab: " + explain_difference(got, expected, hparams, texts, 5)


def plain_vocab(submission, student_hparams, pyrng):
    """build_vocab on a drawn corpus of plain words (see cases.plain_corpus), and a failure unless it keeps
    exactly the words it should: a vocabulary is judged on real words, not on <pad> and <unk> alone."""
    texts, min_freq, kept = cases.plain_corpus(pyrng)
    got = student_vocab(submission, student_hparams, texts, min_freq)
    words = set(got) - {"<pad>", "<unk>"}
    if words != kept:
        pytest.fail(f"build_vocab on reviews of plain lower-case words, each seen at least {min_freq + 1} or at most "
                    f"{min_freq - 2} times (min_freq={min_freq}), kept {len(words)} word(s) ({sorted(words)[:4]}...); "
                    f"expected the {len(kept)} frequent ones, e.g. {sorted(kept)[:4]}")
    return got


@pytest.mark.question(Q, points=1)
def test_special_tokens(submission, student_hparams, hparams, pyrng):
    """Gives <pad> and <unk> their ids, next to the words it keeps"""
    got = plain_vocab(submission, student_hparams, pyrng)
    assert got.get("<pad>") == hparams.PAD_INDEX and got.get("<unk>") == hparams.UNK_INDEX, (
        f"build_vocab: '<pad>' must have id {hparams.PAD_INDEX} and '<unk>' id {hparams.UNK_INDEX}; "
        f"yours are {got.get('<pad>')} and {got.get('<unk>')}")


@pytest.mark.question(Q, points=1)
def test_ids_are_contiguous(submission, student_hparams, pyrng):
    """Uses the ids 0 .. len(vocab) - 1, each once"""
    got = plain_vocab(submission, student_hparams, pyrng)
    ids = sorted(got.values())
    assert ids == list(range(len(got))), (
        "build_vocab: ids must be 0, 1, ..., len(vocab) - 1 with no gaps or repeats (the embedding table has "
        f"len(vocab) rows); yours run from {ids[0] if ids else None} to {ids[-1] if ids else None} "
        f"for {len(got)} words")


@pytest.mark.parametrize("rule", cases.WORD_RULES)
@pytest.mark.question(Q, points=0.5, hidden=True)
def test_word_rules(submission, student_hparams, hparams, rule, pyrng):
    """Word rules: tags, case, stop words, min_freq"""
    texts, min_freq, expected_words = cases.word_rule(rule, pyrng)
    got = student_vocab(submission, student_hparams, texts, min_freq)
    words = set(got) - {"<pad>", "<unk>"}
    hint = min_freq_hint(words, expected_words, texts, min_freq, hparams)
    assert words == expected_words, (
        f"build_vocab({texts!r}, min_freq={min_freq}) kept {sorted(words)}, expected {sorted(expected_words)}"
        + (f": {hint}" if hint else ""))
