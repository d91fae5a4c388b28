"""The answer key is right: each expected formula agrees with the layer it describes, computed in torch."""

import sympy
import torch

from gradekit.written.compare import concrete, numeric
from gradekit.written.latex import Vocabulary, read
from reference import theory_rnn_attention as ref


def expected(answer_id: str):
    _, spec = ref.MATH[answer_id]
    vocab = Vocabulary.from_spec(spec)
    return read(spec["expected"], vocab), vocab


def test_recurrence_closed_form_matches_running_the_rnn():
    reading, vocab = expected("rnn_recurrence")
    gen = torch.Generator().manual_seed(0)
    for length in (2, 4, 8, 12):
        x = torch.randn(length, generator=gen, dtype=torch.float64) * 1e-3
        h0 = 2e-4
        formula = numeric(concrete(reading, vocab, length))
        values = {sympy.IndexedBase("x")[i + 1]: float(x[i]) for i in range(length)}
        values[sympy.Symbol("h_0", real=True)] = h0
        assert abs(float(formula.xreplace(values)) - ref.rnn_output(x, h0).item()) < 1e-9


def orthogonal_tokens(beta: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    basis = dict(zip("abcd", beta * torch.eye(4, dtype=torch.float64), strict=True))
    x = torch.stack([basis["d"] + basis["b"], basis["a"], basis["c"] + basis["d"]])
    return basis, x


def vector(answer_id: str, beta: float) -> torch.Tensor:
    """The expected answer as a vector: its coefficients on a, b, c, d times those vectors."""
    reading, _ = expected(answer_id)
    basis, _ = orthogonal_tokens(beta)
    expr = reading.expr.xreplace({sympy.Symbol("beta", positive=True): beta})
    coeffs = [float(sympy.diff(expr, sympy.Symbol(n, real=True))) for n in "abcd"]
    return sum(c * basis[n] for c, n in zip(coeffs, "abcd", strict=True))


def test_norms():
    _, x = orthogonal_tokens(1.7)
    for i, answer_id in enumerate(["norm_x1", "norm_x2", "norm_x3"]):
        reading, _ = expected(answer_id)
        value = float(reading.expr.xreplace({sympy.Symbol("beta", positive=True): 1.7}))
        assert abs(value - x[i].norm().item()) < 1e-12


def test_exact_y2_matches_the_layer():
    for beta in (0.3, 1.0, 1.9):
        _, x = orthogonal_tokens(beta)
        assert torch.allclose(ref.self_attention(x)[1], vector("y2_exact", beta), atol=1e-10)


def test_limits_match_the_layer_at_large_beta():
    _, x = orthogonal_tokens(6.0)
    y = ref.self_attention(x)
    for i, answer_id in enumerate(["y1_limit", "y2_limit", "y3_limit"]):
        assert torch.allclose(y[i], vector(answer_id, 6.0), atol=1e-6)


def test_linear_attention_reassociates():
    x = torch.randn(7, 3, dtype=torch.float64)
    assert torch.allclose(ref.linear_attention(x), (x @ x.T) @ x)


def test_true_false_key_has_ten_defended_statements():
    assert len(ref.TRUE_FALSE) == 10
    assert all(statement and isinstance(key, bool) and why for statement, key, why in ref.TRUE_FALSE)
