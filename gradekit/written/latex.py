"""Read a student's LaTeX answer into a sympy expression, in terms of the question's declared symbols.

sympy's `parse_latex` on its own silently misreads common student LaTeX: `\\text{sigmoid}` becomes a product
of letters, `e` and `\\pi` become symbols, `X_{2i}` becomes one plain symbol so a sum over it collapses,
`\\dots` becomes a variable, `d T` reads as a differential, `x(1+x)` as a function call. Worse, it recovers from
what it cannot read by returning the prefix it could (`\\beta\\sqrt 2` reads as `\\beta`), its grammar takes
TeX's one-token arguments only in some places (`\\frac12` but not `\\sqrt 2`), and its converter drops parts it
parsed (`x^2_1` is `x^2`). So the text is normalised first (this module) to what TeX itself typesets, parsed
strictly, checked for anything the parse lost, and the tree is then resolved against the question's
vocabulary: an unknown symbol is a wrong answer with a message, never a crash and never a silent new variable;
anything whose reading is a guess goes to a TA with the reason.

Runs in the math worker process only (see `server`); nothing here evaluates student text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.function import AppliedUndef
from sympy.parsing.latex import parse_latex

Sigmoid = sympy.Function("sigmoid")
BigO = sympy.Function("O")
BigTheta = sympy.Function("Theta")
BigOmega = sympy.Function("Omega")
LittleO = sympy.Function("o")
BOUNDS = {"O": BigO, "Theta": BigTheta, "Omega": BigOmega}
DOTS = re.compile(r"\\[lc]?dots[bcmoi]?|\\ldots|\.\.\.|…")
KNOWN_FUNCTIONS = {
    "sigmoid": r"\sigma", "sigm": r"\sigma", "sig": r"\sigma", "logistic": r"\sigma",
    "exp": r"\exp", "tanh": r"\tanh", "log": r"\log", "ln": r"\ln", "max": r"\max", "min": r"\min",
    "O": "O", "Theta": r"\Theta", "Omega": r"\Omega",
}
# Operator names the grammar applies to what follows without brackets (`\exp x`, `\log T`).
OPERATORS = ("exp", "log", "lg", "ln", "sin", "cos", "tan", "csc", "sec", "cot", "sinh", "cosh", "tanh",
             "arcsin", "arccos", "arctan")
# Commands that are syntax, not names: they never appear as a symbol in the tree.
SYNTAX = {"frac", "sqrt", "sum", "prod", "lim", "int", "cdot", "times", "div", "infty", "to", "rightarrow",
          "binom", "lfloor", "rfloor", "lceil", "rceil", "overline", "mathit", *OPERATORS}
# Commands whose argument is text, kept verbatim for `words`.
TEXT_COMMANDS = {"text", "textrm", "textit", "textbf", "mbox", "mathrm", "operatorname", "mathit"}
# Commands whose argument is a formula: `\mathbf{d}` is d.
STYLE_COMMANDS = {"mathbf", "boldsymbol", "bm", "vec", "overrightarrow", "mathcal", "mathbb", "mathsf"}
ARGUMENTS = {"frac": 2, "dfrac": 2, "tfrac": 2, "cfrac": 2, "binom": 2, "sqrt": 1,
             **dict.fromkeys(TEXT_COMMANDS | STYLE_COMMANDS, 1)}
GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
         "psi", "omega", "Gamma", "Delta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega", "Theta"}
# What a pasted or typed Unicode character means in LaTeX.
UNICODE = {"−": "-", "–": "-", "·": r"\cdot ", "⋅": r"\cdot ", "×": r"\times ", "β": r"\beta ", "σ": r"\sigma ",
           "√": r"\sqrt ", "∞": r"\infty ", "Θ": r"\Theta ", "Ω": r"\Omega ", "‖": r"\|", "∑": r"\sum ",
           "π": r"\pi ", "²": "^{2}", "³": "^{3}", "≈": r"\approx ", "→": r"\to "}


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
    question accept `n` for `T`, say. `vectors` are the scalars that stand for vectors (an answer must use
    them linearly); `definitions` are names the question defines in terms of the others (`x_1` is `d + b`),
    read by substitution."""

    scalars: dict[str, bool] = field(default_factory=dict)
    sequences: tuple[str, ...] = ()
    length: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    vectors: tuple[str, ...] = ()
    definitions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Vocabulary:
        scalars, aliases = {}, {}
        for name, props in spec.get("symbols", {}).items():
            scalars[name] = bool(props.get("positive", False) or props.get("length", False))
            for alias in props.get("aliases", []):
                aliases[alias] = name
        length = next((n for n, p in spec.get("symbols", {}).items() if p.get("length")), None)
        vectors = tuple(n for n, p in spec.get("symbols", {}).items() if p.get("vector"))
        return cls(scalars=scalars, sequences=tuple(spec.get("sequences", {})), length=length, aliases=aliases,
                   vectors=vectors, definitions=dict(spec.get("definitions", {})))

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

    def definition(self, name: str) -> str | None:
        if name in self.definitions:
            return name
        matches = [s for s in self.definitions if s.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def describe(self) -> str:
        names = [f"{s}_i" for s in self.sequences] + list(self.scalars)
        return ", ".join(names) or "no symbols"


@dataclass(frozen=True)
class Decimal:
    """A decimal number as written. `value` is exactly what was written (0.5 is 1/2); `low` and `high` bound
    the numbers it can stand for as an approximation: anything that rounds or truncates to it."""

    text: str
    value: sympy.Rational
    low: sympy.Rational
    high: sympy.Rational
    significant: int

    @classmethod
    def written(cls, whole: str, fraction: str, truncated: bool) -> Decimal:
        unit = sympy.Rational(1, 10 ** len(fraction))
        value = sympy.Integer(int(whole or "0")) + int(fraction) * unit
        significant = len((whole + fraction).lstrip("0")) or 1
        low, high = (value, value + unit) if truncated else (value - unit / 2, value + unit / 2)
        text = f"{whole or '0'}.{fraction}" + ("..." if truncated else "")
        return cls(text=text, value=value, low=low, high=high, significant=significant)


@dataclass
class Reading:
    """An answer as read: `expr` may hold placeholder symbols standing for groups written with \\dots, which
    only a concrete length can expand (see compare.concrete), and for decimals, whose exact values are in
    `decimals`. `defined` lists the names read through the question's definitions (x_1 as d + b)."""

    expr: sympy.Expr
    dots: dict[sympy.Symbol, tuple[sympy.Expr, sympy.Expr]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    decimals: dict[sympy.Symbol, Decimal] = field(default_factory=dict)
    defined: list[str] = field(default_factory=list)

    def exact(self, expr: sympy.Expr | None = None) -> sympy.Expr:
        """The expression (or a part of it) with each decimal at the exact value written."""
        target = self.expr if expr is None else expr
        return target.xreplace({s: d.value for s, d in self.decimals.items()})

    @property
    def inexact(self) -> bool:
        """Whether a decimal with digits after the point is in it: the answer may be an approximation."""
        return any(not d.value.is_Integer for d in self.decimals.values())


# -- text ------------------------------------------------------------------------------------------------------

SIDES = r"=|:=|\\approx|\\simeq|\\sim\b|\\equiv|\\to\b|\\rightarrow\b|\\Rightarrow\b|\\implies\b|\\colon|:"


def math_text(text: str) -> tuple[list[str], list[str]]:
    """The formula to read from an answer cell's text: the last $...$ / $$...$$ / \\[...\\] segment (where a
    derivation ends), or the whole text when it has no delimiters; cut into its sides at `=` (and `\\approx`,
    `\\to`, `:`), the last side being the answer: `\\|x_1\\| = \\sqrt{2}\\beta` reads as `\\sqrt{2}\\beta`."""
    notes = []
    for char, tex in UNICODE.items():
        text = text.replace(char, tex)
    segments = re.findall(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(.+?)\$", text, flags=re.S)
    formulas = [next(g for g in groups if g) for groups in segments if any(groups)]
    if len(formulas) > 1:
        notes.append(f"the cell has {len(formulas)} formulas; the last one was read as your answer")
    body = formulas[-1] if formulas else text
    if not formulas:
        prose(body)
    if re.search(r"\\begin\{(?:cases|array|matrix|pmatrix|bmatrix)\}", body):
        raise Unreadable("a case-by-case or matrix answer cannot be checked as one formula")
    body = re.sub(r"\\begin\{(?:aligned|align\*?|equation\*?|split|gathered)\}|\\end\{[a-z*]+\}", " ", body)
    lines = [ln for ln in re.split(r"\\\\", body) if ln.strip()]
    body = lines[-1] if lines else ""
    body = body.replace("&", " ")
    sides = [s.strip() for s in split_top_level(body, SIDES)]
    return [s for s in sides if s] or [""], notes


def prose(text: str) -> None:
    """An answer typed without $...$ that reads as words ("linear in T") is for a person, not a formula."""
    for word in re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", text):
        if word not in KNOWN_FUNCTIONS:
            raise Unreadable(f"it is written in words (`{word}`), not as a formula between $...$")


def split_top_level(text: str, pattern: str) -> list[str]:
    """Split at matches of `pattern` that are outside every bracket."""
    parts, depth, start, i = [], 0, 0, 0
    regex = re.compile(pattern)
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}[]()":
            i += 2  # an escaped bracket: \{ is a literal brace, not a group
            continue
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


SPACING = r"\\(?:,|;|:|!|quad|qquad|thinspace|medspace|thickspace)|\\ |~"


def clean(text: str) -> str:
    """Remove what only changes the typesetting: spacing, sizing, \\left/\\right, \\displaystyle, a full stop
    that ends the sentence. Square brackets become round ones, except the index of a root (`\\sqrt[3]{x}`)."""
    text = re.sub(r"\\(?:left|right|[bB]igg?[lrm]?)\s*(\\?[()\[\]|.]|\\\{|\\\}|\\[lr]?[vV]ert|\\[lr]angle)",
                  lambda m: "" if m.group(1) == "." else m.group(1), text)
    if re.search(r"\\[lr]angle", text):
        raise Unreadable("it holds an inner product ⟨…⟩; write its value in the question's symbols")
    text = thousands(text)
    text = re.sub(rf"\\(?:displaystyle|textstyle|limits|nolimits)|{SPACING}", " ", text)
    text = re.sub(r"\\[dtc]frac", r"\\frac", text)
    text = text.replace(r"\{", "(").replace(r"\}", ")")
    text = square_brackets(text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<![.\\])[.,;]$", "", text).strip()


def thousands(text: str) -> str:
    """`1\\,000` (a thin space between digit groups) is one thousand; `1,000` could be a list, and a space
    between digits that are not a group of three is a guess."""
    if m := re.search(r"\d,\d{3}(?!\d)", text):
        raise Ambiguous(f"`{m.group(0)}`: a comma in a number is also a list separator; write the number "
                        "without it")
    text = re.sub(rf"(?<=\d)\s*(?:{SPACING})\s*(?=\d{{3}}(?!\d))", "", text)
    if m := re.search(rf"\d\s*(?:{SPACING})\s*\d", text):
        raise Ambiguous(f"`{m.group(0)}`: is it one number or a product? Write \\cdot for a product")
    return text


def square_brackets(text: str) -> str:
    out, stack = [], []
    for i, ch in enumerate(text):
        if ch == "[":
            root = re.search(r"\\sqrt\s*$", text[:i]) is not None
            stack.append(root)
            out.append("[" if root else "(")
        elif ch == "]":
            out.append("]" if (stack.pop() if stack else False) else ")")
        else:
            out.append(ch)
    return "".join(out)


# -- TeX's arguments -------------------------------------------------------------------------------------------

def tex_arguments(text: str) -> str:
    """Put every argument in braces as TeX reads it, so the parser sees what is typeset: a command or a script
    without braces takes one token (`\\sqrt 2\\beta` is `\\sqrt{2}\\beta`, `\\frac T2` is `\\frac{T}{2}`,
    `x^\\beta` is `x^{\\beta}`), and a subscript after a superscript is moved before it (`x^2_1` is `x_1^2`,
    which the parser would otherwise read as `x^2`). Where the typed text and the typeset one disagree
    (`x^10` is typeset x¹0, `x_2i` is x₂i) the reading would be a guess: Ambiguous."""
    return _Scanner(text).group(len(text))


class _Scanner:
    def __init__(self, text: str):
        self.text, self.i = text, 0

    def peek(self) -> str:
        while self.i < len(self.text) and self.text[self.i] == " ":
            self.i += 1
        return self.text[self.i] if self.i < len(self.text) else ""

    def group(self, end: int) -> str:
        """Normalise text[i:end]."""
        out = []
        while self.i < end:
            ch = self.text[self.i]
            if ch == "\\":
                out.append(self.command())
            elif ch in "^_":
                out.append(self.scripts())
            elif ch == "{":
                close = balanced(self.text, self.i)
                self.i += 1
                out.append("{" + self.group(close - 1) + "}")
                self.i = close
            else:
                out.append(ch)
                self.i += 1
        return "".join(out)

    def command(self) -> str:
        m = re.compile(r"\\([A-Za-z]+)|\\.").match(self.text, self.i)
        assert m is not None
        self.i = m.end()
        name = m.group(1)
        if name is None:
            return m.group(0)
        if name in OPERATORS:
            return m.group(0) + self.operand(name)
        count = ARGUMENTS.get(name, 0)
        out = m.group(0)
        if name == "sqrt" and self.peek() == "[":
            close = _matching_square(self.text, self.i)
            self.i += 1
            out += "[" + self.group(close) + "]"
            self.i = close + 1
        for k in range(count):
            arg, single = self.argument(f"\\{name}", verbatim=name in TEXT_COMMANDS)
            out += "{" + arg + "}"
            if single and (k == count - 1 or count == 1):
                self.continuation(f"\\{name}", arg)
        return out + " "

    def argument(self, what: str, verbatim: bool = False) -> tuple[str, bool]:
        """One TeX argument: a brace group, a command, or one character. (text, whether it was one token)."""
        ch = self.peek()
        if ch == "{":
            close = balanced(self.text, self.i)
            if verbatim:
                inner = self.text[self.i + 1:close - 1]
            else:
                self.i += 1
                inner = self.group(close - 1)
            self.i = close
            return inner, False
        if ch == "\\":
            m = re.compile(r"\\([A-Za-z]+)").match(self.text, self.i)
            if m is None:
                raise Unreadable(f"`{what}` is followed by `{self.text[self.i:self.i + 2]}`, not by what it applies to")
            if m.group(1) in ARGUMENTS:  # x^\frac12: the whole command is the argument
                return self.command().strip(), False
            self.i = m.end()
            return m.group(0) + " ", False
        if ch and (ch.isalnum()):
            self.i += 1
            return ch, True
        shown = self.text[max(0, self.i - len(what) - 1):self.i + 3].strip()
        if not ch:
            raise Unreadable(f"`{what}` at the end has nothing to apply to")
        raise Ambiguous(f"`{shown}`: {what} takes one character or a group in braces, so it applies to `{ch}` "
                        f"alone; write {what}{{...}} around all of it")

    def continuation(self, what: str, arg: str) -> None:
        """A one-character argument right before a character that would continue it as typed."""
        nxt = self.text[self.i] if self.i < len(self.text) else ""
        if not nxt:
            return
        same = (arg.isdigit() and (nxt.isdigit() or nxt == ".")) or (arg.isalpha() and nxt.isalpha()) or (
            what == "_" and nxt.isalnum())
        if same:
            typed = f"{what}{arg}{nxt}"
            raise Ambiguous(f"`{typed}` is typeset as {what}{{{arg}}}{nxt}: the {_role(what)} is only `{arg}`; if "
                            f"more was meant, put it all in braces ({what}{{{arg}{nxt}…}})")

    def scripts(self) -> str:
        """One or two scripts after a base, in any order: emitted as _{...}^{...}."""
        found: dict[str, str] = {}
        while (ch := self.peek()) in ("^", "_"):
            if ch in found:
                raise Unreadable("a double superscript or subscript (like x^2^3) cannot be read")
            self.i += 1
            arg, single = self.argument(ch)
            found[ch] = arg
            if single:
                self.continuation(ch, arg)
        return "".join(f"{s}{{{found[s]}}}" for s in ("_", "^") if s in found)

    def operand(self, name: str) -> str:
        """What `\\exp`, `\\log`, ... apply to when there is no bracket: a brace group or one factor
        (`\\log T`, `\\exp \\beta^2`), put in brackets; more factors after it are a guess."""
        head = self.scripts() if self.peek() in ("^", "_") else ""
        ch = self.peek()
        if ch == "(":
            return head
        if ch == "{":
            close = balanced(self.text, self.i)
            self.i += 1
            inner = self.group(close - 1)
            self.i = close
            return f"{head}({inner})"
        start = self.i
        if ch == "\\" or ch.isalnum():
            if ch == "\\":
                factor = self.command().strip()
            else:
                m = re.compile(r"\d+|[A-Za-z]").match(self.text, self.i)
                assert m is not None
                factor = m.group(0)
                self.i = m.end()
            if self.peek() in ("^", "_"):
                factor += self.scripts()
            after = self.peek()
            if after and (after.isalnum() or after in "\\({*/") and not self.text.startswith(("\\right", "\\cdots"),
                                                                                               self.i):
                typed = self.text[start - len(name) - 1:self.i + 3].strip()
                raise Ambiguous(f"`{typed}...`: where the argument of \\{name} ends is a guess; write "
                                f"\\{name}(...) with brackets around it")
            return f"{head}({factor})"
        raise Ambiguous(f"\\{name} is followed by `{ch}`: write \\{name}(...) with brackets around its argument")


def _role(what: str) -> str:
    return {"^": "exponent", "_": "subscript"}.get(what, f"argument of {what}")


def _matching_square(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise Unreadable("a `[` is never closed")


def words(text: str, vocab: Vocabulary) -> str:
    """`\\text{sigmoid}`, `\\mathrm{sigmoid}`, `\\operatorname{sigmoid}` and a bare `sigmoid` become one
    function; `\\mathbf{d}` and `\\vec{d}` become `d`; `\\mathcal{O}` becomes `O`. A word that is neither a known
    function nor a declared symbol is reported rather than read as a product of letters. Runs after
    tex_arguments, so every such command has its argument in braces."""
    out, i = [], 0
    pattern = re.compile(r"\\(" + "|".join(sorted(TEXT_COMMANDS | STYLE_COMMANDS, key=len, reverse=True))
                         + r")(?![A-Za-z])\s*\{")
    while (m := pattern.search(text, i)) is not None:
        close = balanced(text, m.end() - 1)
        out.append(text[i:m.start()] + _word(m.group(1), text[m.end():close - 1].strip(), vocab))
        i = close
    out.append(text[i:])
    text = "".join(out)
    return re.sub(r"(?<![\\A-Za-z])(sigmoid|sigm|logistic|exp|tanh|max|min|log|ln)(?![A-Za-z])",
                  lambda m: KNOWN_FUNCTIONS[m.group(1)] + " ", text)


def _word(command: str, inner: str, vocab: Vocabulary) -> str:
    if command in STYLE_COMMANDS:
        return " " + (words(inner, vocab) if "\\" in inner else inner)
    if not inner or re.fullmatch(r"[\s,.;:]*", inner):
        return " "
    if inner in KNOWN_FUNCTIONS:
        return " " + KNOWN_FUNCTIONS[inner] + " "
    if vocab.resolve_name(inner) or vocab.sequence_name(inner) or len(inner) == 1:
        return " " + inner + " "
    # Prose inside a formula ("if", "otherwise") is for a person to read, not a wrong symbol.
    raise Unreadable(f"it contains the words `{inner}`, which are not a function or symbol of this question")


def words_in_formula(text: str, vocab: Vocabulary) -> None:
    """Letters typed together as a word (`linear`, `softmax`) that are not a product of the question's
    symbols: a person reads them."""
    for run in re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", text):
        if not all(vocab.resolve_name(ch) or vocab.sequence_name(ch) or ch == "e" for ch in run):
            raise Unreadable(f"it contains the word `{run}`, which is not a formula in this question's symbols")


def balanced(text: str, start: int) -> int:
    """Index just past the brace group that opens at text[start] == '{'."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise Unreadable("a `{` is never closed")


def decimals(text: str) -> tuple[str, dict[str, Decimal]]:
    """Each decimal number becomes a placeholder command (`\\gkdeca`) standing for the number exactly as written,
    so that 0.5 is 1/2 (not a 15-digit float) and an approximation can be told from a mistake by the digits
    it carries. `1.414...` and `1.414\\dots` are truncated decimals."""
    found: dict[str, Decimal] = {}

    def placeholder(m: re.Match) -> str:
        name = "gkdec" + _letters(len(found))
        found[name] = Decimal.written(m.group(1), m.group(2), truncated=bool(m.group(3)))
        return f" \\{name} "

    text = re.sub(r"(?<![\w.}])(\d*)\.(\d+)(\s*(?:\.\.\.|…|\\[lc]?dots(?![A-Za-z])))?", placeholder, text)
    return text, found


def _letters(n: int) -> str:
    out = ""
    while True:
        out = "abcdefghijklmnopqrstuvwxyz"[n % 26] + out
        n = n // 26 - 1
        if n < 0:
            return out


def rewrite_sequences(text: str, vocab: Vocabulary) -> str:
    """`x_{2i-1}`, `X_{T}`, `x_{1}` become `x(2i-1)`, `x(T)`, `x(1)`: a call the parser keeps apart, turned
    back into an indexed element afterwards, so sums over x_{2i} expand instead of collapsing. Runs after
    tex_arguments, so every subscript is in braces."""
    out, i = [], 0
    pattern = re.compile(r"(?<![\\A-Za-z])([A-Za-z])\s*_\{")
    while (m := pattern.search(text, i)) is not None:
        end = balanced(text, m.end() - 1)
        sub = text[m.end():end - 1]
        if vocab.sequence_name(m.group(1)) is None or vocab.resolve_name(f"{m.group(1)}_{sub.strip()}"):
            out.append(text[i:m.end()])
            i = m.end()
            continue
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

def parse(text: str, vocab: Vocabulary, reading: Reading | None = None) -> sympy.Expr:
    """Parse normalised text strictly (a parse that stops early is an error, not a prefix), check that the
    tree kept every name and number written, and resolve every name against the vocabulary."""
    source = wrap_d(rewrite_sequences(text, vocab))
    if not source.strip():
        raise Unreadable("there is no formula to read")
    try:
        tree = parse_latex(source, strict=True)
    except Exception as exc:  # noqa: BLE001 - the ANTLR parser raises several types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unreadable(f"sympy's LaTeX reader could not read all of it ({first})") from None
    if isinstance(tree, sympy.core.relational.Relational):
        raise Unreadable("it is a relation (=, <, >), not a value")
    if lost := lost_in_parsing(source, tree):
        raise Unreadable(f"part of it ({lost}) was lost in reading")
    return _Resolver(vocab, tree, reading).resolve(tree, frozenset())


def lost_in_parsing(source: str, tree: sympy.Basic) -> str:
    """What the text has and the tree does not: each name and each number other than 1 written must still be
    there (as often as written). The grammar's converter drops some parts it parsed (`x^2_1`, `2 x 3` read as
    2·3, `x|_{x=1}`): a safety net under the normalisation, not a substitute for it."""
    commands = Counter(c for c in re.findall(r"\\([A-Za-z]+)", source) if c not in SYNTAX)
    plain = re.sub(r"\\[A-Za-z]+", " ", source)
    letters = Counter(re.findall(r"[A-Za-z]", plain))
    numbers = Counter(int(n) for n in re.findall(r"\d+", plain) if int(n) != 1)

    have_names: Counter[str] = Counter()
    have_letters: Counter[str] = Counter()
    have_numbers: Counter[int] = Counter()
    for node in sympy.preorder_traversal(tree):
        if isinstance(node, (sympy.Symbol, AppliedUndef)):
            name = node.name if isinstance(node, sympy.Symbol) else node.func.__name__
            base, _, sub = name.partition("_{")
            if base in commands:
                have_names[base] += 1
            else:
                have_letters.update(re.findall(r"[A-Za-z]", base))
            have_letters.update(re.findall(r"[A-Za-z]", sub))
            have_numbers.update(int(n) for n in re.findall(r"\d+", sub))
        elif isinstance(node, sympy.Rational):
            have_numbers.update([abs(int(node.p)), int(node.q)])
    missing = ([f"\\{c}" for c, n in commands.items() if have_names[c] < n]
               + [f"`{c}`" for c, n in letters.items() if have_letters[c] < n]
               + [f"`{c}`" for c, n in numbers.items() if have_numbers[c] < n])
    return ", ".join(missing)


class _Resolver:
    """Turn the parser's names into the question's symbols, recording what was read through definitions."""

    def __init__(self, vocab: Vocabulary, tree: sympy.Basic, reading: Reading | None):
        self.vocab, self.reading = vocab, reading
        self.indices = {str(v) for node in sympy.preorder_traversal(tree)
                        if isinstance(node, (sympy.Sum, sympy.Product)) for v in node.variables}

    def resolve(self, e: sympy.Basic, bound: frozenset[str]) -> sympy.Basic:
        if isinstance(e, sympy.Symbol):
            return self.symbol(e.name, bound)
        if isinstance(e, AppliedUndef):
            return self.call(e.func.__name__, [self.resolve(a, bound) for a in e.args], bound)
        if isinstance(e, (sympy.Sum, sympy.Product)):
            inner = bound | {str(v) for v in e.variables}
            body = self.resolve(e.args[0], inner)
            limits = [(v, self.resolve(lo, bound), self.resolve(hi, bound)) for v, lo, hi in e.limits]
            return e.func(body, *limits)
        if not e.args:
            return e
        return e.func(*[self.resolve(a, bound) for a in e.args])

    def symbol(self, raw: str, bound: frozenset[str]) -> sympy.Basic:
        vocab = self.vocab
        name = re.sub(r"[{}\s]", "", raw).replace("*", "")
        if name in bound or raw in bound:
            return sympy.Symbol(raw)
        declared = vocab.resolve_name(name)
        if declared is not None:
            return vocab.symbol(declared)
        if name.startswith(("gkdots", "gkdec")):
            return sympy.Symbol(name)
        if name in self.indices:
            raise Ambiguous(f"`{name}` is used outside the sum over {name}: put brackets around everything the "
                            "sum covers")
        if name == "e":
            return sympy.E
        if name == "pi":
            return sympy.pi
        if name == "sigma":
            raise Ambiguous("σ is written without brackets, so where its argument ends is a guess: write σ(...)")
        if (defined := vocab.definition(name)) is not None:
            if self.reading is not None:
                self.reading.defined.append(defined)
            return self.defined(defined)
        # `dT` or `Td`: letters written together, each a declared symbol.
        if len(name) > 1 and name.isalpha() and all(vocab.resolve_name(ch) for ch in name):
            return sympy.Mul(*[vocab.symbol(vocab.resolve_name(ch)) for ch in name])  # type: ignore[arg-type]
        if len(name) > 1 and name.isalpha() and name not in GREEK:
            raise Unreadable(f"it uses \\{name}, which the reader does not know")
        raise UnknownSymbol(f"`{name}` is not a symbol this question defines (use {vocab.describe()})")

    def defined(self, name: str) -> sympy.Basic:
        plain = Vocabulary(scalars=self.vocab.scalars, sequences=self.vocab.sequences, length=self.vocab.length,
                           aliases=self.vocab.aliases, vectors=self.vocab.vectors)
        return sympy.Expr.__pos__(read(self.vocab.definitions[name], plain).expr)

    def call(self, name: str, args: list[sympy.Basic], bound: frozenset[str]) -> sympy.Basic:
        vocab = self.vocab
        sequence = vocab.sequence_name(name)
        if sequence is not None and len(args) == 1:
            return sympy.IndexedBase(sequence)[args[0]]
        if name == "sigma" and len(args) == 1:
            return Sigmoid(args[0])
        if name in ("max", "min") and args:
            return (sympy.Max if name == "max" else sympy.Min)(*args)
        if name in BOUNDS and len(args) == 1:
            return BOUNDS[name](args[0])
        if name == "o" and len(args) == 1 and vocab.resolve_name("o") is None:
            return LittleO(args[0])
        if name.startswith("gkdec") and len(args) == 1:
            return self.symbol(name, bound) * args[0]  # `1000.0(h_0 + x)`: a number before brackets
        # `x(1+x)` and `\beta(1+x)`: a declared symbol before brackets is a product, not a call.
        if len(args) == 1 and (name in bound or vocab.resolve_name(re.sub(r"[{}]", "", name))
                               or vocab.definition(re.sub(r"[{}]", "", name))):
            return self.symbol(name, bound) * args[0]
        if len(args) > 1 and (vocab.sequence_name(name) or name == "sigma" or name in BOUNDS):
            raise Ambiguous(f"`{name}(...)` has {len(args)} arguments separated by commas where one is expected")
        raise UnknownSymbol(f"`{name}(...)` is not a function this question uses")


def normalise(text: str, vocab: Vocabulary) -> tuple[str, dict[str, Decimal]]:
    """One side of an answer, as the text the parser reads: typesetting removed, TeX's arguments in braces,
    words read, decimals replaced by placeholders."""
    body = words(tex_arguments(clean(text)), vocab)
    if re.search(r"\\\||\\[lr]?[vV]ert|\|\|", body):
        raise UnknownSymbol("the answer still contains a norm ‖…‖; write its value in terms of "
                            f"{vocab.describe()}")
    body, found = decimals(body)
    words_in_formula(body, vocab)
    return body, found


def read(text: str, vocab: Vocabulary) -> Reading:
    """The whole pipeline for one answer: the last side of the formula, read; when that side is not in the
    question's symbols but another side is (`\\beta = \\|x_2\\|`), which side is the answer is for a TA."""
    sides, notes = math_text(text)
    try:
        return read_side(sides[-1], vocab, notes)
    except UnknownSymbol:
        for other in sides[:-1]:
            try:
                read_side(other, vocab, [])
            except (UnknownSymbol, Unreadable, Ambiguous):
                continue
            raise Ambiguous(f"the last side of the formula (`{sides[-1]}`) is not in the question's symbols but an "
                            "earlier side is: the answer is read from the right of the last `=`, and the left "
                            "side looks like the answer") from None
        raise


def read_side(side: str, vocab: Vocabulary, notes: list[str]) -> Reading:
    body, found = normalise(side, vocab)
    body, groups = split_dots(body)
    reading = Reading(expr=sympy.Integer(0), notes=notes,
                      decimals={sympy.Symbol(name): d for name, d in found.items()})
    reading.expr = parse(body, vocab, reading)
    for name, (left, right) in groups.items():
        if not left or not right:
            raise Ambiguous("the dots need written terms on both sides to show the pattern")
        reading.dots[sympy.Symbol(name)] = (parse(left, vocab, reading), parse(right, vocab, reading))
    return reading
