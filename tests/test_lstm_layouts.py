"""The LSTM's gates found in any layout of the student's own parameters (graders/rnn_sentiment/test_lstm.py, issue 11
class 7): correct LSTMs written with fused layers, one Linear per gate and per source, raw Parameters used as x @ W,
one Linear over [x, h], with or without a hidden-side bias, in other gate orders, must each be matched by the
mathematics; an LSTM whose recurrence is wrong must not. (Fast: host only; the modules are our own code, standing in
for a student's.)"""

from __future__ import annotations

import pytest
import torch
from test_training_by_effect import grader
from torch import nn

import reference.rnn_sentiment as ref

lstm = grader("rnn_sentiment", "test_lstm")
IN, H = lstm.IN, lstm.H


class Cell(nn.Module):
    """An LSTM over (T, B, IN) whose pre-activations come from `gates(x_t, h)` -> (i, f, g, o)."""

    sigma_g = staticmethod(torch.tanh)

    def forward(self, x):
        h = c = torch.zeros(x.shape[1], H)
        out = []
        for x_t in x:
            i, f, g, o = self.gates(x_t, h)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.sigma_g(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out)


class Fused(Cell):  # the notebook's layout, in the order given
    def __init__(self, order="ifgo", hidden_bias=True):
        super().__init__()
        self.order = order
        self.W_xh, self.W_hh = nn.Linear(IN, 4 * H), nn.Linear(H, 4 * H, bias=hidden_bias)

    def gates(self, x, h):
        chunks = dict(zip(self.order, (self.W_xh(x) + self.W_hh(h)).chunk(4, -1), strict=True))
        return [chunks[k] for k in "ifgo"]


class PerGateInterleaved(Cell):  # (x-side, h-side) Linears per gate, defined gate by gate
    def __init__(self):
        super().__init__()
        self.per_gate = nn.ModuleList(nn.ModuleList([nn.Linear(IN, H), nn.Linear(H, H)]) for _ in range(4))

    def gates(self, x, h):
        return [wx(x) + wh(h) for wx, wh in self.per_gate]


class PerGateBySide(Cell):  # four x-side Linears, then four h-side ones without bias
    def __init__(self):
        super().__init__()
        self.xs = nn.ModuleList(nn.Linear(IN, H) for _ in range(4))
        self.hs = nn.ModuleList(nn.Linear(H, H, bias=False) for _ in range(4))

    def gates(self, x, h):
        return [wx(x) + wh(h) for wx, wh in zip(self.xs, self.hs, strict=True)]


class RawParameters(Cell):  # x @ W, h @ U (so the square U is used transposed), one bias
    def __init__(self):
        super().__init__()
        self.W, self.U, self.b = (nn.Parameter(torch.randn(*s)) for s in ((IN, 4 * H), (H, 4 * H), (4 * H,)))

    def gates(self, x, h):
        return (x @ self.W + h @ self.U + self.b).chunk(4, -1)


class RawPerGate(Cell):  # one (H, IN), one (H, H) and one bias Parameter per gate, gate order f, i, o, g
    def __init__(self):
        super().__init__()
        self.w = nn.ParameterList(nn.Parameter(torch.randn(H, IN)) for _ in range(4))
        self.u = nn.ParameterList(nn.Parameter(torch.randn(H, H)) for _ in range(4))
        self.b = nn.ParameterList(nn.Parameter(torch.randn(H)) for _ in range(4))

    def gates(self, x, h):
        f, i, o, g = (x @ w.T + h @ u.T + b for w, u, b in zip(self.w, self.u, self.b, strict=True))
        return i, f, g, o


class OverConcatenation(Cell):  # one Linear over [x, h]
    def __init__(self):
        super().__init__()
        self.W = nn.Linear(IN + H, 4 * H)

    def gates(self, x, h):
        return self.W(torch.cat([x, h], -1)).chunk(4, -1)


class SigmoidCandidate(Fused):  # wrong: g through a sigmoid
    sigma_g = staticmethod(torch.sigmoid)


CORRECT = [Fused, lambda: Fused("fiog"), lambda: Fused("gifo", hidden_bias=False), PerGateInterleaved, PerGateBySide,
           RawParameters, RawPerGate, OverConcatenation]
NAMES = ["fused", "fused_fiog", "fused_gifo_no_hidden_bias", "per_gate_interleaved", "per_gate_by_side",
         "raw_parameters", "raw_per_gate", "over_concatenation"]


def error(make) -> float:
    torch.manual_seed(0)
    module = make()
    for p in module.parameters():  # weights drawn as the grader draws them: every parameter, random
        nn.init.normal_(p)
    x = torch.randn(6, 4, IN)
    with torch.no_grad():
        h_seq = module(x)
    params = [{"name": n, "shape": list(p.shape), "value": p.detach()} for n, p in module.named_parameters()]
    _, err, _ = lstm.best_gate_order(ref, lstm.student_weights(params), x, None, h_seq)
    return err


@pytest.mark.parametrize("make", CORRECT, ids=NAMES)
def test_a_correct_lstm_is_found_in_its_layout(make):
    assert error(make) < 1e-5


def test_a_wrong_recurrence_is_not_matched_by_any_layout():
    assert error(SigmoidCandidate) > 1e-3
