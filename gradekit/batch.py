"""Grade a folder of notebooks in warm worker processes, results written as they finish.

Submissions are graded by `python -m gradekit.worker --serve` processes, one per job slot, each grading one
notebook after another (gradekit.pool): a grader crash or a runaway kernel costs the notebook's own row and its
worker, which is replaced, and a wall-clock limit around each notebook guarantees the batch moves on. A result
JSON is written atomically the moment a submission is done, so `--resume` can skip it.

Results JSON hold the machine's verdict only. Points a TA recorded in `ta_review.csv` (gradekit.review) are
applied afresh on every run, after all results are in, and everything a person reads (gradebook, index.html,
feedback pages, Gradescope files) is written from the reviewed copies; so `--resume` after a TA filled the
CSV re-renders all of it without regrading anything.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradekit.config import Assignment
from gradekit.export import write_gradebook_csv, write_gradescope
from gradekit.pool import PoolLimits, WorkerFailed, WorkerPool
from gradekit.report import write_class_summary, write_feedback
from gradekit.results import SubmissionResult
from gradekit.review import REVIEW_CSV, ReviewOutcome, apply_reviews, read_review_csv, write_review_csv


@dataclass
class BatchOptions:
    jobs: int = 1
    sandbox: str = "auto"
    data: Path | None = None
    resume: bool = False
    quiet: bool = False
    worker_timeout: float | None = None  # seconds per notebook; None: from the assignment (worker_limit)
    recycle_after: int = PoolLimits.recycle_after  # notebooks a warm worker grades before it is replaced


def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file() and not p.name.startswith("."))


def worker_limit(assignment: Assignment) -> float:
    """Wall-clock limit for one submission: the notebook's own limit plus time for the graders."""
    learn = float(assignment.settings.get("learn_timeout", 0))
    return assignment.notebook_timeout + learn + 300


def worker_command(assignment: Assignment, options: BatchOptions) -> list[str]:
    cmd = [sys.executable, "-m", "gradekit.worker", "--assignment", assignment.name, "--root", str(assignment.root),
           "--sandbox", options.sandbox]
    return cmd + (["--data", str(options.data)] if options.data else [])


def grade_in_worker(pool: WorkerPool, path: Path, assignment: Assignment,
                    out_json: Path) -> tuple[SubmissionResult, float]:
    """The notebook's result, graded by one of the pool's workers (a row saying why when the worker failed), and
    the wall-clock seconds it cost the batch, a worker's start included when it needed one."""
    start = time.monotonic()
    try:
        pool.grade(path, out_json)
        return SubmissionResult.read_json(out_json), time.monotonic() - start
    except WorkerFailed as exc:
        error = str(exc)
    except (OSError, ValueError, KeyError) as exc:  # the worker said done but left no readable result
        error = f"the grader process for this notebook left no readable result ({exc}); please tell your course staff"
    result = SubmissionResult(student=path.stem, assignment=assignment.name, error=error,
                              assignment_title=assignment.title,
                              question_titles=assignment.question_titles)
    result.write_json(out_json)
    return result, time.monotonic() - start


def run_batch(folder: Path, assignment: Assignment, out_dir: Path, options: BatchOptions) -> list[SubmissionResult]:
    out_dir = Path(out_dir)
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    submissions = find_submissions(folder)
    if not submissions:
        raise FileNotFoundError(f"no .ipynb files in {folder}")
    results: dict[str, SubmissionResult] = {}
    todo = []
    for path in submissions:
        out_json = out_dir / "results" / f"{path.stem}.json"
        if options.resume and out_json.exists():
            try:
                results[path.stem] = SubmissionResult.read_json(out_json)
                continue
            except (ValueError, KeyError, json.JSONDecodeError):
                pass  # a damaged result is graded again
        todo.append((path, out_json))

    progress = Progress(len(submissions), len(results), quiet=options.quiet)
    jobs = max(1, options.jobs)
    limits = PoolLimits(per_notebook=options.worker_timeout or worker_limit(assignment),
                        recycle_after=options.recycle_after)
    with WorkerPool(worker_command(assignment, options), jobs, limits) as workers, \
            ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_in_worker, workers, p, assignment, j): p for p, j in todo}
        for future in as_completed(futures):
            result, seconds = future.result()
            results[result.student] = result
            # Written now so a killed batch still leaves pages; rewritten with the TA's points at the end.
            write_feedback(result, out_dir / "feedback" / f"{result.student}.html")
            write_gradescope(result, out_dir / "gradescope" / f"{result.student}.json",
                         lambda c: assignment.visibility(c.question, c.hidden))
            progress.step(result, seconds)
    progress.done()

    machine = [results[k] for k in sorted(results)]
    review_path = out_dir / REVIEW_CSV
    sheet = read_review_csv(review_path)
    ordered, outcome = apply_reviews(machine, sheet)
    from gradekit.similarity.report import batch_section  # here: copydetect's import costs ~2 s

    similarity = batch_section(submissions, assignment, out_dir / "similarity")
    write_reports(ordered, assignment, out_dir, rerun_command(folder, assignment, out_dir, options), similarity)
    written = write_review_csv(review_path, ordered, sheet)
    if not options.quiet:
        print_review_summary(outcome, Path(shown_path(review_path)), written)
    return ordered


def write_reports(results: list[SubmissionResult], assignment: Assignment, out_dir: Path, rerun: str,
                  similarity: dict[str, Any] | None = None) -> None:
    """Everything a person reads, from the reviewed results: all of it, resumed results included, since the
    TA's points may have changed since the last run."""
    for result in results:
        write_feedback(result, out_dir / "feedback" / f"{result.student}.html")
        write_gradescope(result, out_dir / "gradescope" / f"{result.student}.json",
                         lambda c: assignment.visibility(c.question, c.hidden))
    write_gradebook_csv(results, assignment.question_ids, out_dir / "gradebook.csv")
    write_class_summary(results, out_dir / "index.html", title=assignment.title,
                        question_ids=assignment.question_ids, question_titles=assignment.question_titles,
                        review_csv=REVIEW_CSV, rerun_command=rerun, similarity=similarity)


def rerun_command(folder: Path, assignment: Assignment, out_dir: Path, options: BatchOptions) -> str:
    """The command that re-renders the reports with a TA's points, shown on index.html."""
    parts = ["grade", "batch", shown_path(folder), "--assignment", assignment.name, "--out", shown_path(out_dir)]
    if options.data:
        parts += ["--data", shown_path(options.data)]
    return shlex.join([*parts, "--resume"])


def shown_path(path: Path) -> str:
    """A path for a command a TA will paste: relative to the current folder when it is inside it, else absolute,
    whichever way it was given (the demo's submissions are absolute, its reports relative)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else str(resolved)


def print_review_summary(outcome: ReviewOutcome, path: Path, written: bool) -> None:
    """What the TA must do next about written answers, and any row of their CSV that could not be used."""
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.applied:
        print(f"TA review: applied the points of {outcome.applied} answer{_s(outcome.applied)} from {path}",
              file=sys.stderr)
    if outcome.changed:
        print(f"TA review: {outcome.changed} answer{_s(outcome.changed)} changed since a TA graded "
              f"{'them' if outcome.changed != 1 else 'it'} and need{'s' if outcome.changed == 1 else ''} "
              "grading again", file=sys.stderr)
    if outcome.pending:
        where = path if written else f"{path} (once its header is fixed)"
        print(f"TA review: {outcome.pending} answer{_s(outcome.pending)} await{'s' if outcome.pending == 1 else ''} "
              f"a TA: fill `points` in {where}, then rerun with --resume; index.html lists them under "
              "\"Needs a TA\"", file=sys.stderr)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal, e.g. in CI logs)."""

    def __init__(self, total: int, already: int, quiet: bool = False):
        self.total, self.count, self.quiet = total, already, quiet
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        if already and not quiet:
            print(f"resuming: {already} of {total} already graded", file=sys.stderr)

    def step(self, result: SubmissionResult, seconds: float) -> None:
        self.count += 1
        if self.quiet:
            return
        width = 24
        filled = int(width * self.count / self.total)
        bar = "#" * filled + "-" * (width - filled)
        status = "ERROR" if result.error else f"{result.score:g}/{result.max_score:g}"
        line = (f"[{bar}] {self.count}/{self.total}  {result.student}: {status} "
                f"({seconds:.1f} s)")
        print(("\r" + line.ljust(100)) if self.tty else line, file=sys.stderr, end="" if self.tty else "\n",
              flush=True)

    def done(self) -> None:
        if not self.quiet:
            end = "\n" if self.tty else ""
            print(f"{end}graded {self.total} notebooks in {time.monotonic() - self.start:.1f} s", file=sys.stderr)


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))
