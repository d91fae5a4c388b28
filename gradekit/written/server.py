"""The math worker: reads one JSON request per line on stdin, answers one JSON line on stdout.

It runs as its own process (`python -m gradekit.written.server`, started by `client.MathChecker`) so that a
formula that makes sympy spin or eat memory costs one answer, never the grading run: the client kills the
worker after a limit of CPU time and starts a fresh one for the next answer. Its first line says it is ready.

A request: {"kind": "expression" | "big_o", "spec": {...question spec...}, "answer": "<student text>"}.
A reply: {"verdict": "correct" | "wrong" | "review", "message": str, "parsed": LaTeX, "example": str}.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import sympy

from gradekit.written.compare import (
    LENGTHS,
    Verdict,
    big_o_body,
    bounded_by,
    concrete,
    dominant_terms,
    equivalent,
    format_terms,
    numeric,
)
from gradekit.written.latex import Ambiguous, Reading, UnknownSymbol, Unreadable, Vocabulary, read

EXAMPLE_LENGTHS = (4, 6, 8)
# An answer that equals the expected one only as a rounding of its decimals is accepted when every decimal
# carries at least this many significant digits (1.414 for sqrt(2), 2.718 for e), as a TA reads it; with fewer
# (1.4) an approximation and a mistake look alike, so a TA decides.
MIN_SIGNIFICANT_DIGITS = 3
DIAGNOSIS_LENGTH = 8  # the length at which a wrong answer's difference is described


def latex(expr: sympy.Basic) -> str:
    """sympy's LaTeX, with x[2 i] shown as x_{2 i} and sigmoid as \\sigma, as a student would write them."""
    text = sympy.latex(expr).replace(r"\operatorname{sigmoid}", r"\sigma")
    return re.sub(r"\{([A-Za-z])\}_", r"\1_", text)


def render(reading: Reading) -> str:
    """LaTeX of the expression as read, with each \\dots group shown as the written terms around dots."""
    text = latex(reading.expr)
    for placeholder, (left, right) in reading.dots.items():
        shown = rf"\left({latex(left)} + \dots + {latex(right)}\right)"
        text = text.replace(sympy.latex(placeholder), shown)
    return text


def example(reading: Reading, vocab: Vocabulary) -> str:
    """The answer's value at a small length, written out, so a student sees what their formula says."""
    if not vocab.length:
        return ""
    for length in EXAMPLE_LENGTHS:
        try:
            return f"at {vocab.length} = {length}: " + latex(concrete(reading, vocab, length))
        except (Ambiguous, Unreadable):
            continue
    return ""


def check_expression(spec: dict[str, Any], answer: str) -> dict[str, str]:
    vocab = Vocabulary.from_spec(spec)
    expected = read(spec["expected"], vocab)
    reading = read(answer, vocab)
    parsed, shown = render(reading), example(reading, vocab)
    for length in LENGTHS if vocab.length else ():
        if limit := fractional_limit(reading, vocab, length):  # before sympy spends a minute on such a sum
            return {"verdict": "wrong", "parsed": parsed, "example": shown,
                    "message": f"not equal to the expected answer: at {vocab.length} = {length}, the sum's limit "
                               f"{limit} is not a whole number (see how your answer was read)"}
    verdict = equivalent(reading, expected, vocab, seed=int(spec.get("seed", 0)))
    notes = list(reading.notes)
    if verdict.same and verdict.approximate:
        loose = [d for d in reading.decimals.values() if not d.value.is_Integer]
        written = ", ".join(dict.fromkeys(d.text for d in loose))
        digits = min(d.significant for d in loose)
        if spec.get("exact"):
            raise Ambiguous(f"the question asks for the exact value, and your answer equals it only if {written} is "
                            "read as a rounding: a TA decides whether the approximation counts")
        if digits < MIN_SIGNIFICANT_DIGITS:
            raise Ambiguous(f"it equals the expected answer only if {written} is a rounding, and with {digits} "
                            f"significant digit(s) an approximation and a mistake look alike")
        notes.append(f"read as a decimal approximation ({written}, to the digits written) of the exact answer "
                     f"${spec['expected']}$")
    if verdict.same:
        return {"verdict": "correct", "message": "; ".join(notes), "parsed": parsed, "example": shown}
    why = difference(reading, expected, vocab, verdict, spec.get("mistakes", []))
    message = f"not equal to the expected answer: {why}"
    if notes:
        message += f" ({'; '.join(notes)})"
    return {"verdict": "wrong", "message": message, "parsed": parsed, "example": shown}


def difference(reading: Reading, expected: Reading, vocab: Vocabulary, verdict: Verdict,
               mistakes: list[list[str]]) -> str:
    """What is wrong, as precisely as can be said without guessing the student's intent: one of the question's
    known mistakes (`spec["mistakes"]`, pairs of LaTeX and message), an input that does not exist, a symbol or
    input the answer leaves out or adds, a product of two vectors, the expected value squared, multiplied or
    with its inputs' signs flipped, a vector's coefficient; else where the values differ."""
    length = DIAGNOSIS_LENGTH if vocab.length else None
    at = f"at {vocab.length} = {length}, " if length else ""
    for text, message in mistakes:
        if equivalent(reading, read(text, vocab), vocab).same:
            return message
    try:
        answer, wanted = concrete(reading, vocab, length), concrete(expected, vocab, length)
    except (Ambiguous, Unreadable):
        return f"{verdict.detail} (see how your answer was read)"
    if length and (outside := [i for i in answer.atoms(sympy.Indexed)
                               if i.indices[0].is_Integer and not 1 <= int(i.indices[0]) <= length]):
        first = min(outside, key=lambda i: int(i.indices[0]))
        name, index = first.base.label, int(first.indices[0])
        where = "before the first input" if index < 1 else f"past the last input {name}_{vocab.length}"
        return f"{at}it uses {name}_{index}, {where}, which does not exist"
    vectors = [vocab.symbol(v) for v in vocab.vectors]
    if products := [f"{p} and {q}" for i, p in enumerate(vectors) for q in vectors[i:]
                    if sympy.diff(answer, p, q) != 0]:
        return (f"it multiplies two of the vectors ({products[0]}): a combination of "
                f"{', '.join(vocab.vectors)} has one vector in each term")
    missing, extra = sorted(_names(wanted) - _names(answer)), sorted(_names(answer) - _names(wanted))
    if missing:
        return f"{at}your answer does not depend on {', '.join(missing)}; the expected answer does"
    if extra:
        return f"{at}your answer depends on {', '.join(extra)}; the expected answer does not"
    for relation, related in related_forms(expected, vocab, length):
        if equivalent(reading, related, vocab).same:
            return relation
    if vectors and (wrong := [str(v) for v in vectors if _differs(sympy.diff(answer, v), sympy.diff(wanted, v))]):
        return (f"the coefficient of {', '.join(wrong)} is not the expected one (the others are right)"
                if len(wrong) < len(vectors) else "every coefficient differs from the expected one")
    return f"{verdict.detail} (see how your answer was read)"


def related_forms(expected: Reading, vocab: Vocabulary, length: int | None) -> list[tuple[str, Reading]]:
    """Values a wrong answer often equals, each with what it says about the answer: the expected value's
    square, a multiple of it, and the expected value with every input's sign flipped."""
    exact = expected.exact()
    flip = {v: -v for v in exact.free_symbols if isinstance(v, sympy.Symbol) and not v.is_positive
            and v.name not in vocab.sequences and v.name not in vocab.vectors}
    flip |= {i: -i for i in exact.atoms(sympy.Indexed)}
    flipped = exact.xreplace(flip)
    forms = [("your answer is the square of the expected one", Reading(expr=exact**2, dots=expected.dots))]
    if flipped != exact:
        forms.append(("it equals the expected answer with the sign of every input flipped",
                      Reading(expr=flipped, dots=expected.dots)))
    forms += [(f"your answer is {k} times the expected one", Reading(expr=k * exact, dots=expected.dots))
              for k in (2, sympy.sqrt(2), sympy.Rational(1, 2), -1, 1000, sympy.Rational(1, 1000))]
    return forms


def _differs(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two small closed forms (coefficients of one vector) differ, at a few positive points."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    for k, value in enumerate((0.7, 1.3, 2.1)):
        point = {s: sympy.Float(value + 0.1 * i + 0.01 * k, 30) for i, s in enumerate(symbols)}
        va, vb = numeric(a).xreplace(point).evalf(30), numeric(b).xreplace(point).evalf(30)
        if abs(va - vb) > 1e-20 * max(1, abs(va), abs(vb)):
            return True
    return False


def fractional_limit(reading: Reading, vocab: Vocabulary, length: int | None) -> str:
    """A sum limit (as written) that is not a whole number once the length is fixed, e.g. T/3 at T = 8."""
    if length is None:
        return ""
    t = vocab.symbol(vocab.length)  # type: ignore[arg-type]
    for node in sympy.preorder_traversal(reading.exact()):
        if isinstance(node, sympy.Sum):
            for _, low, high in node.limits:
                for limit in (low, high):
                    value = limit.xreplace({t: sympy.Integer(length)})
                    if value.is_number and not value.is_integer:
                        return f"`{latex(limit)}`"
    return ""


def _names(expr: sympy.Expr) -> set[str]:
    """The symbols and inputs an expression depends on, as a student writes them (beta, h_0, x_3)."""
    names = {f"{i.base.label}_{i.indices[0]}" for i in expr.atoms(sympy.Indexed)}
    return names | {s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol)
                    and not s.name.startswith("gk") and s.name not in {i.base.label.name for i in
                                                                         expr.atoms(sympy.Indexed)}}


def check_big_o(spec: dict[str, Any], answer: str) -> dict[str, str]:
    vocab = Vocabulary.from_spec(spec)
    variables = list(spec["variables"])
    _, expected_body = big_o_body(read(spec["expected"], vocab))
    expected = dominant_terms(expected_body, variables)
    reading = read(answer, vocab)
    bound, body = big_o_body(reading)
    terms = dominant_terms(body, variables)
    parsed = render(reading)
    written = format_terms(terms, variables, bound)
    over = ", ".join(variables)
    reply = {"parsed": parsed, "example": f"reduces to {written}"}
    if bound == "o":
        raise Ambiguous(f"little o, {written}, is a strict bound (grows slower than): if O was meant, write O(...)")
    if bound == "Omega":
        if bounded_by(terms, expected):
            raise Ambiguous(f"{written} is only a lower bound (at least this fast); the question asks for the cost: "
                            "write O(...) or Θ(...)")
        return {**reply, "verdict": "wrong",
                "message": f"{written} is a lower bound the cost does not have: it grows slower than that"}
    if terms == expected:
        return {**reply, "verdict": "correct", "message": ""}
    hint = next((f": {message}" for text, message in spec.get("mistakes", [])
                 if dominant_terms(big_o_body(read(text, vocab))[1], variables) == terms), "")
    return {**reply, "verdict": "wrong",
            "message": f"your answer reduces to {written} (in {over}, with constant factors and dominated terms "
                       f"dropped): that is not the cost asked for{hint or cost_hint(terms, expected, variables)}"}


def cost_hint(terms: frozenset, expected: frozenset, variables: list[str]) -> str:
    """Which variable the cost grows with that the answer leaves out (or the reverse), when that is the case."""
    def uses(ts: frozenset, i: int) -> bool:
        return any(t[i] != (0, 0) for t in ts)

    missing = [v for i, v in enumerate(variables) if uses(expected, i) and not uses(terms, i)]
    extra = [v for i, v in enumerate(variables) if uses(terms, i) and not uses(expected, i)]
    if missing:
        return f"; the cost grows with {', '.join(missing)}, and your answer does not"
    if extra:
        return f"; your answer grows with {', '.join(extra)}, and the cost does not"
    return ""


def handle(request: dict[str, Any]) -> dict[str, str]:
    kind, spec, answer = request["kind"], request["spec"], str(request["answer"])
    try:
        if kind == "expression":
            return check_expression(spec, answer)
        if kind == "big_o":
            return check_big_o(spec, answer)
        return {"verdict": "review", "message": f"unknown kind of question {kind!r}", "parsed": "", "example": ""}
    except UnknownSymbol as exc:
        return {"verdict": "wrong", "message": str(exc), "parsed": "", "example": ""}
    except Unreadable as exc:
        return {"verdict": "review", "message": f"this formula could not be read automatically: {exc}",
                "parsed": "", "example": ""}
    except Ambiguous as exc:
        return {"verdict": "review", "message": f"this formula could not be decided automatically: {exc}",
                "parsed": "", "example": ""}
    except RecursionError:
        return {"verdict": "review", "message": "this formula is nested too deeply to check automatically",
                "parsed": "", "example": ""}
    except Exception as exc:  # noqa: BLE001 - any sympy failure on odd input goes to a person, not to zero
        detail = re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}")[:200]
        return {"verdict": "review", "message": f"checking this formula failed ({detail})",
                "parsed": "", "example": ""}


# Checked once before the worker says it is ready: the first reading pays the parser's and sympy's first-use
# costs (about 1 s of CPU), which would otherwise be charged to the first student's answer.
WARM_UP = {"kind": "expression", "answer": r"\sqrt{2}x",
           "spec": {"symbols": {"x": {"positive": True}}, "expected": r"\sqrt{2} x"}}


def main() -> None:
    handle(WARM_UP)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")  # client.READY: imports done, answers may come
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"verdict": "review", "message": f"bad request to the math worker: {exc}", "parsed": "",
                     "example": ""}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
