"""Decide whether two readings are the same value, or the same complexity class.

Equivalence is decided numerically, at high precision, at random points across several scales: sympy's
`simplify` proves too little to be the judge and can take minutes. Scales matter: sigmoid(1000 u) saturates,
so a 999 in place of 1000 only shows at small inputs (around 1e-3). Sums whose length is a symbol are
expanded at several concrete even lengths first, which is also how a pattern written with \\dots is read.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import sympy

from gradekit.written.latex import (
    Ambiguous,
    BigO,
    BigOmega,
    BigTheta,
    LittleO,
    Reading,
    Sigmoid,
    Unreadable,
    Vocabulary,
)

LENGTHS = (8, 10, 12, 14)
SCALES = (1e-3, 1e-1, 1.0, 10.0)
POINTS_PER_SCALE = 2
DIGITS = 60
TOLERANCE = sympy.Float("1e-30", DIGITS)


MAX_APPROXIMATE_DECIMALS = 3  # corners of the box of roundings tried: 2**n


@dataclass(frozen=True)
class Verdict:
    same: bool
    detail: str = ""  # for a difference: where it shows, in words a student can use
    approximate: bool = False  # same only once the decimals written are read as roundings


def concrete(reading: Reading, vocab: Vocabulary, length: int | None,
             values: dict[sympy.Symbol, sympy.Expr] | None = None) -> sympy.Expr:
    """The reading with the sequence length fixed: sums expanded, \\dots patterns filled in, each decimal at
    `values` (by default the exact value written: 0.5 is 1/2, so 2^{0.5} is \\sqrt{2} and a sum to 0.5T ends
    at T/2)."""
    values = values if values is not None else {s: d.value for s, d in reading.decimals.items()}
    expr = reading.expr.xreplace(values)
    if length is not None and vocab.length:
        t = vocab.symbol(vocab.length)
        expr = expr.xreplace({t: sympy.Integer(length)})
        for placeholder, (left, right) in reading.dots.items():
            expr = expr.xreplace({placeholder: expand_dots(left.xreplace(values).xreplace({t: length}),
                                                           right.xreplace(values).xreplace({t: length}), vocab)})
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
    """Same value at every sampled point, for every sampled length, with each decimal at the value written;
    failing that, for an answer with decimals, the same once each decimal stands for any number that rounds
    (or, written with dots, truncates) to it: `1.414\\beta` is \\sqrt{2}\\beta to the digits written."""
    verdict = _compare(answer, expected, vocab, seed, approximate=False)
    if verdict.same or not answer.inexact:
        return verdict
    approximate = _compare(answer, expected, vocab, seed, approximate=True)
    return approximate if approximate.same else verdict


def _corners(answer: Reading, approximate: bool) -> list[dict[sympy.Symbol, sympy.Expr]]:
    """The decimals' values to try: as written, or every corner of the box of numbers they could round from."""
    exact = {s: d.value for s, d in answer.decimals.items()}
    if not approximate:
        return [exact]
    loose = [s for s, d in answer.decimals.items() if not d.value.is_Integer]
    if len(loose) > MAX_APPROXIMATE_DECIMALS:
        raise Ambiguous(f"it has {len(loose)} decimal numbers; whether it is an approximation is for a TA")
    corners = []
    for ends in itertools.product((0, 1), repeat=len(loose)):
        values = dict(exact)
        for s, end in zip(loose, ends, strict=True):
            values[s] = answer.decimals[s].high if end else answer.decimals[s].low
        corners.append(values)
    return corners


def _compare(answer: Reading, expected: Reading, vocab: Vocabulary, seed: int, approximate: bool) -> Verdict:
    rng = random.Random(seed)
    lengths = LENGTHS if vocab.length else (None,)
    for length in lengths:
        options = [numeric(concrete(answer, vocab, length, values)) for values in _corners(answer, approximate)]
        b = numeric(concrete(expected, vocab, length))
        if not approximate and options[0] == b:
            continue  # the fast path: the same tree
        variables = set().union(*(_variables(a) for a in options)) | _variables(b)
        for scale in SCALES:
            for _ in range(POINTS_PER_SCALE):
                point = {v: _value(v, scale, rng) for v in sorted(variables, key=str)}
                vb = b.xreplace(point).evalf(DIGITS)
                values = [a.xreplace(point).evalf(DIGITS) for a in options]
                if not (vb.is_number and all(va.is_number for va in values)):
                    raise Unreadable("it still has a part that is not a number once values are given")
                if vb.has(sympy.nan, sympy.zoo) or any(va.has(sympy.nan, sympy.zoo) for va in values):
                    continue
                if any(not va.is_real for va in values) or not vb.is_real:
                    same = all(abs(va - vb) <= TOLERANCE * max(1, abs(va), abs(vb)) for va in values)
                elif approximate:
                    slack = TOLERANCE * max(1, abs(vb))
                    same = min(values) - slack <= vb <= max(values) + slack
                else:
                    same = abs(values[0] - vb) <= TOLERANCE * max(1, abs(values[0]), abs(vb))
                if not same:
                    where = f"T = {length} with " if length else ""
                    return Verdict(False, f"its value differs, for example at {where}inputs of size about {scale:g}")
    return Verdict(True, approximate=approximate)


# -- complexity classes ----------------------------------------------------------------------------------------

# Per variable: (power, power of its log), powers being fractions (sqrt(T) is T^(1/2)); T^2 log T in (T, d) is
# ((2, 1), (0, 0)).
Term = tuple[tuple[sympy.Rational, sympy.Rational], ...]


def dominant_terms(expr: sympy.Expr, variables: list[str]) -> frozenset[Term]:
    """The monomials of a cost that no other monomial dominates, as (power, log power) per variable in
    `variables`. Constant factors and symbols that are not variables of the question are dropped (they are
    constants there): O(2 T d^2 + T d) -> {T d^2}; O(T d (T + d)) -> {T^2 d, T d^2}; O(T log T + T) -> {T log T}.
    T^a log^b T dominates T^c log^e T when a > c, or a = c and b >= e."""
    syms = [sympy.Symbol(v, positive=True) for v in variables]
    expr = expr.xreplace({s: sympy.Symbol(s.name, positive=True) for s in expr.free_symbols})
    if expr.has(BigO, BigTheta, BigOmega, LittleO):
        raise Unreadable("an O(...) inside another O(...)")
    monomials = set()
    for term in sympy.Add.make_args(sympy.expand(sympy.expand_log(expr, force=True))):
        powers = {s: [sympy.Integer(0), sympy.Integer(0)] for s in syms}
        for base, exponent in term.as_powers_dict().items():
            if base.is_number or not (base.free_symbols & set(syms)):
                continue  # a constant factor
            if base in powers:
                slot = 0
            elif isinstance(base, sympy.log) and base.args[0] in powers:
                base, slot = base.args[0], 1
            else:
                raise Ambiguous(f"`{sympy.sstr(term)}` is not a product of powers and logs of "
                                f"{', '.join(variables)}; a TA will read it")
            if not (exponent.is_Rational and exponent >= 0):
                raise Ambiguous(f"`{sympy.sstr(term)}` has a power of {base} that is not a fixed fraction; a TA will "
                                "read it")
            powers[base][slot] += exponent
        monomials.add(tuple((p, q) for p, q in powers.values()))
    return frozenset(m for m in monomials if not any(o != m and dominates(o, m) for o in monomials))


def dominates(a: Term, b: Term) -> bool:
    """Whether the monomial `a` grows at least as fast as `b` in every variable."""
    return all(x >= y for x, y in zip(a, b, strict=True))


def bounded_by(terms: frozenset[Term], bound: frozenset[Term]) -> bool:
    """Whether every monomial of `terms` is dominated by one of `bound`'s: O(terms) is within O(bound)."""
    return all(any(dominates(b, t) for b in bound) for t in terms)


def big_o_body(reading: Reading) -> tuple[str, sympy.Expr]:
    """Which bound the answer states (`O`, `Theta`, `Omega` or `o`) and the expression inside it, with the
    decimals at their exact values; a cost written without O is taken as O of it."""
    expr = reading.exact()
    for name, func in (("O", BigO), ("Theta", BigTheta), ("Omega", BigOmega), ("o", LittleO)):
        if isinstance(expr, func):
            return name, expr.args[0]
    if expr.has(BigO, BigTheta, BigOmega, LittleO):
        raise Unreadable("write the whole answer as one O(...)")
    return "O", expr


def format_terms(terms: frozenset[Term], variables: list[str], bound: str = "O") -> str:
    parts = []
    for exps in sorted(terms, reverse=True):
        factors = [v if p == 1 else f"{v}^{p}" if p.is_Integer else f"{v}^({p})"
                   for v, (p, _) in zip(variables, exps, strict=True) if p]
        logs = [f"log({v})" if q == 1 else f"log({v})^{q}" for v, (_, q) in zip(variables, exps, strict=True) if q]
        parts.append(" ".join(factors + logs) or "1")
    return {"Theta": "Θ", "Omega": "Ω"}.get(bound, bound) + "(" + " + ".join(parts) + ")"
