"""Q2a-Q2c: the notebook's model has the asked shape; parameter counts around an untrained bert-base-uncased
(built on the meta device: counts need shapes, not memory), with BERT and with BERT frozen. Modules and
parameters are read with the agent's gk_* helpers, from the module tree's storage, and counted on the host; a
model whose own state_dict() or parameters() report something else fails (gradekit.checks.disagreement)."""

import pytest
import torch

from gradekit import checks

# Reads the shape of the student's model from its modules, whatever the attribute names.
DESCRIBE = """
import torch.nn as nn
m = model
modules = gk_modules(m)
grus = [x for _, x in modules if isinstance(x, nn.GRU)]
linears = [x for n, x in modules if isinstance(x, nn.Linear) and not n.startswith("bert")]
drops = [x.p for n, x in modules if isinstance(x, nn.Dropout) and not n.startswith("bert")]
result = {
    "type": type(m).__name__,
    "gru": [dict(hidden=g.hidden_size, layers=g.num_layers, bidirectional=g.bidirectional, dropout=g.dropout,
                 batch_first=g.batch_first, input=g.input_size) for g in grus],
    "linear_out": [(x.in_features, x.out_features) for x in linears],
    "dropout": drops,
    "parameters": gk_rows(m),
    "audit": gk_audit(m),
}
"""

BUILD_BIG = """
import torch
from transformers import BertConfig, BertModel
with torch.device("meta"):
    big_bert = BertModel(BertConfig())
torch.manual_seed(0)
big = BERTGRUSentiment(big_bert, 256, 1, 2, True, 0.25)
before = gk_rows(big)
frozen = None
if freeze:
    freeze_bert(big)
    frozen = gk_rows(big)
result = {"before": before, "frozen": frozen, "audit": gk_audit(big)}
"""


def counted(out, label: str, which: str) -> tuple[int, str]:
    """(the trainable count of a BUILD_BIG run, why the model does not report what it holds or "")."""
    if not isinstance(out, dict):
        checks.parameter_rows(None, label)
    return (checks.trainable_count(checks.parameter_rows(out.get(which), label)),
            checks.disagreement(out.get("audit"), label))


@pytest.fixture(scope="module")
def notebook_model(submission):
    out = submission.run(DESCRIBE, what="your `model`", name="model")
    rows = checks.parameter_rows(out.get("parameters") if isinstance(out, dict) else None, "`model`")
    out["bert_trainable"] = checks.trainable_count([r for r in rows if r["name"].startswith("bert")])
    return out


@pytest.fixture(scope="module")
def expected_counts(reference):
    from gradekit.offline import bert_base_untrained

    model = reference.BERTGRUSentiment(bert_base_untrained(), 256, 1, 2, True, 0.25)
    before = reference.count_parameters(model)
    reference.freeze_bert(model)
    return before, reference.count_parameters(model)


@pytest.mark.question("model_init", points=1)
def test_model_is_a_bertgrusentiment(notebook_model):
    """`model` is a BERTGRUSentiment"""
    assert notebook_model["type"] == "BERTGRUSentiment", f"`model` is a {notebook_model['type']}"


@pytest.mark.question("model_init", points=1)
def test_gru_hyperparameters(notebook_model):
    """The GRU has hidden size 256, 2 layers, is bidirectional, batch first, dropout 0.25"""
    grus = notebook_model["gru"]
    assert len(grus) == 1, f"`model` should hold one nn.GRU; it holds {len(grus)}"
    got = {k: grus[0][k] for k in ("hidden", "layers", "bidirectional", "batch_first")}
    want = {"hidden": 256, "layers": 2, "bidirectional": True, "batch_first": True}
    assert got == want, f"the GRU is {got}, expected {want}"
    assert abs(grus[0]["dropout"] - 0.25) < 1e-9, f"the GRU's dropout between layers is {grus[0]['dropout']}"


@pytest.mark.question("model_init", points=1)
def test_output_layer(notebook_model):
    """One linear layer from both directions' final states (512) to one logit, after dropout 0.25"""
    assert (512, 1) in notebook_model["linear_out"], (
        f"expected a Linear(512, 1) on the concatenated final states; found {notebook_model['linear_out']}")
    assert 0.25 in notebook_model["dropout"], f"expected nn.Dropout(0.25); found {notebook_model['dropout']}"


@pytest.mark.question("model_init", points=1)
def test_forward_gives_one_logit_per_review(submission, tiny_bert, gen):
    """forward maps (batch, seq_len) ids to (batch, 1) logits"""
    model = submission.new("BERTGRUSentiment", tiny_bert, 16, 1, 2, True, 0.25)
    for batch in (1, 3):
        text = torch.randint(1000, 2000, (batch, 7), generator=gen)
        checks.shape(model(text, no_grad=True), (batch, 1), f"BERTGRUSentiment output for {batch} review(s)")


@pytest.mark.question("model_init", points=1, hidden=True)
def test_dropout_only_in_training_mode(submission, tiny_bert, gen):
    """Dropout is active in train mode and not in eval mode"""
    model = submission.new("BERTGRUSentiment", tiny_bert, 64, 1, 2, True, 0.5)
    text = torch.randint(1000, 2000, (4, 9), generator=gen)
    model.method("train")
    a, b = model(text, no_grad=True), model(text, no_grad=True)
    model.method("eval")
    c, d = model(text, no_grad=True), model(text, no_grad=True)
    assert not torch.equal(checks.tensor(a, "output"), checks.tensor(b, "output")), (
        "two forward passes in train mode gave identical outputs: apply self.dropout to the final hidden state")
    assert torch.equal(checks.tensor(c, "output"), checks.tensor(d, "output")), (
        "two forward passes in eval mode differ: is something random outside nn.Dropout?")


@pytest.mark.question("param_count", points=2)
def test_count_with_bert(submission, expected_counts):
    """Around bert-base-uncased, BERTGRUSentiment has 112,241,409 trainable parameters"""
    label = "BERTGRUSentiment(bert-base-uncased, 256, 1, 2, True, 0.25)"
    got, why = counted(submission.run(BUILD_BIG, what=label, name="BERTGRUSentiment", freeze=False), label, "before")
    want = expected_counts[0]
    assert got == want, f"Q2b: {got:,} trainable parameters, expected {want:,}"
    assert not why, why


@pytest.mark.question("param_count_frozen", points=2)
def test_count_after_freeze_bert(submission, expected_counts):
    """After freeze_bert, 2,759,169 trainable parameters remain"""
    label = "freeze_bert on BERTGRUSentiment(bert-base-uncased, ...)"
    got, why = counted(submission.run(BUILD_BIG, what=label, name="freeze_bert", freeze=True), label, "frozen")
    before, want = expected_counts
    if got == before:
        pytest.fail(f"Q2c: {got:,} trainable parameters, expected {want:,}: BERT is not frozen (every bert.* "
                    "parameter must have requires_grad=False)")
    assert got == want, f"Q2c: {got:,} trainable parameters after freeze_bert, expected {want:,}"
    assert not why, why


@pytest.mark.question("param_count_frozen", points=1)
def test_notebook_model_is_frozen(notebook_model):
    """The notebook's `model` has BERT frozen"""
    left = notebook_model["bert_trainable"]
    assert left == 0, (f"Q2c: {left:,} of `model`'s BERT parameters still require gradient: call "
                       "freeze_bert(model)")
    checks.agrees_with_storage(notebook_model.get("audit"), "`model`")
