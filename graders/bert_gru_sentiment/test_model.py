"""Q2a-Q2c: the notebook's model has the asked shape and computes what the notebook asks (head.py: the student's
class around a small BertModel, every weight drawn on the host, against the reference holding the same weights, in
configurations where each usual wrong reading of the GRU's result shows); parameter counts around an untrained
bert-base-uncased (built on the meta device: counts need shapes, not memory), with BERT and with BERT frozen.
Modules and parameters are read with the agent's gk_* helpers, from the module tree's storage, and counted on the
host; a model whose own state_dict() or parameters() report something else fails (gradekit.checks.disagreement)."""

import pytest
import torch

from gradekit import checks

from . import head as heads

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


def still_trainable(out: dict) -> str:
    """", of which BERT's ... still require gradient: ...", naming the parts of BERT freeze_bert left out (a
    partial freeze: only the encoder, say), or "" when BERT is frozen."""
    groups = sorted({".".join(r["name"].split(".")[:2]) for r in out["frozen"]
                     if r["name"].startswith("bert") and r["requires_grad"]})
    if not groups:
        return ""
    return (f", of which BERT's {', '.join(groups[:4])} still require gradient: freeze every bert.* parameter, not "
            "some layers")


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
    """The GRU has hidden size 256, 2 layers, is bidirectional, dropout 0.25"""
    # batch_first is not required here: a GRU that is not batch first, fed BERT's output transposed, computes the
    # same, and test_forward_matches_reference judges what it computes.
    grus = notebook_model["gru"]
    assert len(grus) == 1, f"`model` should hold one nn.GRU; it holds {len(grus)}"
    got = {k: grus[0][k] for k in ("hidden", "layers", "bidirectional")}
    want = {"hidden": 256, "layers": 2, "bidirectional": True}
    assert got == want, f"the GRU is {got}, expected {want}"
    assert abs(grus[0]["dropout"] - 0.25) < 1e-9, f"the GRU's dropout between layers is {grus[0]['dropout']}"


@pytest.mark.question("model_init", points=1)
def test_output_layer(notebook_model):
    """One linear layer from both directions' final states (512) to one logit"""
    # Dropout is judged by what it does (test_dropout_on_the_final_state): nn.Dropout or F.dropout alike.
    assert (512, 1) in notebook_model["linear_out"], (
        f"expected a Linear(512, 1) on the concatenated final states; found {notebook_model['linear_out']}")


@pytest.mark.question("model_init", points=1)
def test_forward_gives_one_logit_per_review(submission, tiny_bert, gen):
    """forward maps (batch, seq_len) ids to (batch, 1) logits"""
    model = submission.new("BERTGRUSentiment", tiny_bert, 16, 1, 2, True, 0.25)
    for batch in (1, 3):
        text = torch.randint(1000, 2000, (batch, 7), generator=gen)
        checks.shape(model(text, no_grad=True), (batch, 1), f"BERTGRUSentiment output for {batch} review(s)")


HEADS = [heads.Head(12, 1, 2, True), heads.Head(12, 2, 2, False), heads.Head(10, 1, 1, True),
         heads.Head(10, 3, 1, False)]


@pytest.mark.parametrize("head", HEADS, ids=str)
@pytest.mark.question("model_init", points=0.5)
def test_forward_matches_reference(submission, head, gen, record_property):
    """With weights the graders draw, the logits are the reference's: the last layer's final states"""
    model = heads.build(submission, head)
    target = heads.reference_with(checks.load_drawn_weights(submission, model, gen), head)
    text = heads.ids(gen, 3, 7)
    got = checks.shape(model(text, no_grad=True), (3, head.output_dim), f"{head.label} output")
    right, wrong = heads.readings(target, text, head)
    for how, want in right.items():
        if torch.allclose(got.double(), want.double(), atol=1e-5, rtol=1e-4):
            if how:
                record_property("info", f"the two directions side by side, {how}")
            return
    for mistake, want in wrong.items():
        if torch.allclose(got.double(), want.double(), atol=1e-5, rtol=1e-4):
            pytest.fail(f"{head.label}: the logits are those of {mistake}")
    checks.close(got, right[""], f"{head.label}'s logits, compared with the reference holding the same weights",
                 atol=1e-5, hint="run BERT, the GRU on its token vectors (batch first), then the linear layer on the "
                                 "last layer's final hidden state (torch.cat((hidden[-2], hidden[-1]), dim=1) when "
                                 "bidirectional, hidden[-1] otherwise)")


@pytest.mark.question("model_init", points=1, hidden=True)
def test_dropout_on_the_final_state(submission, gen):
    """In train mode dropout(p=dropout) acts on the final hidden state; in eval mode nothing is random"""
    # The output layer is made the identity (output_dim = the state's width), so the logits are the final state
    # itself: in train mode some of its values must be zero and the rest scaled by 1 / (1 - p). BERT's own dropout
    # is off and one GRU layer has none, so nothing else is random.
    head = heads.Head(8, 16, 1, True, 0.5)
    model = heads.build(submission, head)
    weight, bias = heads.output_layer(checks.load_drawn_weights(submission, model, gen), head)
    checks.load_weights(submission, model, {weight: torch.eye(16), bias: torch.zeros(16)})
    text = heads.ids(gen, 32, 6)
    plain = checks.shape(model(text, no_grad=True), (32, 16), "BERTGRUSentiment output in eval mode")
    assert torch.equal(plain, checks.tensor(model(text, no_grad=True), "output")), (
        "two forward passes in eval mode differ: is something random outside nn.Dropout?")
    model.method("train")
    dropped = checks.shape(model(text, no_grad=True), (32, 16), "BERTGRUSentiment output in train mode")
    again = checks.tensor(model(text, no_grad=True), "BERTGRUSentiment output in train mode")
    assert not torch.equal(dropped, again), (
        "two forward passes in train mode gave identical outputs: apply self.dropout to the final hidden state")
    zeroed = dropped.abs() < 1e-7
    kept = ~zeroed & (plain.abs() > 1e-4)
    scale = (dropped[kept] / plain[kept]).median().item() if kept.any() else 0.0
    masked = torch.allclose(dropped[~zeroed], plain[~zeroed] * scale, atol=1e-5, rtol=1e-4)
    assert masked, ("in train mode the logits are not the final hidden state with some values dropped (the output "
                    "layer held the identity): apply self.dropout to the final hidden state, just before the linear "
                    "layer, and nowhere else")
    share = zeroed.float().mean().item()
    assert 0.35 < share < 0.65 and abs(scale - 2) < 1e-3, (
        f"with dropout=0.5, dropout zeroed {share:.0%} of the final state's values and scaled the rest by "
        f"{scale:.3g}; nn.Dropout(dropout) zeroes about half and doubles the rest: use the `dropout` argument")


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
    out = submission.run(BUILD_BIG, what=label, name="freeze_bert", freeze=True)
    got, why = counted(out, label, "frozen")
    before, want = expected_counts
    if got == before:
        pytest.fail(f"Q2c: {got:,} trainable parameters, expected {want:,}: BERT is not frozen (every bert.* "
                    "parameter must have requires_grad=False)")
    assert got == want, f"Q2c: {got:,} trainable parameters after freeze_bert, expected {want:,}{still_trainable(out)}"
    assert not why, why


@pytest.mark.question("param_count_frozen", points=1)
def test_notebook_model_is_frozen(notebook_model):
    """The notebook's `model` has BERT frozen"""
    left = notebook_model["bert_trainable"]
    assert left == 0, (f"Q2c: {left:,} of `model`'s BERT parameters still require gradient: call "
                       "freeze_bert(model), and let it freeze every bert.* parameter")
    checks.agrees_with_storage(notebook_model.get("audit"), "`model`")
