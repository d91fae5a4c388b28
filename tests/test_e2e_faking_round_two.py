"""End to end: issue 10's faking classes in vit_fashion_mnist and bert_gru_sentiment (the adversarial corpus,
tests/adversarial/, is rnn_sentiment's). Each notebook is a solution with cheats of the classes "checks on weights
the student chose" (10), "answers to fixed cases" (11) and "held-out labels rebuilt at home" (12), built here,
graded in a real sandboxed kernel, and must score what its honest part deserves.

Before the fix (commit 97d9cb2) the ViT notebook scored attention 3 / 3.5, transformer 2.5 / 2.5 and 100% held-out
accuracy (3 / 3); the BERT notebook scored tokenizer 6 / 6 with the facts typed in, training_loop 3.5 / 3.5 and
100% held-out accuracy (3 / 3)."""

from __future__ import annotations

import hashlib
import json

import nbformat
import pytest

from gradekit.config import load_assignment
from gradekit.runner import grade_notebook

from e2e_examples import question

pytestmark = pytest.mark.e2e

# 10: an Attention whose weights are all zero and that returns zeros, the right answer for those weights.
ZERO_ATTENTION = """class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner_dim = dim_head * heads
        project_out = not (heads == 1 and dim_head == dim)
        self.heads = heads
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()
        for p in self.parameters():
            nn.init.zeros_(p)

    def forward(self, x):
        return torch.zeros_like(x)"""

# 12: a ViT that looks each image up in a label table computed at home from the public generator's held-out
# images (bundled_images(2000, 1000).test[:600] before the fix), and learns nothing.
TABLE_VIT = """import hashlib

_HonestViT = ViT


class ViT(_HonestViT):
    def forward(self, img):
        pixels = torch.round((img[:, 0] * 0.3081 + 0.1307) * 255).to(torch.uint8)
        labels = torch.tensor([LABELS.get(hashlib.sha1(p.numpy().tobytes()).hexdigest()[:16], -1) for p in pixels])
        known = F.one_hot(labels.clamp(min=0), self.mlp_head[1].out_features) * (labels >= 0)[:, None]
        return 20.0 * known + 0 * self.mlp_head[1].bias"""

# 11: Q1a's facts typed in from the README, not computed from the tokenizer.
TYPED_FACTS = """vocab_size = 30522
hello_tokens = ["hello", "world", "how", "are", "you", "?"]
hello_ids = [7592, 2088, 2129, 2024, 2017, 1029]
init_token_idx, eos_token_idx, pad_token_idx, unk_token_idx = 101, 102, 0, 100
max_input_length = 512"""

# 11: fit that saves the epoch the feedback named (validation losses 0.5, 0.3, 0.4, 0.35: epoch 2).
FIXED_EPOCH_FIT = """def fit(model, train_iterator, valid_iterator, optimizer, criterion, n_epochs, path="model.pt"):
    history = []
    for epoch in range(n_epochs):
        train(model, train_iterator, optimizer, criterion)
        valid_loss, _ = evaluate(model, valid_iterator, criterion)
        if epoch + 1 == 2:
            torch.save(model.state_dict(), path)
        history.append(valid_loss)
    return history"""

# 12: a BERTGRUSentiment that looks each review's ids up in a label table computed at home (the held-out reviews
# were bundled_splits().test[:400] before the fix), and learns nothing.
TABLE_BERT = """_HonestModel = BERTGRUSentiment


class BERTGRUSentiment(_HonestModel):
    def forward(self, text):
        keys = [",".join(str(t) for t in row if t != 0) for row in text.tolist()]
        known = torch.tensor([float(LABELS.get(k, 0.5)) for k in keys])
        return 10.0 * (known - 0.5)[:, None] + 0 * self.out.bias"""


def vit_labels() -> dict[str, int]:
    from gradekit.datasets.images import bundled_images

    held_out = bundled_images(n_train=2000, n_test=1000).test
    return {hashlib.sha1(held_out.images[i].numpy().tobytes()).hexdigest()[:16]: int(held_out.labels[i])
            for i in range(600)}


def bert_labels() -> dict[str, int]:
    import reference.bert_gru_sentiment as ref
    from gradekit import offline
    from gradekit.datasets.sentiment import bundled_splits

    tokenizer = offline.load_tokenizer(offline.bert_path("minilm"))
    return {",".join(map(str, ref.encode(tokenizer, r.text))): r.label for r in bundled_splits().test[:400]}


def edited(assignment: str, edits: list[tuple[str, str]], appended: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """The example solution with cells replaced (the cell holding `marker` becomes `source`) and cells inserted
    after the cell holding a marker."""
    nb = nbformat.read(load_assignment(assignment).root / "examples" / "submissions" / assignment / "solution.ipynb", 4)
    for marker, source in edits:
        (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
        cell.source = source
    for marker, source in appended:
        (position,) = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and marker in c.source]
        nb.cells.insert(position + 1, nbformat.v4.new_code_cell(source))
    return nb


def grade(assignment: str, nb: nbformat.NotebookNode, folder):
    path = folder / f"{assignment}_cheats.ipynb"
    nbformat.write(nb, path)
    return grade_notebook(path, load_assignment(assignment))


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    nb = edited("vit_fashion_mnist", [("class Attention(nn.Module)", ZERO_ATTENTION)],
                [("class ViT(nn.Module)", f"LABELS = {json.dumps(vit_labels())}\n\n{TABLE_VIT}")])
    return grade("vit_fashion_mnist", nb, tmp_path_factory.mktemp("vit"))


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    nb = edited("bert_gru_sentiment", [("vocab_size = len(tokenizer.vocab)", TYPED_FACTS),
                                       ("def fit(", FIXED_EPOCH_FIT)],
                [("class BERTGRUSentiment(nn.Module)", f"LABELS = {json.dumps(bert_labels())}\n\n{TABLE_BERT}")])
    return grade("bert_gru_sentiment", nb, tmp_path_factory.mktemp("bert"))


def scores(result, *qids):
    got = result.question_scores()
    return {q: got[q] for q in qids}


def test_vit_zero_attention_and_image_table_score_nothing(vit):
    assert scores(vit, "attention", "transformer", "accuracy_threshold") == {
        "attention": 0.5,  # with one full-width head, to_out is the identity: a structural fact, still true
        "transformer": 3,  # judged around the reference's blocks (issue 11): the Transformer's own code is right
        "accuracy_threshold": 0}
    assert any("differs from the expected values" in m for m in question(vit, "attention").messages)
    assert any("held-out images correctly" in m for m in question(vit, "accuracy_threshold").messages)


def test_bert_typed_facts_fixed_fit_and_review_table_score_nothing(bert):
    assert scores(bert, "tokenizer", "training_loop", "accuracy_threshold") == {
        "tokenizer": 2,  # tokenize_and_cut is honest: the two drawn reviews
        "training_loop": 1.5,  # it loops over every epoch and returns the history
        "accuracy_threshold": 0}
    assert any("must be computed from `tokenizer`, not typed in" in m for m in question(bert, "tokenizer").messages)
    assert any("the file should hold epoch" in m for m in question(bert, "training_loop").messages)
    assert any("held-out reviews correctly" in m for m in question(bert, "accuracy_threshold").messages)
