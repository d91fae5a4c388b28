"""Exports of grading results: the gradebook CSV, Gradescope's results.json
(gradekit's own results JSON is SubmissionResult.write_json).

All writers go through ``write_atomic`` so a killed batch never leaves a half-written file behind.
The formats are documented in docs/results-schema.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gradekit.formatting import cell_error_text, cell_landmark, csv_safe, format_number, self_check_note
from gradekit.results import CheckResult, Status, SubmissionResult, write_atomic

# How many cell errors the Gradescope summary lists before "... and N more".
_MAX_SUMMARY_CELL_ERRORS = 5


# --------------------------------------------------------------------------------------------------------
# Gradebook CSV
# --------------------------------------------------------------------------------------------------------


GRADEBOOK_STATUS = {"graded": "graded", "awaiting": "awaiting TA", "failed": "not graded"}


def gradebook_csv(results: Iterable[SubmissionResult], question_ids: list[str]) -> str:
    """The gradebook as CSV text: ``student,score,max_score,status,awaiting_ta,<question ids...>``, one row per
    student, sorted by id; lines end with "\n".

    Three states that would all read 0 look different: `status` is "graded", "awaiting TA" (`awaiting_ta` holds
    the points a TA has yet to give, which `score` does not count yet) or "not graded" (the notebook could not be
    graded: `score` and the questions are blank, never a 0 that an upload would publish as a grade; its
    `max_score` is the most any submission here could score, as for everyone else). A question a graded result
    has no entry for counts 0.
    """
    results = list(results)
    possible = max((r.max_score for r in results), default=0.0)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "status", "awaiting_ta", *(csv_safe(q) for q in question_ids)])
    for r in sorted(results, key=lambda r: r.student):
        awaiting = sum(c.max_points for c in r.checks if c.awaiting_ta)
        if r.error:
            state, score, questions = "failed", "", [""] * len(question_ids)
        else:
            scores = r.question_scores()
            state = "awaiting" if awaiting else "graded"
            score, questions = format_number(r.score), [format_number(scores.get(q, 0)) for q in question_ids]
        writer.writerow([csv_safe(r.student), score, format_number(possible if r.error else r.max_score),
                         GRADEBOOK_STATUS[state],
                         format_number(awaiting), *questions])
    return buf.getvalue()


def write_gradebook_csv(results: Iterable[SubmissionResult], question_ids: list[str], path: Path) -> None:
    write_atomic(Path(path), gradebook_csv(results, question_ids))


# --------------------------------------------------------------------------------------------------------
# Gradescope
# --------------------------------------------------------------------------------------------------------


AWAITING_TA = "This answer awaits a TA: it counts 0 until a TA grades it."


def _check_output(c: CheckResult) -> str:
    if c.ta_graded and c.review is not None:
        comment = c.review.comment.strip()
        graded = f"Graded by a TA: {format_number(c.points)} / {format_number(c.max_points)}."
        return f"{graded}\nTA's comment: {comment}" if comment else graded
    if c.passed:
        return c.message
    if c.status is Status.ERROR:
        prefix = "This check could not run."
    elif c.status is Status.SKIPPED:
        prefix = "This check was skipped."
    elif c.awaiting_ta:
        prefix = AWAITING_TA
    else:
        prefix = ""
    return "\n".join(part for part in (prefix, c.message) if part)


def _summary_output(result: SubmissionResult) -> str:
    lines: list[str] = []
    if result.error:
        lines.append(f"Your notebook could not be graded: {result.error}")
    else:
        lines.append(f"Score: {format_number(result.score)} / {format_number(result.max_score)}")
        waiting = sum(1 for c in result.checks if c.awaiting_ta)
        if waiting:
            one = waiting == 1
            lines.append(f"{waiting} written answer{'' if one else 's'} await{'s' if one else ''} a TA and "
                         f"count{'s' if one else ''} 0 until graded; your score may still go up.")
    if result.mode == "check":
        lines.append(self_check_note(result.hidden_left_out))
    lines.extend(result.notes)
    errors = result.cell_errors
    for e in errors[:_MAX_SUMMARY_CELL_ERRORS]:
        landmark = cell_landmark(e)
        lines.append(cell_error_text(e) + (f" ({landmark})" if landmark else ""))
    if len(errors) > _MAX_SUMMARY_CELL_ERRORS:
        lines.append(f"... and {len(errors) - _MAX_SUMMARY_CELL_ERRORS} more cells raised.")
    return "\n".join(lines)


def default_visibility(check: CheckResult) -> str:
    return "hidden" if check.hidden else "visible"


def gradescope_results(result: SubmissionResult,
                       visibility: Callable[[CheckResult], str] = default_visibility) -> dict[str, Any]:
    """The Gradescope autograder ``results.json`` for one submission.

    One test per check, named "<question id>: <check name>" and numbered "<question>.<check>" (1-based), with the
    `visibility` its question has in assignment.toml (`Assignment.visibility`): by default public checks are
    "visible" and hidden checks "hidden" (their points count, their results are never shown). The notebook's own
    stdout is not shown (``stdout_visibility: hidden``).
    """
    tests: list[dict[str, Any]] = []
    # A notebook that could not be graded: no check ran, so no test pretends one did (see the docs' mapping).
    for qi, q in enumerate([] if result.error else result.questions(), start=1):
        for ci, c in enumerate(q.checks, start=1):
            tests.append(
                {
                    "name": f"{q.id}: {c.name}",
                    "name_format": "text",
                    "number": f"{qi}.{ci}",
                    "score": c.points,
                    "max_score": c.max_points,
                    "status": "passed" if c.passed else "failed",
                    "output": _check_output(c),
                    "output_format": "text",
                    "tags": [q.id],
                    "visibility": visibility(c),
                }
            )
    data: dict[str, Any] = {
        "score": 0.0 if result.error else result.score,
        "execution_time": int(round(result.duration_s)),
        "output": _summary_output(result),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    if result.error:
        data["extra_data"] = {"gradekit_status": "not_graded"}
    return data


def write_gradescope(result: SubmissionResult, path: Path,
                     visibility: Callable[[CheckResult], str] = default_visibility) -> None:
    write_atomic(Path(path), json.dumps(gradescope_results(result, visibility), indent=2))
