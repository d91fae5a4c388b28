"""Q1a: facts of the tokenizer, read from the student's variables, and tokenize_and_cut."""

import pytest

Q = "tokenizer"
HELLO = "Hello WORLD how ARE yoU?"


def expected(tokenizer) -> dict:
    tokens = tokenizer.tokenize(HELLO)
    return {
        "vocab_size": len(tokenizer.vocab),
        "hello_tokens": tokens,
        "hello_ids": tokenizer.convert_tokens_to_ids(tokens),
        "init_token_idx": tokenizer.cls_token_id,
        "eos_token_idx": tokenizer.sep_token_id,
        "pad_token_idx": tokenizer.pad_token_id,
        "unk_token_idx": tokenizer.unk_token_id,
        "max_input_length": tokenizer.model_max_length,
    }


@pytest.mark.parametrize("name", ["vocab_size", "hello_tokens", "hello_ids", "init_token_idx", "eos_token_idx",
                                  "pad_token_idx", "unk_token_idx", "max_input_length"])
@pytest.mark.question(Q, points=0.5)
def test_variable(submission, tokenizer, name):
    """The notebook's variable holds the tokenizer's value"""
    want = expected(tokenizer)[name]
    got = submission.get(name)
    assert got == want, f"`{name}` is {got!r:.80}, expected {want!r}"


@pytest.mark.question(Q, points=1)
def test_tokenize_and_cut_short_review(submission, tokenizer):
    """tokenize_and_cut gives the tokenizer's tokens for a short review"""
    text = "An UNEXPECTEDLY moving film, though the ending drags."
    got = submission.call("tokenize_and_cut", text)
    assert got == tokenizer.tokenize(text), f"tokenize_and_cut({text!r}) gave {got!r:.120}"


@pytest.mark.question(Q, points=1)
def test_tokenize_and_cut_long_review(submission, tokenizer, pyrng):
    """tokenize_and_cut leaves room for [CLS] and [SEP] in a 2,000-word review"""
    text = " ".join(pyrng.choice(["great", "dull", "acting", "plot", "never", "wonderful"]) for _ in range(2000))
    got = submission.call("tokenize_and_cut", text)
    limit = tokenizer.model_max_length - 2
    assert isinstance(got, list) and len(got) == limit, (
        f"tokenize_and_cut on a 2,000-word review returned {len(got) if isinstance(got, list) else got!r:.40} "
        f"tokens; cut to max_input_length - 2 = {limit} so that [CLS] and [SEP] still fit")
    assert got == tokenizer.tokenize(text)[:limit], "tokenize_and_cut must keep the first tokens"
