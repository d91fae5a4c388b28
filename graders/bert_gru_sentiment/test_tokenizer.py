"""Q1a: facts of the tokenizer, read from the student's variables, and tokenize_and_cut.

The facts are fixed (30,522 tokens, [CLS] is 101, ...), so a notebook could type them in. Each is therefore
also checked against another tokenizer, drawn per grading run (the vocabulary shuffled, a few of the sentence's
words left out, another length limit): the cells that set the variables are run again, in a copy of the
notebook's namespace, with that tokenizer as `tokenizer`, and must give its values."""

import random
import tempfile
from pathlib import Path

import pytest

from gradekit.datasets.sentiment import generate_corpus
from gradekit.notebook import prepare_cells
from gradekit.proxy import SubmissionError

Q = "tokenizer"
HELLO = "Hello WORLD how ARE yoU?"
NAMES = ["vocab_size", "hello_tokens", "hello_ids", "init_token_idx", "eos_token_idx", "pad_token_idx",
         "unk_token_idx", "max_input_length"]

# Runs in the kernel: the notebook's cells that assign one of `names`, again, with `variant` as `tokenizer`.
RERUN = """
import ast
import os
import tempfile
from transformers import BertTokenizer
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\\n".join(vocab) + "\\n")
ns = dict(globals())
ns["tokenizer"] = BertTokenizer(vocab_file=os.path.join(folder, "vocab.txt"), do_lower_case=True,
                                model_max_length=max_length)
ran = []
for position, source in cells:
    code = get_ipython().transform_cell(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        continue
    assigned = {n.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                for n in ast.walk(target) if isinstance(n, ast.Name)}
    if assigned & set(names):
        exec(compile(code, f"<cell {position}>", "exec"), ns)
        ran.append(position)
result = {"ran": ran, "values": {n: ns.get(n) for n in names}}
"""


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


def variant_vocab(tokenizer, rng: random.Random) -> tuple[list[str], int]:
    """(a shuffled vocabulary without one to three of the sentence's words, a length limit)."""
    vocab = sorted(tokenizer.vocab, key=tokenizer.vocab.get)
    left_out = set(rng.sample(["hello", "world", "how", "are", "you"], rng.randint(1, 3)))
    vocab = [t for t in vocab if t not in left_out] + [f"[gk{i}]" for i in range(rng.randint(1, 40))]
    rng.shuffle(vocab)
    return vocab, rng.randrange(128, 1025, 64)


@pytest.fixture(scope="module")
def rerun(submission, notebook, assignment, tokenizer, seed):
    """(the student's values, the variant's values), or why the cells could not be run again."""
    from transformers import BertTokenizer

    if notebook is None:
        return "your notebook could not be read"
    vocab, max_length = variant_vocab(tokenizer, random.Random(seed))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        variant = BertTokenizer(vocab_file=str(Path(folder) / "vocab.txt"), do_lower_case=True,
                                model_max_length=max_length)
    prepared = prepare_cells(notebook, skip_tags=assignment.skip_tags, replace_tags=assignment.replace_tags,
                             replace_patterns=assignment.replace_patterns)
    cells = [(c.position, c.source) for c in prepared.cells if c.position]
    try:
        out = submission.run(RERUN, what="your Q1a cells, run again with another tokenizer", vocab=vocab,
                             max_length=max_length, cells=cells, names=NAMES)
    except SubmissionError as exc:
        return f"running the cells that set it again, with another tokenizer as `tokenizer`, failed: {exc}"
    if not isinstance(out, dict) or not isinstance(out.get("values"), dict):
        return "running the cells that set it again, with another tokenizer as `tokenizer`, gave nothing back"
    return out["values"], expected(variant)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.question(Q, points=0.5)
def test_variable(submission, tokenizer, name, request):
    """The notebook's variable holds the tokenizer's value, computed from `tokenizer`"""
    want = expected(tokenizer)[name]
    got = submission.get(name)
    assert got == want, f"`{name}` is {got!r:.80}, expected {want!r}"
    rerun = request.getfixturevalue("rerun")
    if isinstance(rerun, str):
        pytest.fail(f"`{name}`: {rerun}")
    values, variant = rerun
    assert values.get(name) == variant[name], (
        f"`{name}` must be computed from `tokenizer`, not typed in: with another tokenizer in its place (another "
        f"vocabulary, other ids, another length limit) your cell gave {values.get(name)!r:.80}, that tokenizer's "
        f"value is {variant[name]!r:.80}")


@pytest.mark.question(Q, points=1)
def test_tokenize_and_cut_short_review(submission, tokenizer, pyrng):
    """tokenize_and_cut gives the tokenizer's tokens for a short review"""
    text = generate_corpus(1, seed=pyrng.randrange(10**9))[0].text
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
