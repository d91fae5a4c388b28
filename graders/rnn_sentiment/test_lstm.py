"""Q4 LSTM: shapes, then the recurrence itself, computed on the host with weights the host drew.

Weights are drawn for every parameter of the student's LSTM (by name and shape, fresh each grading run) and
loaded into it before it runs: with weights of its own choosing (all zeros, say) a module that computes nothing
would match the equations. The drawn weights are then read by shape (input blocks (k*H, I), hidden blocks
(k*H, H), biases of k*H), laid end to end in parameter order, and mapped into the reference equations under
each of the 24 orders of the four gates. An LSTM is correct when one order reproduces every time step; the
message names that order.
"""

import itertools

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from gradekit import checks

Q = "lstm"
IN, H = 7, 5  # different sizes, so input and hidden weights can be told apart by shape
GATES = "ifgo"  # the reference's order: input, forget, candidate, output


def blocks(params, cols):
    """Concatenate parameter tensors whose shape is (k*H, cols) (or the transpose) in order."""
    out = []
    for p in params:
        v = p["value"]
        if v.dim() == 2 and v.shape[1] == cols and v.shape[0] % H == 0 and v.shape[0] != cols:
            out.append(v)
        elif v.dim() == 2 and v.shape[0] == cols and v.shape[1] % H == 0 and v.shape[1] != cols:
            out.append(v.T)
    return torch.cat(out) if out else torch.empty(0, cols)


def student_weights(params):
    """(W_ih (4H, I), W_hh (4H, H), b (4H,)) laid out in the student's own gate order, or a failure.
    `params`: [{name, shape, value}] in the module's parameter order."""
    W_ih, W_hh = blocks(params, IN), blocks(params, H)
    biases = [p["value"] for p in params if p["value"].dim() == 1 and p["value"].shape[0] % H == 0]
    b = torch.cat(biases) if biases else torch.zeros(4 * H)
    if b.shape[0] == 8 * H:  # separate input and hidden biases: they add up
        b = b[: 4 * H] + b[4 * H :]
    if W_ih.shape != (4 * H, IN) or W_hh.shape != (4 * H, H) or b.shape != (4 * H,):
        pytest.fail(
            f"LSTM({IN}, {H}): could not find the four gates' weights (expected input weights of shape "
            f"({4 * H}, {IN}), hidden weights ({4 * H}, {H}) and biases ({4 * H},), in one tensor each or one per "
            f"gate); found {[(p['name'], tuple(p['shape'])) for p in params]}")
    return W_ih, W_hh, b


def reorder(t, order):
    """Rows of `t` rearranged from the student's gate order into the reference's i, f, g, o."""
    chunks = dict(zip(order, t.chunk(4), strict=True))
    return torch.cat([chunks[g] for g in GATES])


def best_gate_order(reference, weights, x, lengths, h_seq):
    """The gate order whose reference run is closest to the student's outputs, and that distance."""
    W_ih, W_hh, b = weights
    best = (None, float("inf"), None)
    for order in itertools.permutations(GATES):
        expected, h_n, c_n = reference.lstm_sequence(
            x, reorder(W_ih, order), reorder(W_hh, order), reorder(b, order), torch.zeros(4 * H),
            lengths=lengths)
        err = (expected - h_seq).abs().max().item()
        if err < best[1]:
            best = ("".join(order), err, (expected, h_n, c_n))
    return best


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
        pytest.fail(
            f"LSTM: with the graders' weights loaded, h_seq differs from the LSTM equations from time step {step} "
            f"on (closest gate order {', '.join(order)}; largest difference {err:.3g}). Check the order of the "
            "updates: c = f * c + i * g first, then h = o * tanh(c) with the new c")
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
def test_parameter_count_matches_nn_lstm(submission):
    """Has as many parameters as nn.LSTM(100, 256)"""
    reading = checks.read_module(submission.new("LSTM", 100, 256))
    count = checks.trainable_count(reading.rows)
    expected = sum(p.numel() for p in torch.nn.LSTM(100, 256).parameters())
    assert count == expected, (
        f"LSTM(100, 256) has {count:,} trainable parameters, expected {expected:,} (4 gates x hidden x "
        "(input + hidden + 2 biases))")
    reading.assert_agrees()
