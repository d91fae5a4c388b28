"""The similarity report: a ranked list of pairs (index.html) and one side-by-side page per pair.

Figures and places only, never a verdict: the pages say what is shared, how much and where, with the settings
used, and leave the judgement to a person. Rendered with the engine's jinja2 environment (autoescaping on,
no scripts, no external assets), like the feedback pages. Also writes similarity.csv and similarity.json.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradekit.report import environment
from gradekit.results import write_atomic
from gradekit.similarity.compare import Pair, Result
from gradekit.similarity.extract import Cell, Submission
from gradekit.similarity.fingerprint import Document, Overlap, Span

SCHEMA = "gradekit.similarity/1"
NO_VERDICT = ("Shared code is a reason to look, not a finding: students may share code for legitimate reasons "
              "(code from the lecture, a study group the course allows, a common idiom). A person decides.")


@dataclass(frozen=True)
class Segment:
    """A piece of one line of a cell: its text, the passage it belongs to (0: not shared; -1: shared, without a
    counterpart number), whether the student wrote it (else it is the template's), and an anchor id."""

    text: str
    passage: int
    own: bool
    anchor: str  # id of the first segment of a passage, "" otherwise


def pair_file(rank: int, pair: Pair) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{pair.a.name}--{pair.b.name}").strip("-")[:80]
    return f"pairs/{rank:04d}-{slug}.html"


def lines_of(spans: tuple[Span, ...], cells: dict[int, Cell]) -> int:
    """Distinct source lines touched by the spans: the figure a TA reads ("42 lines")."""
    touched = set()
    for s in spans:
        source = cells[s.cell].source
        first = source.count("\n", 0, s.start)
        last = source.count("\n", 0, max(s.start, s.end - 1))
        touched.update((s.cell, n) for n in range(first, last + 1))
    return len(touched)


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _side(sub: Submission, ov: Overlap, first: bool) -> dict[str, Any]:
    cells = {c.index: c for c in sub.cells}
    shared, own, base = (ov.shared_a, ov.own_a, ov.base_a) if first else (ov.shared_b, ov.own_b, ov.base_b)
    spans = ov.spans_a if first else ov.spans_b
    return {"name": sub.name, "shared": shared, "own": own, "base": base, "percent": _percent(shared, base),
            "lines": lines_of(spans, cells)}


def pair_summary(rank: int, pair: Pair) -> dict[str, Any]:
    return {
        "rank": rank,
        "href": pair_file(rank, pair),
        "a": _side(pair.a, pair.code, True),
        "b": _side(pair.b, pair.code, False),
        "similarity": 100.0 * pair.code.similarity,
        "longest": pair.code.longest,
        "text_similarity": 100.0 * pair.text.similarity,
        "text_a": _side(pair.a, pair.text, True),
        "text_b": _side(pair.b, pair.text, False),
        "top_sections": [s.section for s in sorted(pair.sections, key=lambda s: -(s.shared_a + s.shared_b))
                         if s.shared_a + s.shared_b][:3],
    }


def _segments(cell: Cell, spans: list[Span], own: list[tuple[int, int]], side: str,
              linked: set[int]) -> list[list[Segment]]:
    """The cell's source as lines of segments, shared passages and the student's own text marked; every
    character is kept exactly once. Passages numbered on both sides (`linked`) link to each other."""
    source = cell.source
    marks = sorted((s for s in spans if s.cell == cell.index), key=lambda s: s.start)
    cuts = {0, len(source)} | {i + 1 for i, ch in enumerate(source) if ch == "\n"}
    for s in marks:
        cuts.update((s.start, s.end))
    for lo, hi in own:
        cuts.update((lo, hi))
    points = sorted(c for c in cuts if 0 <= c <= len(source))
    seen: set[int] = set()
    lines: list[list[Segment]] = [[]]
    for lo, hi in zip(points, points[1:], strict=False):
        text = source[lo:hi]
        passage = next((s.passage if s.passage in linked else -1 for s in marks if s.start <= lo and hi <= s.end), 0)
        mine = any(a <= lo and hi <= b for a, b in own) or not text.strip()
        if text.rstrip("\n"):
            anchor = ""
            if passage > 0 and passage not in seen:
                seen.add(passage)
                anchor = f"{side}-p{passage}"
            lines[-1].append(Segment(text.rstrip("\n"), passage, mine, anchor))
        if text.endswith("\n"):
            lines.append([])
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _column(sub: Submission, doc: Document, spans: tuple[Span, ...], side: str,
            linked: set[int]) -> dict[str, list[dict[str, Any]]]:
    """The cells a TA needs to see (those with anything the student wrote), grouped by section."""
    cells = {c.index: c for c in sub.cells}
    out: dict[str, list[dict[str, Any]]] = {}
    for unit in doc.units:
        if not unit.own.any():
            continue
        cell = cells[unit.cell]
        out.setdefault(cell.section, []).append({
            "index": cell.index, "kind": cell.kind, "added": cell.template_cell is None,
            "parse_error": cell.parse_error, "own": int(unit.own.sum()),
            "shared": sum(s.tokens for s in spans if s.cell == cell.index),
            "lines": _segments(cell, list(spans), unit.own_spans(), side, linked),
        })
    return out


def _rows(pair: Pair, doc_a: Document, doc_b: Document, ov: Overlap, prefix: str) -> list[dict[str, Any]]:
    """Sections in the template's order, each with both students' cells; anchors are PREFIXa-pN / PREFIXb-pN."""
    linked = {s.passage for s in ov.spans_a} & {s.passage for s in ov.spans_b}
    left = _column(pair.a, doc_a, ov.spans_a, prefix + "a", linked)
    right = _column(pair.b, doc_b, ov.spans_b, prefix + "b", linked)
    order: dict[str, float] = {}
    for sub in (pair.a, pair.b):
        for c in sub.cells:
            order[c.section] = min(order.get(c.section, c.order), c.order)
    sections = sorted(set(left) | set(right), key=lambda s: order.get(s, 1e9))
    return [{"section": s, "left": left.get(s, []), "right": right.get(s, [])} for s in sections]


def render_pair(result: Result, rank: int, pair: Pair) -> str:
    code_a, text_a = result.documents[pair.a.name]
    code_b, text_b = result.documents[pair.b.name]
    context = {
        "title": result.assignment.title,
        "p": pair_summary(rank, pair),
        "sections": pair.sections,
        "code_rows": _rows(pair, code_a, code_b, pair.code, ""),
        "text_rows": _rows(pair, text_a, text_b, pair.text, "t"),
        "passages": len({s.passage for s in pair.code.spans_a}),
        "text_passages": len({s.passage for s in pair.text.spans_a}),
        "settings": settings_view(result),
        "no_verdict": NO_VERDICT,
        "hidden_a": _template_only(pair.a, code_a),
        "hidden_b": _template_only(pair.b, code_b),
    }
    return environment().get_template("similarity_pair.html.j2").render(context)


def _template_only(sub: Submission, doc: Document) -> int:
    """Code cells with text but nothing the student wrote: not shown on the pair page."""
    return sum(1 for c in sub.cells if c.kind == "code" and c.source.strip() and not doc.own_cells.get(c.index))


def settings_view(result: Result) -> dict[str, Any]:
    s = result.settings
    return {
        "threshold": 100.0 * s.threshold,
        "code_k": s.code.k, "code_window": s.code.window, "code_guarantee": s.code.guarantee,
        "text_k": s.text.k, "text_window": s.text.window, "text_guarantee": s.text.guarantee,
        "common": result.common_limit,
    }


def summary_context(result: Result, href_prefix: str = "") -> dict[str, Any]:
    listed = result.listed
    n = len(result.submissions) - len(result.unreadable)
    return {
        "title": result.assignment.title,
        "assignment": result.assignment.name,
        "count": len(result.submissions),
        "compared": n,
        "all_pairs": n * (n - 1) // 2,
        "candidates": result.candidates,
        "sharing": len(result.pairs),
        "pairs": [pair_summary(rank, p) for rank, p in enumerate(listed, start=1)],
        "pages": min(len(listed), result.settings.max_pairs),
        "unreadable": [{"name": s.name, "error": s.error} for s in result.unreadable],
        "unparsed": [{"name": s.name, "cells": [c.index for c in s.cells if c.parse_error]}
                     for s in result.submissions if any(c.parse_error for c in s.cells)],
        "settings": settings_view(result),
        "common_code": result.common_code,
        "no_verdict": NO_VERDICT,
        "href_prefix": href_prefix,
        "seconds": sum(result.seconds.values()),
    }


def write_report(result: Result, out_dir: Path) -> Path:
    """index.html, pairs/*.html, similarity.csv and similarity.json under out_dir; returns index.html."""
    out_dir = Path(out_dir)
    (out_dir / "pairs").mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "pairs").glob("[0-9][0-9][0-9][0-9]-*.html"):
        old.unlink()  # pages of an earlier run: their ranks no longer hold
    listed = result.listed
    for rank, pair in enumerate(listed[: result.settings.max_pairs], start=1):
        write_atomic(out_dir / pair_file(rank, pair), render_pair(result, rank, pair))
    context = summary_context(result)
    index = out_dir / "index.html"
    write_atomic(index, environment().get_template("similarity.html.j2").render(context))
    write_atomic(out_dir / "similarity.csv", _csv(result))
    write_atomic(out_dir / "similarity.json", json.dumps(_json(result, context), indent=1))
    return index


CSV_COLUMNS = ["a", "b", "similarity", "shared_tokens_a", "own_tokens_a", "comparable_tokens_a", "shared_tokens_b",
               "own_tokens_b", "comparable_tokens_b", "longest_passage_tokens", "text_similarity", "listed"]


def _csv(result: Result) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in result.pairs:
        writer.writerow([p.a.name, p.b.name, f"{p.code.similarity:.4f}", p.code.shared_a, p.code.own_a,
                         p.code.base_a, p.code.shared_b, p.code.own_b, p.code.base_b, p.code.longest,
                         f"{p.text.similarity:.4f}",
                         int(result.settings.lists(p.code, p.text))])
    return buffer.getvalue()


def _json(result: Result, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "assignment": result.assignment.name,
        "settings": context["settings"],
        "notebooks": context["count"],
        "unreadable": context["unreadable"],
        "pairs": [
            {"a": p.a.name, "b": p.b.name, "similarity": round(p.code.similarity, 4),
             "shared_tokens": [p.code.shared_a, p.code.shared_b], "own_tokens": [p.code.own_a, p.code.own_b],
             "comparable_tokens": [p.code.base_a, p.code.base_b],
             "longest_passage_tokens": p.code.longest, "text_similarity": round(p.text.similarity, 4),
             "sections": [vars(s) for s in p.sections]}
            for p in result.listed
        ],
    }


def batch_section(paths: list[Path], assignment: Any, out_dir: Path, top: int = 5) -> dict[str, Any]:
    """The class summary's "Similar submissions" block: writes the full report under out_dir and returns the few
    figures index.html shows. Never raises: a batch's reports do not depend on it."""
    from gradekit.similarity.compare import compare

    try:
        result = compare(list(paths), assignment)
        write_report(result, out_dir)
    except Exception as exc:  # noqa: BLE001 - the gradebook must still be written; the block says what went wrong
        return {"error": f"the similarity report could not be made: {exc}", "href": "", "pairs": []}
    context = summary_context(result, href_prefix=f"{out_dir.name}/")
    return {"error": None, "href": f"{out_dir.name}/index.html", "pairs": context["pairs"][:top],
            "listed": len(context["pairs"]), "threshold": context["settings"]["threshold"],
            "compared": context["compared"], "href_prefix": context["href_prefix"]}
