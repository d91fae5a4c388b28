"""Turn a cell into the tokens that are compared: the disguises a copier uses are normalised away.

Code: Python's own tokenizer (a cell with a SyntaxError still tokenizes; one that does not is split by a regular
expression), comments, blank lines and docstrings dropped, a short string literal kept by its value (a regex, a
dict key, an einops pattern) and any other made one token `S` (messages are what a copier rewrites), and every
name the notebook binds (variables, functions, classes, parameters, attributes it assigns, import aliases) made
`V`. Names the notebook does not bind (builtins, library attributes such as `.sigmoid` or `.chunk`, keyword
arguments of library calls such as `dim=`) are kept: a student cannot rename them, and they are what tells two
independent solutions apart. Numbers are kept. Each token remembers where it is in the cell, so shared passages
map back to the student's own text.

Markdown: lower-cased words (LaTeX commands count as words), each with its place in the cell.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

BUILTINS = frozenset(dir(builtins))
MAGIC_LINE = re.compile(r"^[ \t]*[!%].*$", re.M)  # IPython shell escapes and magics: not Python
DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
# Fallback for text Python's tokenizer gives up on (an unterminated string, say): names, numbers, strings, operators.
_ROUGH_TOKEN = re.compile(r"""(?P<name>[A-Za-z_]\w*)|(?P<number>\d[\w.]*)|(?P<string>'[^'\n]*'?|"[^"\n]*"?)"""
                          r"""|(?P<comment>\#[^\n]*)|(?P<op>\*\*=?|//=?|->|[-+*/%@&|^<>=!]=|<<|>>|[^\s\w])""")
_WORD = re.compile(r"\\[A-Za-z]+|[^\W_]+", re.U)


@dataclass(frozen=True)
class Token:
    """One compared token: its normalised text and its place in the cell's source (character offsets)."""

    text: str
    start: int
    end: int


@dataclass
class Bindings:
    """What a notebook binds: bare names (variables, functions, classes, parameters, imports) and attributes
    (`obj.attr = ...`, methods, class-level constants). Only bound attributes are normalised after a dot."""

    names: set[str] = field(default_factory=set)
    attrs: set[str] = field(default_factory=set)

    def update(self, other: Bindings) -> None:
        self.names |= other.names
        self.attrs |= other.attrs


def bindings(source: str) -> Bindings:
    """What one cell binds. A cell that does not parse is read by rough patterns instead, so its renamed names
    are still normalised."""
    try:
        tree = ast.parse(_blank_magics(source))
    except (SyntaxError, ValueError):
        return _rough_bindings(source)
    found = Bindings()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found.attrs.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.names.add(node.name)
        elif isinstance(node, ast.arg):
            found.names.add(node.arg)
        elif isinstance(node, ast.alias):
            found.names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.names.update(node.names)
        if isinstance(node, ast.ClassDef):  # methods and class constants are reached as attributes
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.attrs.add(item.name)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    found.attrs.update(t.id for t in targets if isinstance(t, ast.Name))
    return found


_ROUGH_NAMES = [
    re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.M),
    re.compile(r"(?<![.\w])([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)"),  # x = ..., x: int = ...
    re.compile(r"\bfor\s+([A-Za-z_][\w\s,]*?)\s+in\b"),
    re.compile(r"\bas\s+([A-Za-z_]\w*)"),
    re.compile(r"^\s*import\s+([A-Za-z_]\w*)", re.M),
]
_ROUGH_ATTRS = re.compile(r"\.([A-Za-z_]\w*)\s*=(?!=)|^\s+def\s+([A-Za-z_]\w*)", re.M)
_ROUGH_PARAMS = re.compile(r"\bdef\s+\w+\s*\(([^)]*)\)")


def _rough_bindings(source: str) -> Bindings:
    found = Bindings()
    for pattern in _ROUGH_NAMES:
        for m in pattern.finditer(source):
            found.names.update(re.findall(r"[A-Za-z_]\w*", m.group(1)))
    for m in _ROUGH_PARAMS.finditer(source):
        found.names.update(re.findall(r"\*{0,2}([A-Za-z_]\w*)\s*(?:[:=,]|$)", m.group(1)))
    for m in _ROUGH_ATTRS.finditer(source):
        found.attrs.add(m.group(1) or m.group(2))
    found.names -= set(keyword.kwlist)
    return found


def code_tokens(source: str, bound: Bindings) -> list[Token]:
    """The compared tokens of one code cell; never raises."""
    offsets = _line_offsets(source)
    try:
        raw = [t for t in tokenize.generate_tokens(io.StringIO(_blank_magics(source)).readline)
               if t.type not in DROPPED and not (t.type == tokenize.ERRORTOKEN and not t.string.strip())]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _rough_tokens(source, bound)
    out: list[Token] = []
    depth = 0  # bracket depth: a name followed by `=` inside a call is a keyword argument
    skip_newline = False
    for i, tok in enumerate(raw):
        if skip_newline and tok.type == tokenize.NEWLINE:
            skip_newline = False
            continue
        start = offsets[tok.start[0] - 1] + tok.start[1]
        end = offsets[tok.end[0] - 1] + tok.end[1]
        kind = tok.type
        following = raw[i + 1] if i + 1 < len(raw) else None
        if kind == tokenize.STRING:
            statement_start = i == 0 or raw[i - 1].type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            if statement_start and (following is None or following.type == tokenize.NEWLINE):
                skip_newline = True
                continue  # a docstring or a bare string: a comment in all but name
            text = _string(tok.string)
        elif kind == tokenize.NAME:
            after_dot = bool(out) and out[-1].text == "."
            keyword_arg = depth > 0 and following is not None and following.string == "="
            text = _name(tok.string, bound, after_dot=after_dot, keyword_arg=keyword_arg)
        elif kind == tokenize.NUMBER:
            text = _number(tok.string)
        elif kind == tokenize.NEWLINE:
            text, end = ";", start
        elif kind == tokenize.INDENT:
            text, start = "{", end
        elif kind == tokenize.DEDENT:
            text, end = "}", start
        else:
            text = tok.string
            depth += (text in "([{") - (text in ")]}") if len(text) == 1 else 0
            depth = max(depth, 0)
        out.append(Token(text, start, end))
    return out


SHORT_STRING = 24  # characters: a regex, a dict key or an einops pattern is kept; a message becomes S


def _string(text: str) -> str:
    """A short plain literal by its value (r"<a>" and '<a>' are one token), anything longer or formatted as S."""
    if len(text) > SHORT_STRING + 3 or text[:1].lower() in "fb" or text[:2].lower() in ("rf", "fr", "rb", "br"):
        return "S"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return "S"
    return repr(value) if isinstance(value, str) and len(value) <= SHORT_STRING and "\n" not in value else "S"


def _number(text: str) -> str:
    """One spelling per value: 1e-6, 1e-06 and 0.000001 are the same token."""
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


def _name(name: str, bound: Bindings, *, after_dot: bool = False, keyword_arg: bool = False) -> str:
    if keyword.iskeyword(name) or name in ("self", "cls"):
        return name
    if after_dot:
        return "V" if name in bound.attrs else name
    if keyword_arg:
        return "V" if name in bound.names else name
    if name in BUILTINS and name not in bound.names:
        return name
    return "V"


def _rough_tokens(source: str, bound: Bindings) -> list[Token]:
    out: list[Token] = []
    for m in _ROUGH_TOKEN.finditer(source):
        kind = m.lastgroup
        if kind == "comment":
            continue
        if kind == "name":
            text = _name(m.group(), bound, after_dot=bool(out) and out[-1].text == ".")
        else:
            text = _string(m.group()) if kind == "string" else m.group()
        out.append(Token(text, m.start(), m.end()))
    return out


def _blank_magics(source: str) -> str:
    """IPython lines (`!pip install`, `%matplotlib`) blanked to spaces, so offsets stay where they were."""
    return MAGIC_LINE.sub(lambda m: " " * len(m.group()), source)


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets + [len(source)]


def word_tokens(text: str) -> list[Token]:
    """The compared words of a markdown cell: lower-cased, punctuation and markup dropped."""
    return [Token(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
