"""Student text to safe HTML: written answers (markdown with LaTeX) rendered as sanitised MathML.

The boundary for what a student typed: no scripts, no CDN, no attribute that could carry a URL or a style.
Browsers draw MathML natively, so a feedback page stays one self-contained file. The report's templates use
these as filters (`answer`, `latex`, `example`); nothing else on a page renders student text as markup.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert_to_element
from markupsafe import Markup

# latex2mathml copies \text{...} verbatim and passes \href / \style through as attributes, so its string
# output is never used: its element tree is rebuilt here with only these elements and attributes, every text
# escaped. Anything else is dropped (an element's children are kept).
MATHML_ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "merror", "mmultiscripts", "mprescripts", "none",
})
MATHML_ATTRIBUTES = frozenset({
    "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "width", "height", "depth",
    "voffset", "linethickness", "displaystyle", "scriptlevel", "accent", "accentunder", "movablelimits",
    "largeop", "symmetric", "minsize", "maxsize", "mathsize", "form", "notation", "columnalign", "rowalign",
    "columnlines", "rowlines", "columnspacing", "rowspacing", "frame", "linebreak", "mathcolor", "mathbackground",
})
_SAFE_ATTRIBUTE_VALUE = re.compile(r"[A-Za-z0-9#.+\- ]{0,40}")
_CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]{1,6}|[0-9]{1,7});")
MAX_LATEX_CHARS = 4000
# $$display$$, \[display\], $inline$ (not across a blank line), \(inline\); \$ is a literal dollar.
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$])\$(?!\s)((?:\\.|[^$\\\n]|\n(?!\s*\n))+?)(?<!\s)\$"
                   r"|\\\((.+?)\\\)", re.S)


def _char(ref: re.Match[str]) -> str:
    code = ref.group(1)
    value = int(code[1:], 16) if code.startswith("x") else int(code)
    return chr(value) if 0 < value < 0x110000 and not 0xD800 <= value < 0xE000 else "\ufffd"


def _mathml_text(text: str | None) -> str:
    """latex2mathml writes symbols as character references inside its text; decode those, escape the rest."""
    return html.escape(_CHAR_REF.sub(_char, text or ""), quote=False)


def _mathml(element: ET.Element) -> str:
    inner = _mathml_text(element.text) + "".join(_mathml(child) for child in element)
    tail = _mathml_text(element.tail)
    if element.tag not in MATHML_ELEMENTS:
        return inner + tail
    attrs = "".join(
        f' {name}="{html.escape(value)}"'
        for name, value in sorted(element.attrib.items())
        if name in MATHML_ATTRIBUTES and _SAFE_ATTRIBUTE_VALUE.fullmatch(value)
    )
    if element.tag == "math":
        attrs = ' xmlns="http://www.w3.org/1998/Math/MathML"' + attrs
    return f"<{element.tag}{attrs}>{inner}</{element.tag}>{tail}"


def latex_to_mathml(latex: str, display: bool = False) -> str | None:
    """Sanitised MathML for one LaTeX expression, or None when it cannot be converted."""
    if not latex.strip() or len(latex) > MAX_LATEX_CHARS:
        return None
    try:
        element = convert_to_element(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any parser failure (or RecursionError) falls back to the source text
        return None
    return _mathml(element)


def _math_html(latex: str, display: bool) -> str:
    mathml = latex_to_mathml(latex, display)
    if mathml is None:
        # The source as typed, so the reader still sees the answer and can tell it did not render.
        return f'<code class="latex-src" title="could not be rendered">{html.escape(latex)}</code>'
    return f'<span class="math{" display" if display else ""}" title="{html.escape(latex)}">{mathml}</span>'


def _text_html(text: str) -> list[list[str]]:
    """Escaped text split into paragraphs (blank lines) with <br> for single line breaks."""
    return [[html.escape(p).replace("\n", "<br>\n")] for p in re.split(r"\n[ \t]*\n", text.replace("\\$", "$"))]


def render_answer(text: str | None) -> Markup:
    """A student's written answer (markdown with $...$ / $$...$$ LaTeX) as safe HTML: paragraphs, line
    breaks and MathML; every other character is escaped text. Untrusted input."""
    text = (text or "").replace("\r\n", "\n").strip()
    paragraphs: list[list[str]] = [[]]
    pos = 0
    for m in _MATH.finditer(text):
        _extend(paragraphs, _text_html(text[pos : m.start()]))
        display = m.group(1) is not None or m.group(2) is not None
        latex = next(g for g in m.groups() if g is not None)
        paragraphs[-1].append(_math_html(latex.strip(), display))
        pos = m.end()
    _extend(paragraphs, _text_html(text[pos:]))
    body = "".join(f"<p>{''.join(p).strip()}</p>" for p in paragraphs if "".join(p).strip())
    return Markup(f'<div class="answer">{body}</div>')


def _extend(paragraphs: list[list[str]], pieces: list[list[str]]) -> None:
    """Continue the current paragraph with the first piece; later pieces start new paragraphs."""
    paragraphs[-1].extend(pieces[0])
    paragraphs.extend(pieces[1:])


# "at T = 4: <LaTeX>" or "reduces to <LaTeX>": words first, then the value the grader wrote in LaTeX.
_EXAMPLE_PREFIX = re.compile(r"^(.{0,60}?:\s+|(?:[a-z]{2,}\s+)+)(?=\S)")


def render_example(text: str | None) -> Markup:
    """The reading's example: its leading words as text, the value after them as math."""
    text = (text or "").strip()
    m = _EXAMPLE_PREFIX.match(text)
    prefix, value = (m.group(1), text[m.end() :]) if m else ("", text)
    return Markup(html.escape(prefix)) + render_latex(value)


def render_latex(latex: str | None) -> Markup:
    """One LaTeX expression (no $ delimiters), e.g. the expression as the grader parsed it."""
    latex = (latex or "").strip()
    if "$" in latex or "\\(" in latex or "\\[" in latex:
        return render_answer(latex)
    return Markup(_math_html(latex, display=False)) if latex else Markup("")
