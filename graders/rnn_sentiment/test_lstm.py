"""Q4 LSTM: shapes, then the recurrence itself, computed on the host with weights the host drew.

Weights are drawn for every parameter of the student's LSTM (by name and shape, fresh each grading run) and
loaded into it before it runs: with weights of its own choosing (all zeros, say) a module that computes nothing
would match the equations. The drawn weights are then read by shape as four gates, in whatever layout the student
keeps them (see `readings`), and mapped into the reference equations under each of the 24 orders of the four gates.
An LSTM is correct when one order reproduces every time step; the message names that order. Only the layout check
asks for the notebook's two fused layers (issue 11: a layout departure costs that check, once).
"""

import itertools
from dataclasses import astuple, dataclass

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from gradekit import checks

Q = "lstm"
IN, H = 7, 5  # different sizes, so input and hidden weights can be told apart by shape
GATES = "ifgo"  # the reference's order: input, forget, candidate, output


# -- the student's parameters, read as four gates ------------------------------------------------------------
#
# The gates may live in two fused layers (the notebook's layout), in one Linear per gate and per source, in raw
# Parameters used as x @ W, in one Linear over [x, h], with a hidden-side bias or without, with one bias per source
# or one per gate. Each parameter is read by its shape: (k*H, IN) or (IN, k*H) holds k gates' input weights,
# (k*H, H) or (H, k*H) hidden weights (a square (H, H) one in either orientation), (k*H, IN + H) both, in either
# column order; vectors of k*H are biases, which add up per gate. Every reading that gives four gates is tried
# under each of the 24 orders of the gates (the LSTM is judged by the mathematics, not by its layout).


@dataclass(frozen=True)
class Reading:
    """The student's weights in the reference's shapes, gates still in the student's own order."""

    W_ih: torch.Tensor  # (4H, IN)
    W_hh: torch.Tensor  # (4H, H)
    b: torch.Tensor  # (4H,)


def _gate_rows(params, square_transposed: bool, concat_x_first: bool):
    """(input chunks, hidden chunks, bias chunks), each a list of per-gate tensors in parameter order, or None
    when some parameter fits no gate."""
    xs, hs, bs = [], [], []
    for p in params:
        v = p["value"]
        rows = v.dim() == 2 and v.shape[0] % H == 0
        cols = v.dim() == 2 and v.shape[1] % H == 0
        if v.dim() == 1 and v.shape[0] % H == 0:
            bs += list(v.split(H))
        elif v.dim() == 2 and tuple(v.shape) == (H, H):
            hs.append(v.T if square_transposed else v)
        elif rows and v.shape[1] == IN:
            xs += list(v.split(H))
        elif cols and v.shape[0] == IN:
            xs += list(v.T.split(H))
        elif rows and v.shape[1] == H:
            hs += list(v.split(H))
        elif cols and v.shape[0] == H:
            hs += list(v.T.split(H))
        elif rows and v.shape[1] == IN + H or cols and v.shape[0] == IN + H:
            w = v if v.shape[1] == IN + H else v.T
            x, h = (w[:, :IN], w[:, IN:]) if concat_x_first else (w[:, H:], w[:, :H])
            xs += list(x.split(H))
            hs += list(h.split(H))
        else:
            return None
    return xs, hs, bs


def readings(params) -> list[Reading]:
    """Every way `params` ([{name, shape, value}] in parameter order) reads as an LSTM's four gates."""
    found = []
    for square_transposed in (False, True):
        for concat_x_first in (True, False):
            rows = _gate_rows(params, square_transposed, concat_x_first)
            if rows is None or len(rows[0]) != 4 or len(rows[1]) != 4:
                continue
            xs, hs, bs = rows
            if len(bs) == 0:
                sums = [[torch.zeros(4 * H)]]
            elif len(bs) == 4:  # one bias per gate, or a single side's
                sums = [[torch.cat(bs)]]
            elif len(bs) == 8:  # both sides: grouped by side (fused layers) or side by side per gate
                sums = [[torch.cat(bs[:4]), torch.cat(bs[4:])], [torch.cat(bs[0::2]), torch.cat(bs[1::2])]]
            else:
                continue
            for parts in sums:
                found.append(Reading(torch.cat(xs), torch.cat(hs), sum(parts)))
    unique = []
    for r in found:
        if not any(all(torch.equal(a, b) for a, b in zip(astuple(r), astuple(u), strict=True)) for u in unique):
            unique.append(r)
    return unique


def student_weights(params) -> list[Reading]:
    """The readings of the student's LSTM(IN, H) as four gates, or a failure naming what was found."""
    found = readings(params)
    if not found:
        pytest.fail(
            f"LSTM({IN}, {H}): could not find the four gates' weights (expected input weights of shape "
            f"({4 * H}, {IN}), hidden weights ({4 * H}, {H}) and biases ({4 * H},), in one tensor each or one per "
            f"gate); found {[(p['name'], tuple(p['shape'])) for p in params]}")
    return found


def reorder(t, order):
    """Rows of `t` rearranged from the student's gate order into the reference's i, f, g, o."""
    chunks = dict(zip(order, t.chunk(4), strict=True))
    return torch.cat([chunks[g] for g in GATES])


def best_gate_order(reference, weights: list[Reading], x, lengths, h_seq):
    """The gate order (over every reading of the weights) whose reference run is closest to the student's
    outputs, and that distance."""
    best = (None, float("inf"), None)
    for r in weights:
        for order in itertools.permutations(GATES):
            expected, h_n, c_n = reference.lstm_sequence(
                x, reorder(r.W_ih, order), reorder(r.W_hh, order), reorder(r.b, order), torch.zeros(4 * H),
                lengths=lengths)
            err = (expected - h_seq).abs().max().item()
            if err < best[1]:
                best = ("".join(order), err, (expected, h_n, c_n))
            if err < 1e-6:
                return best
    return best


# The usual mistakes in the recurrence, each a step (i, f, g, o pre-activations, c) -> (c_new, h_new), tried under every
# reading and gate order as the right equations are: the one that reproduces the student's h_seq is named.
def _step(i, f, g, o, c, candidate=torch.tanh, input_gate=None, h_tanh=True, h_from_new_c=True):
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i if input_gate is None else input_gate) * candidate(g)
    c_h = c_new if h_from_new_c else c
    return c_new, torch.sigmoid(o) * (torch.tanh(c_h) if h_tanh else c_h)


MISTAKES = (
    ("the candidate g goes through a sigmoid; it is g = tanh(W_ig x + W_hg h + b_g)",
     lambda i, f, g, o, c: _step(i, f, g, o, c, candidate=torch.sigmoid)),
    ("one gate is used twice and another not at all: c = f * c + i * g takes the forget gate f and the input gate "
     "i, each once", lambda i, f, g, o, c: _step(i, f, g, o, c, input_gate=f)),
    ("the new h has no tanh: h = o * tanh(c), not o * c", lambda i, f, g, o, c: _step(i, f, g, o, c, h_tanh=False)),
    ("h is computed from the old c: c = f * c + i * g first, then h = o * tanh(c) with the new c",
     lambda i, f, g, o, c: _step(i, f, g, o, c, h_from_new_c=False)),
)


def _recurrence(x, r: Reading, order: str, step) -> torch.Tensor:
    W_ih, W_hh, b = (reorder(t, order) for t in (r.W_ih, r.W_hh, r.b))
    h = c = torch.zeros(x.shape[1], H)
    out = []
    for x_t in x:
        c, h = step(*(x_t @ W_ih.T + h @ W_hh.T + b).chunk(4, dim=-1), c)
        out.append(h)
    return torch.stack(out)


def usual_mistake(weights: list[Reading], x, h_seq) -> str:
    """What the student's LSTM did, when it is one of MISTAKES under some reading and gate order; else ""."""
    for why, step in MISTAKES:
        for r in weights:
            for order in itertools.permutations(GATES):
                if (_recurrence(x, r, "".join(order), step) - h_seq).abs().max().item() < 1e-4:
                    return why
    return ""


def unpack(value, what):
    if isinstance(value, PackedSequence):
        return pad_packed_sequence(value)[0]
    return checks.tensor(value, what)


def run(submission, x, lengths=None, gen=None):
    """The student's LSTM(IN, H) on x (packed when `lengths` is given). With `gen`, weights drawn from it are
    loaded first; the weights come back as [{name, shape, value}] in parameter order (None without `gen`)."""
    lstm = submission.new("LSTM", IN, H)
    weights = None
    if gen is not None:
        rows = checks.read_module(lstm).rows
        drawn = checks.draw_like({row["name"]: row["shape"] for row in rows}, gen)
        checks.load_weights(submission, lstm, drawn)
        weights = [{**row, "value": drawn[row["name"]]} for row in rows]
    inputs = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
    out = lstm(inputs, no_grad=True)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], tuple) and len(out[1]) == 2):
        pytest.fail(f"LSTM.forward should return h_seq, (h, c) like nn.LSTM; it returned "
                    f"{checks.describe_value(out)}")
    h_seq, (h, c) = out
    return weights, unpack(h_seq, "h_seq"), h, c


@pytest.mark.parametrize("seq_len, batch", [(5, 3), (1, 1), (9, 1)])
@pytest.mark.question(Q, points=0.5)
def test_output_shapes(submission, seq_len, batch, gen):
    """h_seq, h and c have nn.LSTM's shapes"""
    x = torch.randn(seq_len, batch, IN, generator=gen)
    _, h_seq, h, c = run(submission, x)
    checks.shape(h_seq, (seq_len, batch, H), f"LSTM({IN}, {H}): h_seq")
    checks.shape(h, (1, batch, H), f"LSTM({IN}, {H}): h")
    checks.shape(c, (1, batch, H), f"LSTM({IN}, {H}): c")


@pytest.mark.question(Q, points=2)
def test_recurrence_matches_reference(submission, reference, gen, record_property):
    """Every time step follows the LSTM equations, with weights the graders load"""
    x = torch.randn(6, 4, IN, generator=gen)
    weights, h_seq, h, c = run(submission, x, gen=gen)
    checks.shape(h_seq, (6, 4, H), f"LSTM({IN}, {H}): h_seq")
    order, err, (expected, h_n, c_n) = best_gate_order(reference, student_weights(weights), x, None, h_seq)
    if err > 1e-4:
        step = int(((expected - h_seq).abs().amax(dim=(1, 2)) > 1e-4).nonzero()[0])
        why = usual_mistake(student_weights(weights), x, h_seq) or (
            f"closest gate order {', '.join(order)}; largest difference {err:.3g}. Check the order of the updates: "
            "c = f * c + i * g first, then h = o * tanh(c) with the new c")
        pytest.fail(f"LSTM: with the graders' weights loaded, h_seq differs from the LSTM equations from time step "
                    f"{step} on: {why}")
    if torch.allclose(c, h_n, atol=1e-5) and torch.allclose(h, c_n, atol=1e-5):
        pytest.fail("LSTM: h_seq follows the LSTM equations, but the final state comes back as (c, h): return "
                    "h_seq, (h, c), as nn.LSTM does (the classifier reads h from it)")
    checks.close(c, c_n, f"LSTM: final c (gate order found: {', '.join(order)})")
    checks.close(h, h_n, f"LSTM: final h (gate order found: {', '.join(order)})")
    record_property("info", f"gate order found in your weights: {', '.join(order)}")


@pytest.mark.question(Q, points=1)
def test_padding_does_not_change_final_state(submission, reference, gen):
    """With a PackedSequence, each sequence stops at its own length"""
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(6, 3, IN, generator=gen)
    weights, h_seq, h, c = run(submission, x, lengths, gen=gen)
    order, err, (expected, h_n, c_n) = best_gate_order(reference, student_weights(weights), x, lengths, h_seq)
    checks.close(h, h_n, "LSTM on a PackedSequence: final h",
                 hint="for time steps past a sequence's length, keep its h and c unchanged (use the mask)")
    checks.close(h_seq, expected, "LSTM on a PackedSequence: h_seq (padded back)",
                 hint="h_seq must be zero past each sequence's length")


@pytest.mark.question(Q, points=0.5, hidden=True)
def test_gates_in_two_layers(submission):
    """Keeps the four gates in W_xh and W_hh, as the notebook asks (nn.LSTM's parameters)"""
    reading = checks.read_module(submission.new("LSTM", 100, 256))
    shapes = sorted(tuple(row["shape"]) for row in reading.rows if row["requires_grad"])
    asked = sorted([(1024, 100), (1024,), (1024, 256), (1024,)])
    count, expected = checks.trainable_count(reading.rows), sum(p.numel() for p in torch.nn.LSTM(100, 256).parameters())
    assert shapes == asked, (
        f"LSTM(100, 256) keeps its gates in {len(shapes)} tensor(s) of shapes {shapes[:6]}"
        f"{' ...' if len(shapes) > 6 else ''} ({count:,} parameters); the notebook asks for all four gates in two "
        "layers, self.W_xh = nn.Linear(100, 4 * 256) and self.W_hh = nn.Linear(256, 4 * 256), with their biases "
        f"({expected:,} parameters, as nn.LSTM(100, 256) has)")
    reading.assert_agrees()
