"""Decide whether two readings are the same value, or the same complexity class.

Equivalence is decided numerically, at high precision, at random points across several scales: sympy's
`simplify` proves too little to be the judge and can take minutes. Scales matter: sigmoid(1000 u) saturates,
so a 999 in place of 1000 only shows at small inputs (around 1e-3). Sums whose length is a symbol are
expanded at several concrete even lengths first, which is also how a pattern written with \\dots is read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import sympy

from gradekit.written.latex import Ambiguous, BigO, Reading, Sigmoid, Unreadable, Vocabulary

LENGTHS = (8, 10, 12, 14)
SCALES = (1e-3, 1e-1, 1.0, 10.0)
POINTS_PER_SCALE = 2
DIGITS = 60
TOLERANCE = sympy.Float("1e-30", DIGITS)


@dataclass
class Verdict:
    same: bool
    detail: str = ""  # for a difference: where it shows, in words a student can use


def concrete(reading: Reading, vocab: Vocabulary, length: int | None) -> sympy.Expr:
    """The reading with the sequence length fixed: sums expanded, \\dots patterns filled in."""
    expr = reading.expr
    if length is not None and vocab.length:
        t = vocab.symbol(vocab.length)
        expr = expr.xreplace({t: sympy.Integer(length)})
        for placeholder, (left, right) in reading.dots.items():
            expr = expr.xreplace({placeholder: expand_dots(left.xreplace({t: length}),
                                                           right.xreplace({t: length}), vocab)})
    elif reading.dots:
        raise Ambiguous("the dots stand for terms whose number is not fixed")
    return expr.doit()


def _sequence_terms(expr: sympy.Expr) -> tuple[list[tuple[sympy.Expr, int]], sympy.Expr]:
    """Split a sum into (coefficient, index) terms of one sequence, in the order written, and the rest."""
    terms, rest = [], sympy.Integer(0)
    for term in sympy.Add.make_args(sympy.expand(expr)):
        coeff, factors = term.as_coeff_mul()
        if len(factors) == 1 and isinstance(factors[0], sympy.Indexed) and factors[0].indices[0].is_Integer:
            terms.append((coeff, int(factors[0].indices[0])))
        else:
            rest += term
    return terms, rest


def expand_dots(left: sympy.Expr, right: sympy.Expr, vocab: Vocabulary) -> sympy.Expr:
    """Fill in the terms a \\dots stands for, when the written terms show one pattern: indices that move by a
    constant step and coefficients that keep or alternate their sign. Anything else is Ambiguous."""
    left_terms, left_rest = _sequence_terms(left)
    right_terms, right_rest = _sequence_terms(right)
    if len(left_terms) < 2 or not right_terms:
        raise Ambiguous("the terms before the dots do not show a pattern (write at least two of them)")
    written = sorted({*left_terms, *right_terms}, key=lambda t: t[1])
    indices = [i for _, i in written]
    if len(set(indices)) != len(indices):
        raise Ambiguous("an index appears twice around the dots")
    # sympy does not keep the order terms were written in, so the pattern is read in index order.
    left_sorted = sorted(left_terms, key=lambda t: t[1])
    steps = {b[1] - a[1] for a, b in zip(left_sorted, left_sorted[1:], strict=False)}
    ratios = {b[0] / a[0] for a, b in zip(left_sorted, left_sorted[1:], strict=False)}
    if len(steps) != 1 or len(ratios) != 1 or next(iter(ratios)) not in (1, -1):
        raise Ambiguous("the terms before the dots do not follow one step and one sign pattern")
    step, ratio = steps.pop(), ratios.pop()
    lo, hi = indices[0], indices[-1]
    if (hi - lo) % step:
        raise Ambiguous("the terms after the dots are not reached by the step of the terms before them")
    anchor_coeff, anchor_index = left_sorted[0]
    filled = {}
    for index in range(lo, hi + 1, step):
        filled[index] = anchor_coeff * ratio ** ((index - anchor_index) // step)
    for coeff, index in written:
        if filled.get(index) != coeff:
            raise Ambiguous("the terms after the dots do not continue the pattern of the terms before them")
    seq = next(iter(left.atoms(sympy.Indexed))).base  # the sequence the written terms belong to
    return sympy.Add(*[c * seq[i] for i, c in filled.items()]) + left_rest + right_rest


def numeric(expr: sympy.Expr) -> sympy.Expr:
    """Sigmoid written out, so evalf can evaluate it."""
    return expr.replace(Sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))


def _variables(expr: sympy.Expr) -> set[sympy.Basic]:
    """What needs a value: sequence elements (x[3]) and plain symbols, but not a sequence's own name."""
    indexed = expr.atoms(sympy.Indexed)
    labels = {i.base.label for i in indexed}
    return indexed | {s for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s not in labels}


def _value(symbol: sympy.Basic, scale: float, rng: random.Random) -> sympy.Float:
    positive = bool(getattr(symbol, "is_positive", False)) if isinstance(symbol, sympy.Symbol) else False
    magnitude = rng.uniform(0.5, 2.0) * scale
    return sympy.Float(magnitude if positive else magnitude * rng.choice((-1, 1)), DIGITS)


def equivalent(answer: Reading, expected: Reading, vocab: Vocabulary, seed: int = 0) -> Verdict:
    """Same value at every sampled point, for every sampled length."""
    rng = random.Random(seed)
    lengths = LENGTHS if vocab.length else (None,)
    for length in lengths:
        a = numeric(concrete(answer, vocab, length))
        b = numeric(concrete(expected, vocab, length))
        if a == b:
            continue  # the fast path: the same tree
        variables = _variables(a) | _variables(b)
        for scale in SCALES:
            for _ in range(POINTS_PER_SCALE):
                point = {v: _value(v, scale, rng) for v in sorted(variables, key=str)}
                va, vb = a.xreplace(point).evalf(DIGITS), b.xreplace(point).evalf(DIGITS)
                if not (va.is_number and vb.is_number):
                    raise Unreadable("it still has a part that is not a number once values are given")
                if va.has(sympy.nan, sympy.zoo) or vb.has(sympy.nan, sympy.zoo):
                    continue
                if abs(va - vb) > TOLERANCE * max(1, abs(va), abs(vb)):
                    where = f"T = {length} with " if length else ""
                    return Verdict(False, f"its value differs, for example at {where}inputs of size about {scale:g}")
    return Verdict(True)


# -- complexity classes ----------------------------------------------------------------------------------------

def dominant_terms(expr: sympy.Expr, variables: list[str]) -> frozenset[tuple[int, ...]]:
    """The monomials of a cost that no other monomial dominates, as exponent tuples over `variables`.
    Constant factors and symbols that are not variables of the question are dropped (they are constants
    there): O(2 T d^2 + T d) -> {(1, 2)}; O(T d (T + d)) -> {(2, 1), (1, 2)}."""
    syms = [sympy.Symbol(v, positive=True) for v in variables]
    expr = expr.xreplace({s: sympy.Symbol(s.name, positive=True) for s in expr.free_symbols})
    if expr.has(BigO):
        raise Unreadable("an O(...) inside another O(...)")
    monomials = set()
    for term in sympy.Add.make_args(sympy.expand(expr)):
        exponents = []
        for s in syms:
            degree = sympy.degree(term, s) if term.is_polynomial(s) else None
            if degree is None or not degree.is_Integer or degree < 0:
                raise Ambiguous(f"`{sympy.sstr(term)}` is not a power of {s}; a TA will read it")
            exponents.append(int(degree))
        monomials.add(tuple(exponents))
    return frozenset(m for m in monomials
                     if not any(o != m and all(x >= y for x, y in zip(o, m, strict=True)) for o in monomials))


def big_o_body(reading: Reading) -> sympy.Expr:
    """The expression inside O(...); a cost written without O is taken as it is."""
    expr = reading.expr
    if isinstance(expr, BigO):
        return expr.args[0]
    if expr.has(BigO):
        raise Unreadable("write the whole answer as one O(...)")
    return expr


def format_terms(terms: frozenset[tuple[int, ...]], variables: list[str]) -> str:
    parts = []
    for exps in sorted(terms, reverse=True):
        factors = [v if e == 1 else f"{v}^{e}" for v, e in zip(variables, exps, strict=True) if e]
        parts.append(" ".join(factors) or "1")
    return "O(" + " + ".join(parts) + ")"
