"""Read a student's LaTeX answer into a sympy expression, in terms of the question's declared symbols.

sympy's `parse_latex` on its own silently misreads common student LaTeX: `\\text{sigmoid}` becomes a product
of letters, `e` and `\\pi` become symbols, `X_{2i}` becomes one plain symbol so a sum over it collapses,
`\\dots` becomes a variable, `d T` reads as a differential, `x(1+x)` as a function call. So the text is
normalised first (this module), parsed, and the tree is then resolved against the question's vocabulary: an
unknown symbol is a wrong answer with a message, never a crash and never a silent new variable.

Runs in the math worker process only (see `server`); nothing here evaluates student text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.function import AppliedUndef
from sympy.parsing.latex import parse_latex

Sigmoid = sympy.Function("sigmoid")
BigO = sympy.Function("O")
DOTS = re.compile(r"\\[lc]?dots[bcmoi]?|\\ldots|\.\.\.|…")
KNOWN_FUNCTIONS = {
    "sigmoid": r"\sigma", "sigm": r"\sigma", "sig": r"\sigma", "logistic": r"\sigma",
    "exp": r"\exp", "tanh": r"\tanh", "log": r"\log", "ln": r"\ln", "max": r"\max", "min": r"\min",
    "O": "O",
}


class Unreadable(Exception):
    """The text could not be read as one formula. A person can still read it: it goes to a TA."""


class UnknownSymbol(Exception):
    """The formula uses a name the question does not define: a wrong answer, with the reason."""


class Ambiguous(Exception):
    """Readable, but it is not clear what it means (say, a pattern written with \\dots): a TA decides."""


@dataclass
class Vocabulary:
    """The names a question's answers may use.

    `scalars` maps a canonical name (`h_0`, `beta`, `T`) to whether it is positive; `length` is the symbol
    for an even sequence length; `sequences` are indexed names (`x` for x_1..x_T); `aliases` lets a
    question accept `n` for `T`, say."""

    scalars: dict[str, bool] = field(default_factory=dict)
    sequences: tuple[str, ...] = ()
    length: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Vocabulary:
        scalars, aliases = {}, {}
        for name, props in spec.get("symbols", {}).items():
            scalars[name] = bool(props.get("positive", False) or props.get("length", False))
            for alias in props.get("aliases", []):
                aliases[alias] = name
        length = next((n for n, p in spec.get("symbols", {}).items() if p.get("length")), None)
        return cls(scalars=scalars, sequences=tuple(spec.get("sequences", {})), length=length, aliases=aliases)

    def symbol(self, name: str) -> sympy.Symbol:
        if name == self.length:
            return sympy.Symbol(name, positive=True, integer=True)
        return sympy.Symbol(name, positive=True) if self.scalars.get(name) else sympy.Symbol(name, real=True)

    def resolve_name(self, name: str) -> str | None:
        """The declared name a written name stands for: itself, an alias, or its only case-insensitive
        match (H_0 for h_0; but not when the question declares both a and A)."""
        if name in self.scalars:
            return name
        if name in self.aliases:
            return self.aliases[name]
        matches = [s for s in [*self.scalars, *self.aliases] if s.lower() == name.lower()]
        if len(matches) == 1:
            return self.aliases.get(matches[0], matches[0])
        return None

    def sequence_name(self, name: str) -> str | None:
        if name in self.sequences:
            return name
        matches = [s for s in self.sequences if s.lower() == name.lower() and name not in self.scalars]
        return matches[0] if len(matches) == 1 else None

    def describe(self) -> str:
        names = [f"{s}_i" for s in self.sequences] + list(self.scalars)
        return ", ".join(names) or "no symbols"


@dataclass
class Reading:
    """An answer as read: `expr` may hold placeholder symbols standing for groups written with \\dots,
    which only a concrete length can expand (see compare.concrete)."""

    expr: sympy.Expr
    dots: dict[sympy.Symbol, tuple[sympy.Expr, sympy.Expr]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- text ------------------------------------------------------------------------------------------------------

def math_text(text: str) -> tuple[str, list[str]]:
    """The formula to read from an answer cell's text: the last $...$ / $$...$$ / \\[...\\] segment (where a
    derivation ends), or the whole text when it has no delimiters; then the right-hand side of its last
    `=`, so `\\|x_1\\| = \\sqrt{2}\\beta` reads as `\\sqrt{2}\\beta`."""
    notes = []
    segments = re.findall(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\$(.+?)\$", text, flags=re.S)
    formulas = [next(g for g in groups if g) for groups in segments if any(groups)]
    if len(formulas) > 1:
        notes.append(f"the cell has {len(formulas)} formulas; the last one was read as your answer")
    body = formulas[-1] if formulas else text
    if re.search(r"\\begin\{(?:cases|array|matrix|pmatrix|bmatrix)\}", body):
        raise Unreadable("a case-by-case or matrix answer cannot be checked as one formula")
    body = re.sub(r"\\begin\{(?:aligned|align\*?|equation\*?|split|gathered)\}|\\end\{[a-z*]+\}", " ", body)
    lines = [ln for ln in re.split(r"\\\\", body) if ln.strip()]
    body = lines[-1] if lines else ""
    body = body.replace("&", " ")
    parts = split_top_level(body, r"=|\\approx|\\to\b|\\rightarrow\b|\\simeq|\\equiv")
    return parts[-1].strip(), notes


def split_top_level(text: str, pattern: str) -> list[str]:
    """Split at matches of `pattern` that are outside every bracket."""
    parts, depth, start, i = [], 0, 0, 0
    regex = re.compile(pattern)
    while i < len(text):
        ch = text[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif depth == 0 and (m := regex.match(text, i)) and m.end() > i:
            parts.append(text[start:i])
            start = i = m.end()
            continue
        i += 1
    parts.append(text[start:])
    return parts


def clean(text: str) -> str:
    """Remove what only changes the typesetting: spacing, sizing, \\left/\\right, \\displaystyle."""
    text = re.sub(r"\\(?:left|right|[bB]igg?[lrm]?)\s*(\\?[()\[\]|.]|\\\{|\\\}|\\[lr]?[vV]ert)",
                  lambda m: "" if m.group(1) == "." else m.group(1), text)
    text = re.sub(r"\\(?:displaystyle|textstyle|limits|nolimits|,|;|:|!|quad|qquad)|\\ ", " ", text)
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = text.replace(r"\{", "(").replace(r"\}", ")").replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", " ", text).strip()


def words(text: str, vocab: Vocabulary) -> str:
    """`\\text{sigmoid}`, `\\mathrm{sigmoid}`, `\\operatorname{sigmoid}` and a bare `sigmoid` become one
    function; `\\mathbf{d}` and `\\vec{d}` become `d`; `\\mathcal{O}` becomes `O`. A word that is neither a known
    function nor a declared symbol is reported rather than read as a product of letters."""

    def word(m: re.Match) -> str:
        inner = m.group(2).strip()
        if m.group(1) in ("mathbf", "boldsymbol", "bm", "vec", "overrightarrow", "mathit", "mathcal"):
            return " " + inner + " "
        if not inner or re.fullmatch(r"[\s,.;:]*", inner):
            return " "
        if inner in KNOWN_FUNCTIONS:
            return " " + KNOWN_FUNCTIONS[inner] + " "
        if vocab.resolve_name(inner) or vocab.sequence_name(inner) or len(inner) == 1:
            return " " + inner + " "
        # Prose inside a formula ("if", "otherwise") is for a person to read, not a wrong symbol.
        raise Unreadable(f"it contains the words `{inner}`, which are not a function or symbol of this question")

    text = re.sub(r"\\(text|textrm|mathrm|operatorname|mathbf|boldsymbol|bm|vec|overrightarrow|mathit|"
                  r"mathcal)\s*\{([^{}]*)\}", word, text)
    return re.sub(r"(?<![\\A-Za-z])(sigmoid|sigm|logistic|exp|tanh|max|min)(?![A-Za-z])",
                  lambda m: KNOWN_FUNCTIONS[m.group(1)], text)


def balanced(text: str, start: int) -> int:
    """Index just past the brace group that opens at text[start] == '{'."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise Unreadable("a `{` is never closed")


def rewrite_sequences(text: str, vocab: Vocabulary) -> str:
    """`x_{2i-1}`, `X_T`, `x_1` become `x(2i-1)`, `x(T)`, `x(1)`: a call the parser keeps apart, turned
    back into an indexed element afterwards, so sums over x_{2i} expand instead of collapsing."""
    out, i = [], 0
    pattern = re.compile(r"(?<![\\A-Za-z])([A-Za-z])_")
    while (m := pattern.search(text, i)) is not None:
        if vocab.sequence_name(m.group(1)) is None or vocab.resolve_name(f"{m.group(1)}_{text[m.end():m.end() + 1]}"):
            out.append(text[i:m.end()])
            i = m.end()
            continue
        j = m.end()
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            end = balanced(text, j)
            sub = text[j + 1:end - 1]
        elif j < len(text):
            end, sub = j + 1, text[j]
        else:
            raise Unreadable(f"`{m.group(1)}_` has no index")
        out.append(text[i:m.start()] + f"{m.group(1)}({sub})")
        i = end
    out.append(text[i:])
    return "".join(out)


def wrap_d(text: str) -> str:
    """`d T` and `d \\cdot T` read as a differential `dT`; braces stop that (`{d} T`)."""
    return re.sub(r"(?<![\\A-Za-z{])d(?=\s*[A-Za-z\\])", "{d}", text)


# -- dots ------------------------------------------------------------------------------------------------------

def split_dots(text: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """Cut each group written with \\dots out of the formula: the innermost bracket around the dots becomes
    a placeholder, and the written terms on each side are kept for compare.expand_dots."""
    groups: dict[str, tuple[str, str]] = {}
    while (m := DOTS.search(text)) is not None:
        start = _opening(text, m.start())
        end = _closing(text, m.end())
        inner = text[start:end]
        left, right = inner[: m.start() - start], inner[m.end() - start:]
        if DOTS.search(right):
            raise Ambiguous("two sets of dots in one bracket")
        name = "gkdots" + "abcdefghij"[len(groups) % 10]
        # `x_3 - \dots + x_T`: the sign before the dots only repeats the pattern.
        groups[name] = (re.sub(r"(?:[+-]|\\cdot)\s*$", "", left.strip()).strip(), right.strip())
        text = text[:start] + f" \\{name} " + text[end:]
    return text, groups


def _opening(text: str, pos: int) -> int:
    depth = 0
    for i in range(pos - 1, -1, -1):
        if text[i] in ")}":
            depth += 1
        elif text[i] in "({":
            if depth == 0:
                return i + 1
            depth -= 1
    return 0


def _closing(text: str, pos: int) -> int:
    depth = 0
    for i in range(pos, len(text)):
        if text[i] in "({":
            depth += 1
        elif text[i] in ")}":
            if depth == 0:
                return i
            depth -= 1
    return len(text)


# -- the tree --------------------------------------------------------------------------------------------------

def parse(text: str, vocab: Vocabulary) -> sympy.Expr:
    """Parse normalised text and resolve every name against the vocabulary."""
    source = wrap_d(rewrite_sequences(text, vocab))
    if not source.strip():
        raise Unreadable("there is no formula to read")
    try:
        tree = parse_latex(source)
    except Exception as exc:  # noqa: BLE001 - the ANTLR parser raises several types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unreadable(f"sympy's LaTeX reader could not read it ({first})") from None
    if isinstance(tree, sympy.core.relational.Relational):
        raise Unreadable("it is a relation (=, <, >), not a value")
    return resolve(tree, vocab, frozenset())


def resolve(e: sympy.Basic, vocab: Vocabulary, bound: frozenset[str]) -> sympy.Basic:
    if isinstance(e, sympy.Symbol):
        return _symbol(e.name, vocab, bound)
    if isinstance(e, AppliedUndef):
        return _call(e.func.__name__, [resolve(a, vocab, bound) for a in e.args], vocab, bound)
    if isinstance(e, (sympy.Sum, sympy.Product)):
        bound = bound | {str(v) for v in e.variables}
    if not e.args:
        return e
    return e.func(*[resolve(a, vocab, bound) for a in e.args])


def _symbol(raw: str, vocab: Vocabulary, bound: frozenset[str]) -> sympy.Basic:
    name = re.sub(r"[{}\s]", "", raw).replace("*", "")
    if name in bound or raw in bound:
        return sympy.Symbol(raw)
    declared = vocab.resolve_name(name)
    if declared is not None:
        return vocab.symbol(declared)
    if name.startswith("gkdots"):
        return sympy.Symbol(name)
    if name == "e":
        return sympy.E
    if name == "pi":
        return sympy.pi
    # `dT` or `Td`: letters written together, each a declared symbol.
    if len(name) > 1 and name.isalpha() and all(vocab.resolve_name(ch) for ch in name):
        return sympy.Mul(*[vocab.symbol(vocab.resolve_name(ch)) for ch in name])  # type: ignore[arg-type]
    raise UnknownSymbol(f"`{name}` is not a symbol this question defines (use {vocab.describe()})")


def _call(name: str, args: list[sympy.Basic], vocab: Vocabulary, bound: frozenset[str]) -> sympy.Basic:
    sequence = vocab.sequence_name(name)
    if sequence is not None and len(args) == 1:
        return sympy.IndexedBase(sequence)[args[0]]
    if name == "sigma" and len(args) == 1:
        return Sigmoid(args[0])
    if name in ("max", "min") and args:
        return (sympy.Max if name == "max" else sympy.Min)(*args)
    if name == "O" and len(args) == 1:
        return BigO(args[0])
    # `x(1+x)` and `\beta(1+x)`: a declared symbol before brackets is a product, not a call.
    if len(args) == 1 and (name in bound or vocab.resolve_name(re.sub(r"[{}]", "", name))):
        return _symbol(name, vocab, bound) * args[0]
    raise UnknownSymbol(f"`{name}(...)` is not a function this question uses")


def read(text: str, vocab: Vocabulary) -> Reading:
    """The whole pipeline for one answer."""
    body, notes = math_text(text)
    body = words(clean(body), vocab)
    if re.search(r"\\\||\\[lr]?[vV]ert|\|\|", body):
        raise UnknownSymbol("the answer still contains a norm ‖…‖; write its value in terms of "
                            f"{vocab.describe()}")
    body, groups = split_dots(body)
    expr = parse(body, vocab)
    dots = {}
    for name, (left, right) in groups.items():
        if not left or not right:
            raise Ambiguous("the dots need written terms on both sides to show the pattern")
        dots[sympy.Symbol(name)] = (parse(left, vocab), parse(right, vocab))
    return Reading(expr=expr, dots=dots, notes=notes)
