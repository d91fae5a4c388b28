"""Cases for the vocabulary and tokenizer checks, drawn per grading run (from the plugin's `pyrng`).

A check on inputs a student can know in advance (they are in the feedback) could be passed by a table of
answers, so every case here is built afresh from real review words: which words, how often, in which case and
around which stop words and tags. Each rule keeps the shape of the case it replaces.
"""

from __future__ import annotations

import functools
import random
import string

import reference.rnn_sentiment as ref
from gradekit.datasets.sentiment import generate_corpus

NEGATIONS = ("not", "no", "never", "nor", "but", "yet", "although", "though")  # words, not stop words
WORD_RULES = ("html-and-case", "capitalised-stop-words", "min-freq-is-inclusive", "negations-are-words")
TOKENIZE_RULES = ("unknown-word-is-unk", "case-and-stop-words", "html-tags", "empty-review")
STOP_WORDS = sorted(w for w in ref.HyperParams.STOP_WORDS if len(w) >= 2)


@functools.cache
def word_pool() -> tuple[str, ...]:
    """Lower-case review words (of at least three letters) that are neither stop words nor negations."""
    words = {w for r in generate_corpus(300, seed=0) for w in ref.words(r.text)}
    return tuple(sorted(w for w in words - ref.HyperParams.STOP_WORDS - set(NEGATIONS) if len(w) >= 3))


def plain_corpus(rng: random.Random) -> tuple[list[str], int, set[str]]:
    """(texts, min_freq, the words to keep): lower-case words only, no tags or stop words, and every count at
    least two away from min_freq, so that a vocabulary that keeps anything sensible keeps exactly these."""
    min_freq = rng.randint(3, 5)
    words = rng.sample(word_pool(), 14)
    kept, rare = words[:8], words[8:]
    tokens = [w for w in kept for _ in range(min_freq + rng.randint(1, 3))]
    tokens += [w for w in rare for _ in range(rng.randint(1, min_freq - 2))]
    rng.shuffle(tokens)
    cuts = sorted(rng.sample(range(1, len(tokens)), 4))
    texts = [" ".join(tokens[a:b]) for a, b in zip([0, *cuts], [*cuts, len(tokens)], strict=True)]
    return texts, min_freq, set(kept)


def word_rule(rule: str, rng: random.Random) -> tuple[list[str], int, set[str]]:
    """(texts, min_freq, the words build_vocab must keep besides <pad> and <unk>) for one word rule. Only the
    min-freq rule puts a word on min_freq's boundary: in the others the word to keep is seen more often than that, so
    a min_freq off by one costs its own rule, not the tag, case, stop-word and negation rules as well."""
    w, v = rng.sample(word_pool(), 2)
    if rule == "html-and-case":  # one word in three spellings, glued to tags that must not count as words
        return [f"{w.capitalize()}<br />{w}<br /><br />{w.upper()}", v], 2, {w}
    if rule == "capitalised-stop-words":  # a stop word is one whatever its case
        stop = rng.choice(STOP_WORDS)
        return [f"{stop.capitalize()} {w}. {stop} {w.upper()}, {stop.capitalize()} {w}! {stop.upper()} {v}"], 2, {w}
    if rule == "min-freq-is-inclusive":  # seen exactly min_freq times: kept; once fewer: not
        k = rng.randint(2, 4)
        tokens = [w] * k + [v] * (k - 1)
        rng.shuffle(tokens)
        return [" ".join(tokens[: len(tokens) // 2]), " ".join(tokens[len(tokens) // 2 :])], k, {w}
    if rule == "negations-are-words":  # negations flip a review: they stay
        n = rng.choice(NEGATIONS)
        return [f"{n} {w} {rng.choice(STOP_WORDS)} {n} {v} {n}"], 2, {n}
    raise ValueError(rule)


def unknown_word(rng: random.Random, known: set[str]) -> str:
    while True:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 9)))
        if word not in known and word not in ref.HyperParams.STOP_WORDS:
            return word


def tokenize_rule(rule: str, rng: random.Random) -> tuple[dict[str, int], list[tuple[str, list[int]]]]:
    """(vocab, [(text, expected ids)]) for one tokenizer rule; the vocabulary's ids are shuffled too."""
    words = rng.sample(word_pool(), 6)
    ids = list(range(2, 2 + len(words)))
    rng.shuffle(ids)
    vocab = {"<pad>": 0, "<unk>": 1, **dict(zip(words, ids, strict=True))}
    a, b = words[0], words[1]
    if rule == "unknown-word-is-unk":
        unknown = unknown_word(rng, set(vocab) | set(word_pool()))
        return vocab, [(f"{unknown} {a}", [1, vocab[a]])]
    if rule == "case-and-stop-words":
        stop = rng.choice(STOP_WORDS)
        return vocab, [(f"{stop.capitalize()} {a.capitalize()} {stop.upper()} {b.upper()}", [vocab[a], vocab[b]])]
    if rule == "html-tags":
        return vocab, [(f"{a}<br /><br />{b}", [vocab[a], vocab[b]])]
    if rule == "empty-review":  # with a drawn one-word review beside it: [] alone is no answer
        return vocab, [("", []), (a.capitalize(), [vocab[a]])]
    raise ValueError(rule)
