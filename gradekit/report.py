"""HTML reports: the feedback page a student reads and the class summary (index.html) a TA reads.

Both are rendered from the jinja2 templates in gradekit/templates with autoescaping on: student ids,
notebook output and check messages are untrusted text. The pages are self-contained (inline CSS, an
inline SVG histogram, no external assets) so they can be mailed, zipped or opened from disk. The class summary's
one script, which sorts its table, is admitted by its hash in the page's Content-Security-Policy; nothing else
can run, on either page.

The Python side only computes plain view data (numbers, labels, geometry); all markup is in the templates.
"""

from __future__ import annotations

import base64
import hashlib
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gradekit.figures import Figure
from gradekit.formatting import cell_error_text, cell_landmark, format_number, format_percent, percent, self_check_note
from gradekit.mathml import render_answer, render_example, render_latex
from gradekit.results import CheckResult, QuestionResult, Review, Status, SubmissionResult, write_atomic
from gradekit.review import COLUMNS as REVIEW_COLUMNS
from gradekit.review import queue_key
from gradekit.sandbox import Protections

TEMPLATE_DIR = Path(__file__).parent / "templates"

HISTOGRAM_BINS = 10

STATE_LABELS = {
    "passed": "passed", "partial": "partial", "failed": "failed", "empty": "no checks", "review": "awaiting TA",
}


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
    env.filters["answer"] = render_answer
    env.filters["latex"] = render_latex
    env.filters["example"] = render_example
    env.filters["protections"] = lambda record: Protections(**record).summary
    return env


@lru_cache(maxsize=1)
def sort_script() -> str:
    """The class summary's only script (templates/sortable.js): sorting the scores table."""
    return (TEMPLATE_DIR / "sortable.js").read_text()


def script_hash(script: str) -> str:
    """The Content-Security-Policy source that admits exactly `script` inline and no other script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def check_status(c: CheckResult) -> tuple[str, str]:
    """(css class, visible label) for one check; the label alone must carry the meaning."""
    if c.awaiting_ta:
        return "review", "awaiting TA"
    if c.ta_graded:
        return ("passed" if c.passed else "partial" if c.points > 0 else "failed"), "graded by TA"
    if c.passed:
        return "passed", "passed"
    if c.status is Status.ERROR:
        return "error", "could not run"
    if c.status is Status.SKIPPED:
        return "skipped", "skipped"
    if c.status is Status.NOT_IMPLEMENTED:
        return "failed", "not implemented"
    return "failed", "failed"


def _anchor(index: int, qid: str) -> str:
    return f"q{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", qid).strip("-")


# --------------------------------------------------------------------------------------------------------
# Feedback page
# --------------------------------------------------------------------------------------------------------


def _review_view(c: CheckResult) -> dict[str, Any] | None:
    """What the student sees of a TA-graded answer: their answer as the TA sees it, and whether it is done.
    The rubric is staff material and stays on the class summary."""
    if c.review is None or not (c.awaiting_ta or c.ta_graded):
        return None
    return {"pending": c.awaiting_ta, "answer": c.review.answer}


def _reading_view(c: CheckResult) -> dict[str, str] | None:
    if c.reading is None:
        return None
    return {"answer": c.reading.answer, "parsed": c.reading.parsed, "example": c.reading.example}


def _figure_view(f: Figure) -> dict[str, str]:
    """A figure as the template draws it: an <img> whose source is the figure's own data (never markup)."""
    return {"title": f.title, "caption": f.caption, "src": f.data_uri()}


def _feedback_context(result: SubmissionResult) -> dict[str, Any]:
    questions = []
    numbered = list(enumerate(result.questions(), start=1))
    anchor_of = {q.id: _anchor(i, q.id) for i, q in numbered}
    for i, q in numbered:
        messages = q.messages
        checks = []
        for c in q.checks:
            status_class, status_label = check_status(c)
            line = q.message_index(c)
            ref = line + 1 if line is not None else None
            checks.append(
                {
                    "name": c.name,
                    "points": c.points,
                    "max_points": c.max_points,
                    "status_class": status_class,
                    "status_label": status_label,
                    "hidden": c.hidden,
                    # A TA's grade without a comment: the review block already says "Graded by a TA".
                    "message": "" if c.ta_graded and c.review is not None and not c.review.comment else c.message,
                    "message_ref": ref,
                    "review": _review_view(c),
                    "reading": _reading_view(c),
                    "figures": [_figure_view(f) for f in c.figures],
                }
            )
        state = q.state
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
                "may_explain": [{"title": other.title, "anchor": anchor_of[other.id], "points": other.points,
                                 "max_points": other.max_points} for other in result.may_explain(q)],
            }
        )
    return {
        "r": result,
        "score": result.score,
        "max_score": result.max_score,
        "percent": percent(result.score, result.max_score),
        "self_check": result.mode == "check",
        "self_check_note": self_check_note(result.hidden_left_out),
        "cell_errors": [
            {"summary": cell_error_text(e), "line": str(e.get("line") or "").strip(), "landmark": cell_landmark(e)}
            for e in result.cell_errors
        ],
        "questions": questions,
        "start_here": [{"summary": cause.summary, "fix": cause.fix,
                        "questions": [{"title": q.title, "anchor": anchor_of[q.id]} for q in causing]}
                       for cause, causing in result.shared_causes()],
        "pending": sum(1 for c in result.checks if c.awaiting_ta),
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

    width, height, left, right, top, bottom = 640, 280, 56, 28, 20, 56  # right: room for the last label, "100"
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

    question_rows = [_question_row(qid, question_titles.get(qid, qid), graded_questions) for qid in question_ids]

    students = [_student_row(r, qs, question_ids) for r, qs in rows]
    attention = [s for s in students if s["flags"]]
    attention.sort(key=lambda s: (min(ATTENTION_ORDER.index(f.kind) for f in s["flags"]), s["student"]))

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
        "needs_you": [s for s in attention if any(f.kind in NEEDS_YOU for f in s["flags"])],
        "worth_a_look": [s for s in attention if not any(f.kind in NEEDS_YOU for f in s["flags"])],
        **_review_context(ordered),
    }


@dataclass(frozen=True)
class Flag:
    """One reason a TA might look at a submission, as the class summary shows it: a short label for the table and
    the sentence that explains it for the Needs-attention list."""

    kind: str  # one of ATTENTION_ORDER
    label: str
    detail: str = ""


# Most urgent first. "not-graded" and "awaiting" need a TA to act; the others are worth a look.
ATTENTION_ORDER = ("not-graded", "awaiting", "note", "raised")
NEEDS_YOU = frozenset({"not-graded", "awaiting"})


def _flags(r: SubmissionResult) -> list[Flag]:
    if r.error is not None:
        return [Flag("not-graded", "could not be graded", r.error)]
    flags = []
    waiting = sum(1 for c in r.checks if c.awaiting_ta)
    if waiting:
        flags.append(Flag("awaiting", f"{waiting} answer{'s' if waiting != 1 else ''} awaiting a TA"))
    flags.extend(Flag("note", note) for note in r.notes)
    raised = root_errors(r.cell_errors)
    if raised:
        n = len(raised)
        flags.append(Flag("raised", f"{n} cell{'s' if n != 1 else ''} raised", cell_error_text(raised[0])))
    return flags


def root_errors(cell_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cell errors worth a TA's look. A cell that raised costs the student points, which the checks already say;
    it is worth a look unless it was an unwritten part (NotImplementedError) or a NameError after an earlier cell
    raised, which is that cell's consequence (the name it would have defined), not a mistake of its own."""
    roots, earlier = [], False
    for error in cell_errors:
        ename = error.get("ename")
        if ename != "NotImplementedError" and not (ename == "NameError" and earlier):
            roots.append(error)
        earlier = True
    return roots


def _student_row(r: SubmissionResult, qs: dict[str, QuestionResult], question_ids: list[str]) -> dict[str, Any]:
    score_percent = percent(r.score, r.max_score) if r.error is None else None
    questions = [qs[qid].points if qid in qs and r.error is None else None for qid in question_ids]
    return {
        "student": r.student,
        "href": "feedback/" + quote(r.student, safe="") + ".html",
        "error": r.error,
        "score": r.score,
        "max_score": r.max_score,
        "percent": score_percent,
        "questions": questions,
        "flags": _flags(r),
        # What the table sorts by: a row that could not be graded sorts below every score.
        "sort_total": -1 if score_percent is None else round(score_percent, 4),
        "sort_questions": [-1 if p is None else p for p in questions],
    }


def _question_row(qid: str, title: str, graded_questions: list[dict[str, QuestionResult]]) -> dict[str, Any]:
    """Mean points and pass rate over the submissions whose answers to this question are all decided: one
    awaiting a TA would count as 0 and drag both down until graded, so it is counted apart."""
    decided: list[QuestionResult | None] = []
    waiting = 0
    for qs in graded_questions:
        q = qs.get(qid)
        if q is not None and any(c.awaiting_ta for c in q.checks):
            waiting += 1
        else:
            decided.append(q)  # None: the result has no such question, which counts as 0
    found = [q for q in decided if q is not None]
    full = sum(1 for q in found if q.max_points > 0 and q.points >= q.max_points - 1e-9)
    mean_points = statistics.fmean([q.points if q else 0.0 for q in decided]) if decided else None
    q_max = max((q.max_points for qs in graded_questions if (q := qs.get(qid))), default=0.0)
    return {
        "id": qid,
        "title": title,
        "max_points": q_max,
        "mean_points": mean_points,
        "mean_percent": percent(mean_points, q_max) if mean_points is not None else None,
        "pass_rate": 100.0 * full / len(decided) if decided else None,
        "full": full,
        "decided": len(decided),
        "waiting": waiting,
    }


def _review_item(r: SubmissionResult, c: CheckResult, titles: dict[str, str]) -> dict[str, Any]:
    review = c.review or Review(kind="", answer="")
    return {
        "student": r.student,
        "href": "feedback/" + quote(r.student, safe="") + ".html",
        "question": c.question,
        "question_title": titles.get(c.question, c.question),
        "check": c.name,
        "points": c.points,
        "max_points": c.max_points,
        "kind": review.kind,
        "answer": review.answer,
        "rubric": review.rubric,
        "reason": review.reason,
        "note": review.note,
        "comment": review.comment,
        "answer_sha": review.answer_sha,
        "reading": _reading_view(c),
    }


def _review_context(results: list[SubmissionResult]) -> dict[str, Any]:
    """The "Needs a TA" section: answers awaiting a TA, then those a TA already graded (via ta_review.csv), each
    grouped by question in the assignment's order, as TAs grade them."""
    pending, done = [], []
    for r in results:
        titles = dict(r.question_titles)
        for c in r.checks:
            if c.awaiting_ta:
                pending.append(_review_item(r, c, titles))
            elif c.ta_graded:
                done.append(_review_item(r, c, titles))
    key = queue_key(results)
    for items in (pending, done):
        items.sort(key=lambda i: key(i["question"], i["check"], i["student"]))
    return {"pending_reviews": pending, "done_reviews": done}


def render_class_summary(
    results: list[SubmissionResult],
    *,
    title: str,
    question_ids: list[str],
    question_titles: dict[str, str],
    review_csv: str = "ta_review.csv",
    rerun_command: str = "grade batch SUBMISSIONS/ --assignment NAME --out REPORTS/ --resume",
    similarity: dict[str, Any] | None = None,
) -> str:
    """The TA's index.html: statistics, histogram, per-question table, one row per student, and the answers
    a TA must grade with how to record the points (`review_csv`, relative to the page, then `rerun_command`).

    Student rows link to ``feedback/<student>.html`` (URL-quoted), i.e. feedback pages written next to it.
    Submissions that could not be graded are listed and flagged but left out of the statistics.
    """
    context = _summary_context(list(results), title, list(question_ids), dict(question_titles))
    script = sort_script()
    context.update(sort_script=script, script_hash=script_hash(script))
    context.update(review_csv=review_csv, review_csv_href=quote(review_csv), rerun_command=rerun_command,
                   review_columns=REVIEW_COLUMNS, similarity=similarity)
    return environment().get_template("summary.html.j2").render(context)


def write_class_summary(
    results: list[SubmissionResult],
    path: Path,
    *,
    title: str,
    question_ids: list[str],
    question_titles: dict[str, str],
    similarity: dict[str, Any] | None = None,
    **review_help: str,
) -> None:
    """Write index.html; `review_help` passes `review_csv` / `rerun_command` on to render_class_summary;
    `similarity` is the "Similar submissions" block (gradekit.similarity.report.batch_section)."""
    page = render_class_summary(
        results, title=title, question_ids=question_ids, question_titles=question_titles, similarity=similarity,
        **review_help
    )
    write_atomic(Path(path), page)
