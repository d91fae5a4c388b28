"""Q4 predict_sentiment: judged with a spy model that records the ids it is given and returns a known logit. The spy
is what a BERTGRUSentiment is to predict_sentiment (parameters, so a device and a dtype; forward(text)), so nothing
a real model accepts fails on it. The reviews and the logit are drawn per grading run, so that no answer prepared for
a case seen in feedback fits. While predict_sentiment runs on the spy, the names Q1a sets (tokenize_and_cut,
max_input_length, the special tokens' ids) are, in its globals, what the tokenizer says they are, then put back: a
mistake in Q1a costs Q1a, not this question too."""

import math

import pytest

from gradekit.datasets.sentiment import generate_corpus

Q = "predict_sentiment"

SPY = """
import torch
from torch import nn

class _Spy(nn.Module):
    # What a BERTGRUSentiment is to predict_sentiment: parameters (so next(model.parameters()).device and .dtype
    # work), forward(text) by position or by name, (batch, 1) float logits.
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(1, 1)
        self.seen, self.modes = [], []
    def forward(self, text):
        self.seen.append(text.detach().clone())
        self.modes.append(self.training)
        return torch.full((text.shape[0], 1), logit, dtype=self.out.weight.dtype)

def _cut(sentence):
    return tokenizer.tokenize(sentence)[: tokenizer.model_max_length - 2]

q1a = {"tokenize_and_cut": _cut, "max_input_length": tokenizer.model_max_length,
       "init_token_idx": tokenizer.cls_token_id, "eos_token_idx": tokenizer.sep_token_id,
       "pad_token_idx": tokenizer.pad_token_id, "unk_token_idx": tokenizer.unk_token_id}
space = getattr(predict_sentiment, "__globals__", {})
saved = {k: space[k] for k in q1a if k in space}
spy = _Spy()
spy.train()
space.update(q1a)
try:
    p = predict_sentiment(spy, tokenizer, sentence)
finally:
    for k in q1a:
        space.pop(k, None)
    space.update(saved)
result = {"p": p, "ids": spy.seen[-1] if spy.seen else None, "training": spy.modes[-1] if spy.modes else None}
"""

RERUN = """
reviews = given_reviews if which == "given_predictions" else my_reviews
result = [predict_sentiment(model, tokenizer, review) for review in reviews]
"""


def spy_run(submission, sentence, logit=0.8):
    return submission.run(SPY, what="predict_sentiment(model, tokenizer, sentence)", name="predict_sentiment",
                          sentence=sentence, logit=logit)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def a_review(pyrng) -> str:
    return generate_corpus(1, seed=pyrng.randrange(10**9))[0].text


@pytest.mark.question(Q, points=1)
def test_adds_cls_and_sep(submission, tokenizer, reference, pyrng):
    """The model gets [CLS] + the review's ids + [SEP], as one (1, length) batch"""
    sentence = a_review(pyrng)
    ids = spy_run(submission, sentence)["ids"]
    want = reference.encode(tokenizer, sentence)
    assert ids is not None, "predict_sentiment never called the model"
    assert tuple(ids.shape) == (1, len(want)), (
        f"the model got ids of shape {tuple(ids.shape)}, expected (1, {len(want)})")
    got = ids[0].tolist()
    assert got[0] == tokenizer.cls_token_id and got[-1] == tokenizer.sep_token_id, (
        f"the ids should start with [CLS] ({tokenizer.cls_token_id}) and end with [SEP] ({tokenizer.sep_token_id}); "
        f"they are {got}")
    assert got == want, f"the model got {got}, expected {want}"


@pytest.mark.question(Q, points=1)
def test_returns_the_probability_in_eval_mode(submission, pyrng):
    """Returns sigmoid(logit) as a float, with the model in eval mode"""
    logit = round(pyrng.choice([-1, 1]) * pyrng.uniform(0.3, 3), 3)
    out = spy_run(submission, a_review(pyrng), logit)
    assert isinstance(out["p"], float), (
        f"predict_sentiment should return a float; it returned {type(out['p']).__name__}")
    want = sigmoid(logit)
    mistake = ""
    if abs(out["p"] - logit) < 1e-6:
        mistake = ": it returned the logit itself; return the probability, torch.sigmoid of the model's output"
    elif abs(out["p"] - sigmoid(want)) < 1e-6:
        mistake = ": it applies the sigmoid twice; apply torch.sigmoid once, to the model's output (the logit)"
    assert abs(out["p"] - want) < 1e-6, (
        f"for a logit of {logit} predict_sentiment returned {out['p']:.4f}, expected sigmoid({logit}) = "
        f"{want:.4f}{mistake}")
    assert out["training"] is False, "predict_sentiment: call model.eval() first"


@pytest.mark.question(Q, points=1)
def test_long_review_is_cut(submission, tokenizer, reference, pyrng):
    """A 2,000-word review is cut to 512 ids"""
    sentence = " ".join(pyrng.choice(["superb", "boring", "cast", "score", "twist"]) for _ in range(2000))
    ids = spy_run(submission, sentence)["ids"]
    limit = tokenizer.model_max_length
    assert ids is not None and ids.shape[1] == limit, (
        f"for a 2,000-word review the model got {None if ids is None else ids.shape[1]} ids; cut the tokens to "
        f"{limit - 2} so that with [CLS] and [SEP] it fits BERT's {limit}")
    assert ids[0].tolist() == reference.encode(tokenizer, sentence), (
        "for a 2,000-word review the model got 512 ids, but not the review's first 510 tokens between [CLS] and "
        "[SEP]")


@pytest.mark.parametrize("name", ["given_predictions", "my_predictions"])
@pytest.mark.question(Q, points=0.5)
def test_notebook_predictions_are_probabilities(submission, name):
    """The notebook's predictions are two probabilities, from predict_sentiment"""
    values = submission.get(name)
    assert isinstance(values, list) and len(values) == 2, f"`{name}` should be a list of two probabilities"
    # Floats that predict_sentiment gives: whether they are probabilities is predict_sentiment's own check
    # (test_returns_the_probability_in_eval_mode), not charged again here.
    assert all(isinstance(v, float) for v in values), f"`{name}` = {values!r:.80}"
    runs = [submission.run(RERUN, what=f"predict_sentiment on the reviews behind `{name}`", name="predict_sentiment",
                           which=name) for _ in range(2)]
    if not all(isinstance(r, list) and len(r) == 2 and all(isinstance(a, float) for a in r) for r in runs):
        pytest.fail(f"predict_sentiment(model, tokenizer, review) on the reviews behind `{name}` gave "
                    f"{runs[0]!r:.80}, not two probabilities")
    if runs[0] != runs[1]:
        return  # predict_sentiment gives another answer each time (the eval-mode check charges that): not comparable
    assert all(abs(a - v) < 1e-5 for a, v in zip(runs[0], values, strict=True)), (
        f"`{name}` = {[round(v, 4) for v in values]}, but predict_sentiment(model, tokenizer, review) gives "
        f"{runs[0]!r:.80} for its reviews now: compute `{name}` with predict_sentiment, after creating `model`")


@pytest.mark.question(Q, points=0.5)
def test_own_reviews(submission):
    """my_reviews holds two reviews of your own"""
    reviews = submission.get("my_reviews")
    given = {"Justice League is terrible. I hated it.", "Avengers was great!!"}
    assert isinstance(reviews, list) and len(reviews) == 2 and all(isinstance(r, str) and r.strip() for r in reviews), (
        "`my_reviews` should be a list of two review texts")
    assert not set(reviews) & given, "write two reviews of your own, not the given ones"
