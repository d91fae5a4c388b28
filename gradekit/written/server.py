"""The math worker: reads one JSON request per line on stdin, answers one JSON line on stdout.

It runs as its own process (`python -m gradekit.written.server`, started by `client.MathChecker`) so that a
formula that makes sympy spin or eat memory costs one answer, never the grading run: the client kills the
worker after a time limit and starts a fresh one for the next answer.

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
    big_o_body,
    concrete,
    dominant_terms,
    equivalent,
    format_terms,
)
from gradekit.written.latex import Ambiguous, Reading, UnknownSymbol, Unreadable, Vocabulary, read

EXAMPLE_LENGTHS = (4, 6, 8)


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
    verdict = equivalent(reading, expected, vocab, seed=int(spec.get("seed", 0)))
    notes = "; ".join(reading.notes)
    if verdict.same:
        return {"verdict": "correct", "message": notes, "parsed": parsed, "example": shown}
    message = f"not equal to the expected answer: {verdict.detail} (see how your answer was read)"
    return {"verdict": "wrong", "message": f"{message} ({notes})" if notes else message,
            "parsed": parsed, "example": shown}


def check_big_o(spec: dict[str, Any], answer: str) -> dict[str, str]:
    vocab = Vocabulary.from_spec(spec)
    variables = list(spec["variables"])
    expected = dominant_terms(big_o_body(read(spec["expected"], vocab)), variables)
    reading = read(answer, vocab)
    terms = dominant_terms(big_o_body(reading), variables)
    parsed = render(reading)
    written = format_terms(terms, variables)
    if terms == expected:
        return {"verdict": "correct", "message": "", "parsed": parsed, "example": f"reduces to {written}"}
    over = ", ".join(variables)
    return {"verdict": "wrong", "parsed": parsed, "example": f"reduces to {written}",
            "message": f"your answer reduces to {written} (in {over}, with constant factors and dominated terms "
                       f"dropped): that is not the cost asked for"}


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


def main() -> None:
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
