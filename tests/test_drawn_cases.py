"""The cases graders draw per grading run, and the held-out sets drawn per run: over many draws, the reference
passes every case, the mistakes each case is meant to catch fail it, and no held-out set overlaps what the
notebook is given. (Fast: no kernel; the graders' case builders are plain functions.)"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
import torch

import reference.rnn_sentiment as ref
from gradekit import config
from gradekit.config import load_assignment
from gradekit.datasets.images import bundled_images, fresh_images
from gradekit.datasets.sentiment import _key, bundled_splits, fresh_reviews
from gradekit.shared_checks import near_zero_case

ROOT = Path(__file__).resolve().parents[1]
HP = ref.HyperParams()
SEEDS = range(60)


def graders_module(assignment: str, module: str):
    """graders/<assignment>/<module>.py, as the graders import it."""
    return config.graders_module(load_assignment(assignment), module)


cases = graders_module("rnn_sentiment", "cases")


# -- build_vocab: the reference, and the mistakes each rule is there for -----------------------------------------

def vocab_with(texts, min_freq, *, lower=True, stop_after_lower=True, strip_tags=True, inclusive=True,
               negations=True):
    counts = Counter()
    for text in texts:
        if strip_tags:
            text = re.sub(r"<[^>]*>", " ", text)
        for word in re.findall(r"[a-zA-Z]+", text):
            check = word.lower() if stop_after_lower else word
            if check in HP.STOP_WORDS or (not negations and word.lower() in cases.NEGATIONS):
                continue
            counts[word.lower() if lower else word] += 1
    keep = [w for w, n in counts.items() if (n >= min_freq if inclusive else n > min_freq)]
    return set(keep)


MISTAKES = {
    "html-and-case": [dict(lower=False), dict(strip_tags=False)],
    "capitalised-stop-words": [dict(stop_after_lower=False)],
    "min-freq-is-inclusive": [dict(inclusive=False)],
    "negations-are-words": [dict(negations=False)],
}


@pytest.mark.parametrize("rule", cases.WORD_RULES)
def test_word_rules_pass_the_reference_and_catch_their_mistake(rule):
    inputs = set()
    for seed in SEEDS:
        texts, min_freq, expected = cases.word_rule(rule, random.Random(seed))
        inputs.add((tuple(texts), min_freq))
        assert set(ref.build_vocab(texts, min_freq, HP)) - {"<pad>", "<unk>"} == expected, texts
        for mistake in MISTAKES[rule]:
            assert vocab_with(texts, min_freq, **mistake) != expected, (mistake, texts)
    assert len(inputs) == len(SEEDS)  # a case drawn per run, never the same twice here


def test_the_plain_corpus_has_one_answer_whatever_the_slips():
    for seed in SEEDS:
        texts, min_freq, kept = cases.plain_corpus(random.Random(seed))
        assert set(ref.build_vocab(texts, min_freq, HP)) - {"<pad>", "<unk>"} == kept
        for slip in (dict(inclusive=False), dict(stop_after_lower=False), dict(strip_tags=False), dict(lower=False)):
            assert vocab_with(texts, min_freq, **slip) == kept, slip
        assert len(kept) == 8


# -- tokenize ------------------------------------------------------------------------------------------------

def tokenize_with(vocab, text, *, lower=True, strip_tags=True, unknown=True):
    if strip_tags:
        text = re.sub(r"<[^>]*>", " ", text)
    out = []
    for word in re.findall(r"[a-zA-Z]+", text):
        word = word.lower() if lower else word
        if word.lower() in HP.STOP_WORDS:
            continue
        if word in vocab:
            out.append(vocab[word])
        elif unknown:
            out.append(HP.UNK_INDEX)
    return out


TOKENIZE_MISTAKES = {
    "unknown-word-is-unk": [dict(unknown=False)],
    "case-and-stop-words": [dict(lower=False)],
    "html-tags": [dict(strip_tags=False)],
}


@pytest.mark.parametrize("rule", cases.TOKENIZE_RULES)
def test_tokenize_rules_pass_the_reference_and_catch_their_mistake(rule):
    for seed in SEEDS:
        vocab, examples = cases.tokenize_rule(rule, random.Random(seed))
        assert all(ref.tokenize(vocab, HP, text) == want for text, want in examples)
        for mistake in TOKENIZE_MISTAKES.get(rule, []):
            assert any(tokenize_with(vocab, text, **mistake) != want for text, want in examples), mistake
        assert any(want for _, want in examples), "a tokenizer that always returns [] must fail every rule"


# -- binary_accuracy's near-zero case ------------------------------------------------------------------------

def test_near_zero_case_catches_rounding_logits():
    for seed in SEEDS:
        preds, y = near_zero_case(torch.Generator().manual_seed(seed))
        right = float(ref.binary_accuracy(preds, y))
        assert 0 < right < 1
        assert abs(float((torch.round(preds) == y).float().mean()) - right) > 1e-6
        assert abs(float(((preds > 0.5).float() == y).float().mean()) - right) > 1e-6


# -- fit's scripted losses -------------------------------------------------------------------------------------

def test_scripted_losses_have_one_best_epoch_and_a_trap_after_it():
    bert_cases = graders_module("bert_gru_sentiment", "cases")
    for seed in SEEDS:
        losses, best = bert_cases.scripted_losses(random.Random(seed))
        assert losses.index(min(losses)) == best - 1 and losses.count(min(losses)) == 1
        assert 1 < best < len(losses)  # saving the first or the last epoch is wrong
        previous_rule = max(i for i in range(1, len(losses)) if losses[i] < losses[i - 1])
        assert previous_rule != best - 1  # "lower than the epoch before" saves another epoch
        (_, a), (_, b) = bert_cases.scripted_pair(random.Random(seed))
        assert a != b  # no one fixed epoch is right for both


# -- held-out sets ---------------------------------------------------------------------------------------------

def test_fresh_reviews_share_nothing_with_the_bundled_data_and_differ_per_seed():
    splits = bundled_splits()
    given = {_key(r.text) for r in [*splits.train, *splits.valid, *splits.test]}
    a, b = (fresh_reviews(600, 2**32 + s, exclude=[*splits.train, *splits.valid, *splits.test]) for s in (1, 2))
    assert not {_key(r.text) for r in a} & given and not {_key(r.text) for r in b} & given
    assert len({_key(r.text) for r in a} & {_key(r.text) for r in b}) < 30
    assert sum(r.label for r in a) == 300
    assert [r.text for r in fresh_reviews(5, 7)] == [r.text for r in fresh_reviews(5, 7)]


def test_fresh_images_share_nothing_with_the_bundled_images():
    splits = bundled_images(n_train=2000, n_test=400)
    drawn = fresh_images(600, 2**40 + 3, exclude=(splits.train, splits.test))
    given = {bytes(i.numpy().tobytes()) for s in (splits.train, splits.test) for i in s.images}
    assert len(drawn) == 600 and not any(bytes(i.numpy().tobytes()) in given for i in drawn.images)


def test_a_collision_draws_the_next_seed():
    once = fresh_images(20, 5)
    assert not torch.equal(fresh_images(20, 5, exclude=(once,)).images, once.images)


def test_vit_held_out_images_come_from_the_pool_with_real_data():
    workspace = graders_module("vit_fashion_mnist", "workspace")
    from gradekit.datasets.images import ImageSet, ImageSplits

    images = torch.zeros(4000, 28, 28, dtype=torch.uint8)  # image i says i in its first two pixels
    images[:, 0, 0], images[:, 0, 1] = (torch.arange(4000) % 256).to(torch.uint8), (torch.arange(4000) // 256).to(
        torch.uint8)
    s = ImageSplits(train=ImageSet(images[:10], torch.zeros(10, dtype=torch.long)),
                    test=ImageSet(images, torch.arange(4000) % 10))
    held = workspace.held_out(s, Path("real"), 2**33)
    pool = workspace.pool_size(s)
    assert pool == int(workspace.settings()["learn_held_out_pool"])  # 2,000 of 4,000: the setting
    assert len(held) == int(workspace.settings()["learn_test_images"])
    notebook = workspace.notebook_test(s, Path("real"))
    assert len(notebook) == 4000 - pool
    assert not {bytes(i.numpy().tobytes()) for i in held.images} & {bytes(i.numpy().tobytes()) for i in notebook.images}


def test_bert_pool_is_the_courses_secret_and_disjoint(monkeypatch):
    """One pool per course secret: every machine grading for the course (and every run of this suite) draws the
    same held-out reviews; another course's secret gives another pool."""
    learning = graders_module("bert_gru_sentiment", "learning")
    workspace = graders_module("bert_gru_sentiment", "workspace")
    secret = learning.pool_secret()
    assert learning.pool_secret() == secret
    monkeypatch.setenv("GRADEKIT_SECRET", "another course")
    assert learning.pool_secret() != secret
    monkeypatch.undo()
    splits = bundled_splits()
    pool = workspace.held_out_pool(splits, None, secret)
    assert len(pool) == int(workspace.settings()["learn_held_out_pool"])
    assert not {_key(r.text) for r in pool} & {_key(r.text) for r in [*splits.train, *splits.valid, *splits.test]}
    assert workspace.notebook_test(splits, None) == splits.test


# -- the tokenizer that Q1a's cells are run again with ------------------------------------------------------------

def test_the_variant_tokenizer_changes_every_fact():
    from gradekit import offline

    bert_cases = graders_module("bert_gru_sentiment", "cases")
    tokenizer = offline.load_tokenizer(offline.bert_path("minilm"))
    real = bert_cases.tokenizer_facts(tokenizer)
    for seed in range(3):
        variant = bert_cases.tokenizer_facts(bert_cases.variant_tokenizer(
            *bert_cases.variant_vocab(tokenizer, random.Random(seed))))
        assert [name for name in bert_cases.FACTS if variant[name] == real[name]] == []
        assert variant["hello_tokens"] != real["hello_tokens"] and variant["vocab_size"] > 30_000
