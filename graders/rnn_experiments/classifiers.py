"""Checks LSTMClassifier and GRUClassifier share: each test file calls these with its own class and points.

The central one maps the student's own weights into the reference classifier and compares the logits: the
recurrent layer's parameters are found by nn.LSTM / nn.GRU's names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...)
whatever the attribute is called, the embedding by its shape (vocab, embedding), the output layer by what is
left. A model whose linear layer reads every padded time step, or whose "embedding" is not an embedding table,
is named as such. Both orders of the two directions' states are accepted (forward first is torch's own).
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass
from random import Random

import pytest
import torch

import reference.rnn_experiments as ref
from gradekit import checks
from gradekit.proxy import Remote, Submission, SubmissionError

RNN_PARAM = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<suffix>(?:weight|bias)_(?:ih|hh)_l\d+(?:_reverse)?)$")
REFERENCE = {"LSTMClassifier": ref.LSTMClassifier, "GRUClassifier": ref.GRUClassifier}
LAYER = {"LSTMClassifier": "nn.LSTM", "GRUClassifier": "nn.GRU"}


@dataclass(frozen=True)
class Arch:
    """The constructor's arguments, in the notebook's order."""

    vocab_size: int
    embedding_dim: int
    hidden_dim: int
    output_dim: int
    n_layers: int
    dropout_rate: float
    pad_index: int
    bidirectional: bool

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def label(self, name: str) -> str:
        return f"{name}{astuple(self)}"


def random_arch(pyrng: Random, n_layers: int = 1, bidirectional: bool = False, dropout_rate: float = 0.0,
                pad_index: int = 1) -> Arch:
    """Sizes drawn per run and told apart by shape: vocab 60-90, embedding 5-9, hidden 10-14, 2 or 3 outputs.
    pad_index 1, not the notebook's 0, so a hard-coded 0 shows."""
    return Arch(pyrng.randint(60, 90), pyrng.randint(5, 9), pyrng.randint(10, 14), pyrng.choice([2, 3]), n_layers,
                dropout_rate, pad_index, bidirectional)


SMALL = Arch(60, 5, 10, 2, 1, 0.0, 1, False)


def constructible(submission: Submission, name: str, forward: bool = False) -> None:
    """Build the class once on a small fixed configuration (and, with `forward`, check it has an embedding table
    and run it once). When that fails, every check that needs it fails with this one reason: an untouched template
    reads one "not implemented" line, a model that cannot run one message, not one per configuration."""
    model = submission.new(name, *astuple(SMALL))
    if not forward:
        return
    shapes = {p["name"]: tuple(p["shape"]) for p in model.parameters()}
    if (SMALL.vocab_size, SMALL.embedding_dim) not in shapes.values():
        recurrent = sorted({m.group("prefix").rstrip(".") for n in shapes if (m := RNN_PARAM.match(n))})
        misused = [p for p in recurrent if "emb" in p.lower()]
        why = f" (`{misused[0]}` is a recurrent layer, not an embedding)" if misused else ""
        raise SubmissionError(f"{name} has no embedding table of shape (vocab_size, embedding_dim){why}: the "
                              "embedding must be nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index), "
                              "and the recurrent layer reads its vectors")
    model.method("eval")
    ids, length = padded_batch(torch.Generator().manual_seed(0), SMALL, [4, 2])
    model(ids, length, no_grad=True)


def padded_batch(gen: torch.Generator, arch: Arch, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (B, T) padded with the arch's pad_index (real ids never equal it), and lengths (B,)."""
    ids = torch.full((len(lengths), max(lengths)), arch.pad_index, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(2, arch.vocab_size, (n,), generator=gen)
    return ids, torch.tensor(lengths)


def build(submission: Submission, name: str, arch: Arch, mode: str = "eval") -> Remote:
    model = submission.new(name, *astuple(arch))
    model.method(mode)
    return model


def logits(model: Remote, ids: torch.Tensor, length: torch.Tensor, arch: Arch, what: str) -> torch.Tensor:
    return checks.shape(model(ids, length, no_grad=True), (ids.shape[0], arch.output_dim), what)


def reference_with_your_weights(model: Remote, name: str, arch: Arch) -> ref.RecurrentClassifier:
    """The reference classifier holding the student's weights, or a failed check naming what does not fit."""
    label = arch.label(name)
    params = {p["name"]: p["value"] for p in model.parameters(values=True)}
    recurrent: dict[str, dict[str, torch.Tensor]] = {}
    others: dict[str, torch.Tensor] = {}
    for key, value in params.items():
        m = RNN_PARAM.match(key)
        if m:
            recurrent.setdefault(m.group("prefix"), {})[m.group("suffix")] = value
        else:
            others[key] = value
    tables = [k for k, v in others.items() if tuple(v.shape) == (arch.vocab_size, arch.embedding_dim)]
    if len(tables) != 1:
        misused = [p.rstrip(".") for p in recurrent if "emb" in p.lower()]
        why = f" (`{misused[0]}` is a recurrent layer, not an embedding)" if misused else ""
        pytest.fail(f"{label} has no embedding table of shape ({arch.vocab_size}, {arch.embedding_dim}){why}: the "
                    "embedding must be nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index), and the "
                    "recurrent layer reads its vectors")
    target = REFERENCE[name](*astuple(arch)).eval()
    expected = {k: v.shape for k, v in target.rnn.named_parameters()}
    if not recurrent:
        pytest.fail(f"{label} has no {LAYER[name]}: no parameters named like weight_ih_l0 (found "
                    f"{', '.join(params) or 'none'})")
    if len(recurrent) > 1:
        pytest.fail(f"{label} has {len(recurrent)} recurrent layers ({', '.join(p.rstrip('.') for p in recurrent)}); "
                    f"one {LAYER[name]} with n_layers={arch.n_layers} holds all the layers")
    (prefix, found), = recurrent.items()
    if set(found) != set(expected):
        pytest.fail(f"{label}: {prefix.rstrip('.') or 'the recurrent layer'} has the parameters {sorted(found)}; "
                    f"{LAYER[name]} with n_layers={arch.n_layers} and bidirectional={arch.bidirectional} has "
                    f"{sorted(expected)}")
    wrong = [f"{k} {checks.fmt_shape(v.shape)} (expected {checks.fmt_shape(expected[k])})" for k, v in found.items()
             if v.shape != expected[k]]
    if wrong:
        pytest.fail(f"{label}: the recurrent layer's weights have other shapes than {LAYER[name]}"
                    f"({arch.embedding_dim}, {arch.hidden_dim}) reading the embeddings: {', '.join(wrong[:3])}")
    embedding = others.pop(tables[0])
    weights = [k for k, v in others.items() if v.dim() == 2]
    biases = [k for k, v in others.items() if v.dim() == 1]
    if len(weights) != 1 or len(biases) != 1 or others[weights[0]].shape[0] != arch.output_dim:
        pytest.fail(f"{label}: expected one nn.Linear to {arch.output_dim} outputs after the recurrent layer; "
                    f"the other parameters are {[(k, checks.fmt_shape(v.shape)) for k, v in others.items()]}")
    fc_w, fc_b = others[weights[0]], others[biases[0]]
    state = arch.hidden_dim * arch.directions
    if fc_w.shape[1] != state:
        per_step = fc_w.shape[1] / state
        why = (f"{per_step:g} time steps x {state} state features: it reads every (padded) time step's output"
               if per_step == int(per_step) and per_step > 1 else "that is not the size of the final hidden state")
        pytest.fail(f"{label}: the linear layer {weights[0].removesuffix('.weight')} takes {fc_w.shape[1]:,} inputs "
                    f"({why}). Predict from the final hidden state of the last layer, {state} features "
                    "(h_n[-1], or torch.cat((h_n[-2], h_n[-1]), dim=1) when bidirectional)")
    with torch.no_grad():
        target.embedding.weight.copy_(embedding)
        for key, value in found.items():
            target.rnn.get_parameter(key).copy_(value)
        target.fc.weight.copy_(fc_w)
        target.fc.bias.copy_(fc_b)
    return target


def matches_reference(submission: Submission, name: str, arch: Arch, gen: torch.Generator,
                      record_property) -> None:
    """Logits equal the reference's with the student's own weights, on a padded batch."""
    model = build(submission, name, arch)
    target = reference_with_your_weights(model, name, arch)
    ids, length = padded_batch(gen, arch, [9, 4, 1, 7, 9])
    got = logits(model, ids, length, arch, f"{arch.label(name)} output")
    with torch.no_grad():
        want = target(ids, length)
        orders = {"forward direction first": want}
        if arch.bidirectional:  # the same weights, read as (backward, forward)
            H = arch.hidden_dim
            swapped = torch.cat((target.fc.weight[:, H:], target.fc.weight[:, :H]), dim=1)
            target.fc.weight.copy_(swapped)
            orders["backward direction first"] = target(ids, length)
    for order, expected in orders.items():
        if torch.allclose(got.double(), expected.double(), atol=1e-4, rtol=1e-4):
            if arch.bidirectional:
                record_property("info", f"both directions of the last layer, {order}")
            return
    hint = ("predict from the final hidden state of the last layer (h_n[-1]; both directions side by side when "
            "bidirectional), through dropout and the linear layer, from packed embeddings")
    if torch.allclose(got.double(), torch.softmax(want.double(), dim=-1), atol=1e-4):
        hint = "return the logits: nn.CrossEntropyLoss applies the softmax itself"
    checks.close(got, want, f"{arch.label(name)}'s logits, compared with the reference holding your weights",
                 atol=1e-4, hint=hint)


def padding_does_not_change_a_review(submission: Submission, name: str, arch: Arch, gen: torch.Generator) -> None:
    model = build(submission, name, arch)
    ids, length = padded_batch(gen, arch, [10, 3, 6])
    batched = logits(model, ids, length, arch, f"{arch.label(name)} output")
    alone = logits(model, ids[1:2, :3], length[1:2], arch, f"{arch.label(name)} output for one review")
    checks.close(batched[1:2], alone, f"{arch.label(name)}: the logits of a 3-word review padded to 10 words",
                 atol=1e-5, hint="pack the embeddings with the lengths (pack_padded_sequence(..., length.cpu(), "
                                 "batch_first=True, enforce_sorted=False)) and predict from h_n, not from the padded "
                                 "outputs")


def padding_row_gets_no_gradient(submission: Submission, name: str, arch: Arch, gen: torch.Generator) -> None:
    model = build(submission, name, arch, mode="train")
    ids, length = padded_batch(gen, arch, [5, 2])
    grads = model.forward_backward(ids, length)["grads"]
    tables = [g for g in grads.values() if isinstance(g, torch.Tensor)
              and tuple(g.shape) == (arch.vocab_size, arch.embedding_dim)]
    if len(tables) != 1:
        pytest.fail(f"{arch.label(name)} has no embedding table of shape ({arch.vocab_size}, {arch.embedding_dim})")
    row = tables[0][arch.pad_index]
    assert torch.count_nonzero(row) == 0, (
        f"{arch.label(name)}: the embedding row of pad_index={arch.pad_index} receives gradient; give "
        "nn.Embedding padding_idx=pad_index")
    assert torch.count_nonzero(tables[0]) > 0, f"{arch.label(name)}: the embedding receives no gradient at all"


def dropout_in_train_mode_only(submission: Submission, name: str, arch: Arch, gen: torch.Generator) -> None:
    model = build(submission, name, arch, mode="train")
    ids, length = padded_batch(gen, arch, [8, 8, 5, 3])
    first, second = (logits(model, ids, length, arch, f"{arch.label(name)} output") for _ in range(2))
    assert not torch.allclose(first, second), (
        f"{arch.label(name)} gives the same logits twice in training mode: use dropout_rate (nn.Dropout on the "
        "embeddings and the hidden state, and dropout between the recurrent layers)")
    model.method("eval")
    first, second = (logits(model, ids, length, arch, f"{arch.label(name)} output") for _ in range(2))
    checks.close(first, second, f"{arch.label(name)} in eval mode, run twice", atol=1e-6,
                 hint="dropout must be off in eval mode (use nn.Dropout, not F.dropout with training=True)")


def output_shape(submission: Submission, name: str, arch: Arch, gen: torch.Generator) -> None:
    model = build(submission, name, arch)
    ids, length = padded_batch(gen, arch, [6, 2, 4, 6])
    logits(model, ids, length, arch, f"{arch.label(name)} output for a batch of 4")
