"""Grade one notebook: load it, run it in a fresh sandboxed kernel, run the graders against it.

`grade_notebook` always returns a SubmissionResult. A notebook that cannot be read or run still goes
through the graders, with a proxy that answers every request with the reason, so the student sees every
question with 0 points and one message each, and the TA's gradebook has a complete row.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gradekit.config import Assignment, ConfigError, graders_package
from gradekit.kernel import CellError, KernelSession, KernelStartError
from gradekit.notebook import (
    NotebookLoadError,
    cell_landmarks,
    code_locator,
    definition_cell,
    load_notebook,
    prepare_cells,
)
from gradekit.plugin import GradingContext, GradingPlugin
from gradekit.progress import Reporter
from gradekit.proxy import Missing, Submission
from gradekit.results import GraderRun, SubmissionResult
from gradekit.sandbox import Limits, Sandbox
from gradekit.seeds import Seeds, for_notebook


class GraderError(RuntimeError):
    """The graders themselves could not be collected or run: a course-staff problem, not a student's."""


def grade_notebook(path: Path, assignment: Assignment, *, mode: str = "batch", student: str | None = None,
                   sandbox_mode: str = "auto", data: Path | None = None, hidden_paths: list[Path] | None = None,
                   limits: Limits | None = None, on_step: Reporter | None = None) -> SubmissionResult:
    """`on_step` is told as each cell, then each question, starts (gradekit.progress)."""
    start = time.monotonic()
    path = Path(path)
    result = SubmissionResult(student=student or path.stem, assignment=assignment.name, mode=mode,
                              assignment_title=assignment.title,
                              question_titles=assignment.question_titles)
    try:
        nb = load_notebook(path)
        drawn = for_notebook(path.read_bytes())
    except NotebookLoadError as exc:
        result.error = str(exc)
        result.take(run_graders(assignment, Submission(None, unavailable=f"your notebook could not be graded: {exc}"),
                                mode, data))
        result.duration_s = time.monotonic() - start
        return result

    scratch = Path(tempfile.mkdtemp(prefix="gk-scratch-"))
    hidden = [assignment.root, path.resolve().parent, *(hidden_paths or [])]
    if data is not None:
        hidden.append(Path(data).resolve())
    limits = limits or Limits(memory=assignment.memory_limit)
    try:
        sandbox = Sandbox(scratch=scratch, hidden=hidden, mode=sandbox_mode, limits=limits,
                          readable=assignment.readable_paths(data))
    except RuntimeError as exc:  # --sandbox on where bubblewrap cannot run: a result that says so, not a crash
        shutil.rmtree(scratch, ignore_errors=True)
        result.error = f"grading failed on the course's side, not yours: {exc}. Please tell your course staff."
        result.take(run_graders(assignment, Submission(None, unavailable=result.error), mode, data, notebook=nb))
        result.duration_s = time.monotonic() - start
        return result
    if sandbox.note:
        result.notes.append(sandbox.note)
    try:
        with sandbox:
            prepared = prepare_cells(nb, setup=assignment.setup_code(data), skip_tags=assignment.skip_tags,
                                     replace_tags=assignment.replace_tags,
                                     replace_patterns=assignment.replace_patterns)
            result.routine_notes.extend(prepared.routine)
            assignment.prepare_workspace(scratch, data)
            with KernelSession(scratch, sandbox, cell_timeout=assignment.cell_timeout,
                               notebook_timeout=assignment.notebook_timeout) as session:
                report = session.run_notebook([(c.position, c.source) for c in prepared.cells], on_step)
                result.sandbox = sandbox.protections.to_dict()
                result.cell_errors = [{**e.to_dict(), **cell_landmarks(nb, e.cell)} for e in report.errors
                                      if e.cell > 0]
                result.notes.extend(report.notes)
                setup_errors = [e for e in report.errors if e.cell == 0]
                if setup_errors:
                    raise GraderError(f"the assignment's grading set-up failed: {setup_errors[0].ename}: "
                                      f"{setup_errors[0].evalue}")
                if report.aborted:
                    result.notes.append(report.aborted)
                submission = Submission(session, unavailable=session.dead, locate=code_locator(nb),
                                        explain_missing=missing_explainer(nb, report.errors, report.fatal_cell),
                                        default_timeout=assignment.call_timeout)
                result.take(run_graders(assignment, submission, mode, data, notebook=nb, seeds=drawn,
                                        on_step=on_step))
    except (GraderError, KernelStartError) as exc:
        result.error = f"grading failed on the course's side, not yours: {exc}. Please tell your course staff."
    except Exception as exc:  # noqa: BLE001 - one submission must never take the batch down
        result.error = f"grading stopped unexpectedly ({type(exc).__name__}: {exc}); please tell your course staff"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.error and not result.checks:
        with contextlib.suppress(GraderError):
            result.take(run_graders(assignment, Submission(None, unavailable=result.error), mode, data, notebook=nb))
    result.duration_s = time.monotonic() - start
    return result


def missing_explainer(nb, errors: list[CellError], stopped_at: int | None = None) -> Callable[[str], Missing]:
    """For "X is not defined": why, as a Missing record. `unwritten` is True when X is missing because the
    student has not written that part yet, directly or through an earlier unwritten piece, so that an untouched
    template reads "not implemented" rather than a list of knock-on errors. `stopped_at` is the cell that killed
    or hung the kernel: cells after it were not run."""
    by_cell = {e.cell: e for e in errors}
    unwritten = sorted(e.cell for e in errors if e.ename == "NotImplementedError")

    def explain(name: str) -> Missing:
        position = definition_cell(nb, name)
        if position is None:
            if unwritten:
                return Missing(True, "no cell defines it yet")
            return Missing(False, f"no cell defines it (keep the name `{name}` from the assignment)")
        error = by_cell.get(position)
        if error is None and stopped_at is not None and position >= stopped_at:
            return Missing(False, f"cell {position} defines it, but the notebook stopped at cell {stopped_at} "
                                  "and the cells after it were not run")
        if error is None:
            return Missing(False, f"cell {position} defines it but did not run")
        if error.ename == "NotImplementedError" or (error.ename == "NameError" and unwritten
                                                    and unwritten[0] < position):
            return Missing(True, f"cell {position} cannot run before the parts it needs are written")
        return Missing(False, f"cell {position}, which defines it, raised {error.ename}: {error.evalue}",
                       defining_cell_raised=True)

    return explain


def run_graders(assignment: Assignment, submission: Submission, mode: str,
                data: Path | None, notebook: Any = None, seeds: Seeds | None = None,
                on_step: Reporter | None = None) -> GraderRun:
    """Run the assignment's pytest graders in this process against `submission`; collect CheckResults.
    `notebook` is the loaded notebook, for graders that read written answers from its cells; `seeds` what
    the graders draw from (fresh ones when None)."""
    context = GradingContext(submission=submission, assignment=assignment, mode=mode, data_path=data,
                             notebook=notebook, on_step=on_step, **({"seeds": seeds} if seeds is not None else {}))
    try:
        graders_package(assignment)  # imported once per process; pytest finds its modules by the same names
    except ConfigError as exc:
        raise GraderError(f"the graders for {assignment.name} could not be imported: {exc}") from exc
    args = [str(assignment.graders), "-q", "-p", "no:cacheprovider", "-p", "gradekit.plugin",
            "--import-mode=importlib", "--rootdir", str(assignment.graders), "-c", os.devnull,
            "-W", "ignore::DeprecationWarning"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(args, plugins=[GradingPlugin(context)])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = "\n".join(out.getvalue().strip().splitlines()[-15:])
        print(tail, file=sys.stderr)
        raise GraderError(f"the graders for {assignment.name} could not run (pytest exit {int(code)})")
    return GraderRun(checks=context.results, hidden_left_out=context.hidden_left_out)
