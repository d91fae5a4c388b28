"""HTML reports: the feedback page a student reads and the class summary (index.html) a TA reads.

Both are rendered from the jinja2 templates in gradekit/templates with autoescaping on: student ids,
notebook output and check messages are untrusted text. The pages are self-contained (inline CSS, an
inline SVG histogram, no scripts, no external assets) so they can be mailed, zipped or opened from disk.

The Python side only computes plain view data (numbers, labels, geometry); all markup is in the templates.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gradekit.export import SELF_CHECK_NOTE, cell_error_text, format_number
from gradekit.results import CheckResult, QuestionResult, SubmissionResult, write_atomic

TEMPLATE_DIR = Path(__file__).parent / "templates"

HISTOGRAM_BINS = 10

STATE_LABELS = {"passed": "passed", "partial": "partial", "failed": "failed", "empty": "no checks"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = lambda x: format_number(x, 2)
    env.filters["pct"] = format_percent
    return env


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{format_number(value, 1)}%"


def percent(points: float, max_points: float) -> float | None:
    return None if max_points <= 0 else 100.0 * points / max_points


def question_state(q: QuestionResult) -> str:
    """The question's badge: passed (every check), partial (some points), failed (none), empty (no checks)."""
    if not q.checks:
        return "empty"
    if q.passed:
        return "passed"
    return "partial" if q.points > 0 else "failed"


def check_status(c: CheckResult) -> tuple[str, str]:
    """(css class, visible label) for one check; the label alone must carry the meaning."""
    if c.passed:
        return "passed", "passed"
    if c.status == "error":
        return "error", "could not run"
    if c.status == "skipped":
        return "skipped", "skipped"
    if c.status == "not_implemented":
        return "failed", "not implemented"
    return "failed", "failed"


def _anchor(index: int, qid: str) -> str:
    return f"q{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", qid).strip("-")


# --------------------------------------------------------------------------------------------------------
# Feedback page
# --------------------------------------------------------------------------------------------------------


def _feedback_context(result: SubmissionResult) -> dict[str, Any]:
    questions = []
    for i, q in enumerate(result.questions(), start=1):
        messages = q.messages
        checks = []
        for c in q.checks:
            status_class, status_label = check_status(c)
            ref = messages.index(c.message) + 1 if (not c.passed and c.message in messages) else None
            checks.append(
                {
                    "name": c.name,
                    "points": c.points,
                    "max_points": c.max_points,
                    "status_class": status_class,
                    "status_label": status_label,
                    "hidden": c.hidden,
                    "message": c.message,
                    "message_ref": ref,
                }
            )
        state = question_state(q)
        questions.append(
            {
                "id": q.id,
                "title": q.title,
                "anchor": _anchor(i, q.id),
                "points": q.points,
                "max_points": q.max_points,
                "state": state,
                "state_label": STATE_LABELS[state],
                "messages": messages,
                "checks": checks,
            }
        )
    return {
        "r": result,
        "score": result.score,
        "max_score": result.max_score,
        "percent": percent(result.score, result.max_score),
        "self_check": result.mode == "check",
        "self_check_note": SELF_CHECK_NOTE,
        "cell_errors": [
            {"summary": cell_error_text(e), "line": str(e.get("line") or "").strip()}
            for e in result.cell_errors
        ],
        "questions": questions,
        # A notebook that could not be graded has no checks: a list of "0 / 0, no checks" would only be noise.
        "show_questions": bool(questions) and not (result.error and not result.checks),
    }


def render_feedback(result: SubmissionResult) -> str:
    """The feedback page for one submission (HTML text)."""
    return environment().get_template("feedback.html.j2").render(_feedback_context(result))


def write_feedback(result: SubmissionResult, path: Path) -> None:
    write_atomic(Path(path), render_feedback(result))


# --------------------------------------------------------------------------------------------------------
# Class summary
# --------------------------------------------------------------------------------------------------------


@dataclass
class Histogram:
    """Geometry of the inline SVG score histogram (viewBox units); the template only draws it."""

    width: int
    height: int
    left: int
    top: int
    plot_w: float
    plot_h: float
    bars: list[dict[str, Any]]
    x_ticks: list[dict[str, Any]]
    y_ticks: list[dict[str, Any]]
    description: str


def histogram(percents: Iterable[float], bins: int = HISTOGRAM_BINS) -> Histogram:
    """Bin percentages into ``bins`` equal bins over 0..100 (the last bin includes 100)."""
    counts = [0] * bins
    for p in percents:
        counts[min(max(int(p * bins // 100), 0), bins - 1)] += 1

    width, height, left, right, top, bottom = 640, 280, 56, 16, 20, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0)
    step = max(1, -(-peak // 5))  # at most ~5 gridlines, integer counts
    y_top = max(step, step * -(-peak // step))
    bin_w = plot_w / bins
    gap = min(6.0, bin_w * 0.15)
    bars = []
    descriptions = []
    for i, n in enumerate(counts):
        lo, hi = 100 * i // bins, 100 * (i + 1) // bins
        h = plot_h * n / y_top
        label = f"{lo}–{hi}%"
        bars.append(
            {
                "x": round(left + i * bin_w + gap / 2, 2),
                "y": round(top + plot_h - h, 2),
                "w": round(bin_w - gap, 2),
                "h": round(h, 2),
                "cx": round(left + (i + 0.5) * bin_w, 2),
                "count": n,
                "label": label,
            }
        )
        descriptions.append(f"{label}: {n}")
    x_ticks = [{"x": round(left + i * bin_w, 2), "label": str(100 * i // bins)} for i in range(bins + 1)]
    y_ticks = [
        {"y": round(top + plot_h - plot_h * v / y_top, 2), "label": str(v)} for v in range(0, y_top + 1, step)
    ]
    return Histogram(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_w=plot_w,
        plot_h=plot_h,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        description="Number of students per score range: " + "; ".join(descriptions) + ".",
    )


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def _summary_context(
    results: list[SubmissionResult], title: str, question_ids: list[str], question_titles: dict[str, str]
) -> dict[str, Any]:
    ordered = sorted(results, key=lambda r: r.student)
    # (result, {question id: QuestionResult}) pairs; a list, not a dict by student, so duplicate ids survive.
    rows = [(r, {q.id: q for q in r.questions()}) for r in ordered]
    graded = [r for r in ordered if r.error is None]
    graded_questions = [qs for r, qs in rows if r.error is None]
    percents = [p for r in graded if (p := percent(r.score, r.max_score)) is not None]
    max_possible = max((r.max_score for r in graded), default=0.0)

    question_rows = []
    for qid in question_ids:
        found = [qs[qid] for qs in graded_questions if qid in qs]
        full = sum(1 for q in found if q.max_points > 0 and q.points >= q.max_points - 1e-9)
        mean_points = (
            statistics.fmean([q.points for q in found] + [0.0] * (len(graded) - len(found)))
            if graded
            else None
        )
        q_max = max((q.max_points for q in found), default=0.0)
        pass_rate = 100.0 * full / len(graded) if graded else None
        question_rows.append(
            {
                "id": qid,
                "title": question_titles.get(qid, qid),
                "max_points": q_max,
                "mean_points": mean_points,
                "mean_percent": percent(mean_points, q_max) if mean_points is not None else None,
                "pass_rate": pass_rate,
                "full": full,
            }
        )

    students = []
    for r, qs in rows:
        flags = []
        if r.error is None:
            if r.cell_errors:
                n = len(r.cell_errors)
                flags.append(f"{n} cell{'s' if n != 1 else ''} raised")
            flags.extend(r.notes)
        students.append(
            {
                "student": r.student,
                "href": "feedback/" + quote(r.student, safe="") + ".html",
                "error": r.error,
                "score": r.score,
                "max_score": r.max_score,
                "percent": percent(r.score, r.max_score),
                "questions": [qs[qid].points if qid in qs else None for qid in question_ids],
                "flags": flags,
            }
        )

    return {
        "title": title,
        "count": len(ordered),
        "graded_count": len(graded),
        "error_count": len(ordered) - len(graded),
        "max_possible": max_possible,
        "points": _stats([r.score for r in graded]),
        "percents": _stats(percents),
        "histogram": histogram(percents),
        "question_ids": question_ids,
        "question_rows": question_rows,
        "students": students,
    }


def render_class_summary(
    results: list[SubmissionResult], *, title: str, question_ids: list[str], question_titles: dict[str, str]
) -> str:
    """The TA's index.html: statistics, histogram, per-question table and one row per student.

    Student rows link to ``feedback/<student>.html`` (URL-quoted), i.e. feedback pages written next to it.
    Submissions that could not be graded are listed and flagged but left out of the statistics.
    """
    context = _summary_context(list(results), title, list(question_ids), dict(question_titles))
    return environment().get_template("summary.html.j2").render(context)


def write_class_summary(
    results: list[SubmissionResult],
    path: Path,
    *,
    title: str,
    question_ids: list[str],
    question_titles: dict[str, str],
) -> None:
    html = render_class_summary(
        results, title=title, question_ids=question_ids, question_titles=question_titles
    )
    write_atomic(Path(path), html)
