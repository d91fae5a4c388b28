"""Q1a: facts of the tokenizer, read from the student's variables, and tokenize_and_cut.

The facts are fixed (30,522 tokens, [CLS] is 101, ...), so a notebook could type them in. Each is therefore
also checked against another tokenizer, drawn per grading run (the vocabulary shuffled, a few of the sentence's
words left out, another length limit): the cells that set the variables are run again, in a copy of the
notebook's namespace, with that tokenizer as `tokenizer`, and must give its values."""

import random

import pytest

from gradekit.datasets.sentiment import generate_corpus
from gradekit.notebook import prepare_cells
from gradekit.proxy import SubmissionError

from . import cases

Q = "tokenizer"

# Runs in the kernel: the notebook's cells that assign one of `names`, again, with another tokenizer as `tokenizer`.
RERUN = """
import ast
from transformers import BertTokenizer
ns = dict(globals())
ns["tokenizer"] = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True,
                                model_max_length=max_length)
ran, errors = [], []
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
        ran.append(position)
        try:  # what the cell set before an error still counts, as it did when the notebook ran
            exec(compile(code, f"<cell {position}>", "exec"), ns)
        except Exception as exc:
            errors.append(f"cell {position} raised {type(exc).__name__}: {exc}"[:300])
result = {"ran": ran, "errors": errors, "values": {n: ns.get(n) for n in names}}
"""


@pytest.fixture(scope="module")
def rerun(submission, notebook, assignment, tokenizer, seed):
    """(the student's values, the variant's values), or why the cells could not be run again."""
    if notebook is None:
        return "your notebook could not be read"
    vocab, max_length = cases.variant_vocab(tokenizer, random.Random(seed))
    variant = cases.variant_tokenizer(vocab, max_length)
    prepared = prepare_cells(notebook, skip_tags=assignment.skip_tags, replace_tags=assignment.replace_tags,
                             replace_patterns=assignment.replace_patterns)
    cells = [(c.position, c.source) for c in prepared.cells if c.position]
    try:
        out = submission.run(RERUN, what="your Q1a cells, run again with another tokenizer", vocab=vocab,
                             max_length=max_length, cells=cells, names=cases.FACTS)
    except SubmissionError as exc:
        return f"running the cells that set it again, with another tokenizer as `tokenizer`, failed: {exc}"
    if not isinstance(out, dict) or not isinstance(out.get("values"), dict):
        return "running the cells that set it again, with another tokenizer as `tokenizer`, gave nothing back"
    return out["values"], cases.tokenizer_facts(variant), [str(e) for e in out.get("errors") or []]


@pytest.mark.parametrize("name", cases.FACTS)
@pytest.mark.question(Q, points=0.5)
def test_variable(submission, tokenizer, name, request):
    """The notebook's variable holds the tokenizer's value, computed from `tokenizer`"""
    want = cases.tokenizer_facts(tokenizer)[name]
    got = submission.get(name)
    framed = isinstance(want, list) and got == [tokenizer.cls_token_id, *want, tokenizer.sep_token_id]
    hint = (": tokenizer.encode adds [CLS] and [SEP]; take the ids of hello_tokens alone "
            "(tokenizer.convert_tokens_to_ids)") if framed else ""
    assert got == want, f"`{name}` is {got!r:.80}, expected {want!r}{hint}"
    rerun = request.getfixturevalue("rerun")
    if isinstance(rerun, str):
        pytest.fail(f"`{name}`: {rerun}")
    values, variant, errors = rerun
    raised = f" ({'; '.join(errors)})" if errors and values.get(name) is None else ""
    assert values.get(name) == variant[name], (
        f"`{name}` must be computed from `tokenizer`, not typed in: with another tokenizer in its place (another "
        f"vocabulary, other ids, another length limit) your cell gave {values.get(name)!r:.80}{raised}, that "
        f"tokenizer's value is {variant[name]!r:.80}")


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
