"""Pictures a check result can carry, drawn inline on the feedback page so that it stays one self-contained file.

Two kinds, and only these:

- ``png``: an image a notebook saved as a cell output (a student's training curves), read from the notebook as
  data. It is checked before it is kept: the PNG signature, every chunk's length and CRC, an IHDR of sane size,
  image data present; then only the chunks that carry pixels are kept (IHDR, PLTE, tRNS, IDAT, IEND), so text and
  metadata chunks do not travel on. The browser decodes it, never the host.
- ``svg``: a chart the host draws itself from numbers (`line_chart`), every label escaped.

A student's SVG output is refused (it can carry script and external references); so is anything else. Pages put
both kinds into ``<img src="data:...">``, where a browser runs no script and loads nothing, under the pages'
Content-Security-Policy (``img-src data:``). The JSON form is documented in docs/results-schema.md.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 512 * 1024
MAX_SVG_BYTES = 256 * 1024
MAX_SIDE = 4096  # pixels, either side of a PNG
MAX_TITLE = 200
KINDS = ("png", "svg")
PIXEL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})


class FigureError(ValueError):
    """Image data that is not a figure we show; the message says why, for the student."""


@dataclass(frozen=True)
class Figure:
    """One picture: what it shows (title, caption) and its bytes (a checked PNG, or an SVG the host drew)."""

    title: str
    kind: str
    data: bytes
    caption: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FigureError(f"unknown figure kind {self.kind!r}")
        limit = MAX_PNG_BYTES if self.kind == "png" else MAX_SVG_BYTES
        if len(self.data) > limit:
            raise FigureError(f"a {self.kind} figure of {len(self.data):,} bytes is over the {limit:,}-byte limit")
        if self.kind == "png" and not self.data.startswith(PNG_SIGNATURE):
            raise FigureError("not a PNG image")

    @classmethod
    def from_png(cls, data: bytes, title: str, caption: str = "") -> Figure:
        """A PNG from outside (a notebook's output), checked and stripped to its pixel chunks."""
        return cls(_clip(title), "png", clean_png(data), _clip(caption))

    @property
    def mime(self) -> str:
        return "image/png" if self.kind == "png" else "image/svg+xml"

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "kind": self.kind, "caption": self.caption,
                "data": base64.b64encode(self.data).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        """Read back from a results JSON; a PNG is checked again, as anything read from a file is."""
        raw = base64.b64decode(str(data["data"]), validate=True)
        kind, title, caption = str(data["kind"]), str(data.get("title", "")), str(data.get("caption", ""))
        if kind == "png":
            return cls.from_png(raw, title, caption)
        return cls(_clip(title), kind, raw, _clip(caption))


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 3] + "..."


# --------------------------------------------------------------------------------------------------------
# PNG from outside


def clean_png(data: bytes) -> bytes:
    """The PNG's signature and pixel chunks, after checking its structure; FigureError otherwise."""
    if len(data) > MAX_PNG_BYTES:
        raise FigureError(f"the image is {len(data) / 1024:,.0f} KiB, over the {MAX_PNG_BYTES >> 10} KiB limit: "
                          "save smaller figures (a lower dpi or figsize)")
    if not data.startswith(PNG_SIGNATURE):
        raise FigureError("the output is not a PNG image")
    kept, pos, seen = [PNG_SIGNATURE], len(PNG_SIGNATURE), []
    while True:
        if pos + 8 > len(data):
            raise FigureError("the PNG image is truncated")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if not kind.isalpha():
            raise FigureError("the PNG image is malformed")
        if end > len(data):
            raise FigureError("the PNG image is truncated")
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise FigureError("the PNG image is corrupt (a chunk fails its checksum)")
        if not seen and kind != b"IHDR":
            raise FigureError("the PNG image has no header")
        if kind == b"IHDR":
            _check_header(body)
        if kind in PIXEL_CHUNKS:
            kept.append(data[pos:end])
        seen.append(kind)
        pos = end
        if kind == b"IEND":
            break
    if b"IDAT" not in seen:
        raise FigureError("the PNG image holds no image data")
    return b"".join(kept)


def _check_header(body: bytes) -> None:
    if len(body) != 13:
        raise FigureError("the PNG image has a malformed header")
    width, height = struct.unpack(">II", body[:8])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise FigureError(f"the image is {width} x {height} pixels; figures up to {MAX_SIDE} x {MAX_SIDE} are shown")


def output_figures(outputs: Any, title: str, limit: int = 4) -> tuple[list[Figure], list[str]]:
    """The pictures among a notebook cell's saved outputs (nbformat's display_data / execute_result), as data:
    (figures, problems). A PNG is checked and kept; SVG, JPEG and a PNG that fails its checks are named in
    `problems` and dropped. At most `limit` figures."""
    figures: list[Figure] = []
    problems: list[str] = []
    for output in outputs if isinstance(outputs, list) else []:
        bundle = output.get("data") if isinstance(output, dict) else None
        if not isinstance(bundle, dict):
            continue
        if "image/png" in bundle:
            try:
                raw = _b64(bundle["image/png"])
                if len(figures) < limit:
                    figures.append(Figure.from_png(raw, f"{title} ({len(figures) + 1})" if figures else title))
            except FigureError as exc:
                problems.append(str(exc))
        elif "image/svg+xml" in bundle:
            problems.append("an SVG figure is not shown (it could carry script): save figures as PNG, matplotlib's "
                            "default (`%config InlineBackend.figure_formats = ['png']`)")
        elif any(str(k).startswith("image/") for k in bundle):
            problems.append("only PNG figures are shown: save figures as PNG, matplotlib's default")
    return figures, problems


def _b64(value: Any) -> bytes:
    text = "".join(value) if isinstance(value, list) else str(value)
    text = "".join(text.split())
    if len(text) > MAX_PNG_BYTES * 4 // 3 + 4:
        raise FigureError(f"the image is over the {MAX_PNG_BYTES >> 10} KiB limit: save smaller figures (a lower "
                          "dpi or figsize)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FigureError("the image output is not valid base64") from None


def has_image(outputs: Any) -> bool:
    """Whether a cell's saved outputs hold any image at all (whatever its format)."""
    return any(isinstance(o, dict) and isinstance(o.get("data"), dict)
               and any(str(k).startswith("image/") for k in o["data"]) for o in outputs or [])


# --------------------------------------------------------------------------------------------------------
# SVG the host draws from numbers

PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a")
PANEL_W, PANEL_H = 300, 250


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float, ...]
    color: str = PALETTE[0]
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    """One plot of values per epoch, or per step (x = 1, 2, ...)."""

    title: str
    series: tuple[Series, ...]
    y_label: str = ""
    y_range: tuple[float, float] | None = None
    x_label: str = "epoch"


def line_chart(title: str, panels: Sequence[Panel], caption: str = "") -> Figure:
    """Line plots side by side, as one SVG figure. Values that are not finite are left out, labels are escaped,
    colours come from our own palette (never from the data)."""
    width = PANEL_W * max(1, len(panels))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{PANEL_H}" '
             f'viewBox="0 0 {width} {PANEL_H}" font-family="sans-serif" font-size="13">',
             f'<rect width="{width}" height="{PANEL_H}" fill="#ffffff"/>']
    for k, panel in enumerate(panels):
        parts.extend(_panel(panel, k * PANEL_W))
    parts.append("</svg>")
    return Figure(_clip(title), "svg", "".join(parts).encode("utf-8"), _clip(caption))


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _panel(panel: Panel, x0: float) -> list[str]:
    left, right, top, bottom = 48, 12, 28, 78
    plot_w, plot_h = PANEL_W - left - right, PANEL_H - top - bottom
    finite = [float(v) for s in panel.series for v in s.values if _finite(v)]
    lo, hi = panel.y_range if panel.y_range else (min(finite, default=0.0), max(finite, default=1.0))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = max((len(s.values) for s in panel.series), default=1)

    def x(i: int) -> float:
        return x0 + left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    out = [f'<text x="{x0 + PANEL_W / 2:.1f}" y="16" text-anchor="middle" font-size="15">'
           f'{escape(_clip(panel.title))}</text>']
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        out.append(f'<line x1="{x0 + left}" x2="{x0 + left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                   'stroke="#d0d7de" stroke-width="1"/>')
        out.append(f'<text x="{x0 + left - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.2f}</text>')
    every = max(1, math.ceil(n / 8))  # at most about eight x labels, however many points
    for i in range(n):
        if i % every == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{i + 1}</text>')
    out.append(f'<text x="{x0 + left + plot_w / 2:.1f}" y="{top + plot_h + 28}" text-anchor="middle">'
               f'{escape(_clip(panel.x_label))}</text>')
    if panel.y_label:
        cy = top + plot_h / 2
        out.append(f'<text x="{x0 + 12}" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 {x0 + 12} '
                   f'{cy:.1f})">{escape(_clip(panel.y_label))}</text>')
    for j, s in enumerate(panel.series):
        color = s.color if s.color in PALETTE else PALETTE[j % len(PALETTE)]
        points = [(x(i), y(float(v))) for i, v in enumerate(s.values) if _finite(v)]
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        if len(points) <= 30:  # a dot per value while there is room for one
            out.extend(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"/>' for px, py in points)
        lx, ly = x0 + left + (j % 2) * (plot_w / 2), top + plot_h + 46 + (j // 2) * 16
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 24}" y="{ly}">{escape(_clip(s.label))}</text>')
    return out


def confusion_matrix(title: str, true: Sequence[int], predicted: Sequence[int], classes: Sequence[str],
                     caption: str = "") -> Figure:
    """How a classifier's predictions fall, one row per true class and one column per predicted class, each cell
    shaded by the share of its row and labelled with its count: a model that answers one class for everything, or
    mixes up two, shows at a glance. Drawn from the host's own labels and the predictions' argmax."""
    n = len(classes)
    counts = [[0] * n for _ in range(n)]
    for t, p in zip(true, predicted, strict=True):
        if 0 <= t < n and 0 <= p < n:
            counts[t][p] += 1
    cell, left, top = 34, 110, 118
    width, height = max(left + n * cell + 44, 330), top + n * cell + 40  # room for the line under it
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} '
           f'{height}" font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" '
           'fill="#ffffff"/>', f'<text x="{left + n * cell / 2:.1f}" y="14" text-anchor="middle" font-size="13">'
           'predicted class</text>',
           f'<text x="12" y="{top + n * cell / 2:.1f}" text-anchor="middle" font-size="13" transform="rotate(-90 12 '
           f'{top + n * cell / 2:.1f})">true class</text>']
    for j, name in enumerate(classes):
        cx = left + j * cell + cell / 2
        out.append(f'<text x="{cx:.1f}" y="{top - 6}" text-anchor="start" transform="rotate(-55 {cx:.1f} '
                   f'{top - 6})">{escape(_clip(name))}</text>')
    for i, name in enumerate(classes):
        total = sum(counts[i]) or 1
        y = top + i * cell
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{escape(_clip(name))}</text>')
        for j in range(n):
            share = counts[i][j] / total
            shade = round(255 - 200 * share)  # white (none of the row) to dark blue (all of it)
            fill = f"rgb({shade},{round(255 - 150 * share)},255)"
            ink = "#ffffff" if share > 0.55 else "#1f2328"
            frame = ' stroke="#1a7f37" stroke-width="2"' if i == j else ' stroke="#d0d7de" stroke-width="1"'
            x = left + j * cell
            out.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"{frame}/>')
            if counts[i][j]:
                out.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                           f'fill="{ink}">{counts[i][j]}</text>')
    right = sum(counts[i][i] for i in range(n))
    out.append(f'<text x="{left}" y="{top + n * cell + 24}">{right} of {len(true)} correct: the framed '
               'diagonal</text>')
    out.append("</svg>")
    return Figure(_clip(title), "svg", "".join(out).encode("utf-8"), _clip(caption))
