"""Cases for bert_gru_sentiment's checks, drawn per grading run: a check on inputs a student can know in advance
(they are in the feedback) could be passed by a table of answers."""

from __future__ import annotations

import random

HELLO = "Hello WORLD how ARE yoU?"
FACTS = ["vocab_size", "hello_tokens", "hello_ids", "init_token_idx", "eos_token_idx", "pad_token_idx",
         "unk_token_idx", "max_input_length"]


def tokenizer_facts(tokenizer) -> dict:
    """What Q1a's variables must hold for `tokenizer`."""
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


def variant_vocab(tokenizer, rng: random.Random) -> tuple[list[str], int]:
    """(a vocabulary for another tokenizer, its length limit): the real one shuffled (every id moves), without
    one to three of HELLO's words (so its tokens change), with a few tokens more, and a limit other than 512."""
    vocab = sorted(tokenizer.vocab, key=tokenizer.vocab.get)
    left_out = set(rng.sample(["hello", "world", "how", "are", "you"], rng.randint(1, 3)))
    vocab = [t for t in vocab if t not in left_out] + [f"[gk{i}]" for i in range(rng.randint(1, 40))]
    rng.shuffle(vocab)
    return vocab, rng.choice([n for n in range(128, 1025, 64) if n != tokenizer.model_max_length])


def variant_tokenizer(vocab: list[str], max_length: int):
    """The tokenizer of `variant_vocab`; the kernel builds the same one from the same list."""
    from transformers import BertTokenizer

    return BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True, model_max_length=max_length)


def scripted_losses(rng: random.Random) -> tuple[list[float], int]:
    """(validation losses for fit, the 1-based epoch with the lowest): the lowest is neither the first nor the
    last, and two epochs after it comes one lower than the epoch before it but not the lowest, which is what a
    fit that saves on "lower than the previous epoch" saves instead."""
    n = rng.randint(4, 7)
    best = rng.randint(1, n - 3)  # 0-based
    low = rng.randint(20, 40) / 100
    losses = [low + rng.randint(10, 40) / 100 for _ in range(n)]
    losses[best] = low
    losses[best + 1] = low + rng.randint(25, 40) / 100
    losses[best + 2] = low + rng.randint(2, 20) / 100
    return [round(v, 2) for v in losses], best + 1


def scripted_pair(rng: random.Random) -> list[tuple[list[float], int]]:
    """Two `scripted_losses` whose best epochs differ."""
    first = scripted_losses(rng)
    while True:
        second = scripted_losses(rng)
        if second[1] != first[1]:
            return [first, second]
