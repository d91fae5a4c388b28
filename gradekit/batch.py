"""Grade a folder of notebooks: one worker process per submission, results written as they finish.

Each submission is graded by `python -m gradekit.worker` in its own process: a grader crash, a pytest
state leak or a runaway kernel stays inside it, and a wall-clock limit around it guarantees the batch moves
on. A result JSON is written atomically the moment a submission is done, so `--resume` can skip it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from gradekit.config import Assignment
from gradekit.export import write_gradebook_csv, write_gradescope
from gradekit.report import write_class_summary, write_feedback
from gradekit.results import SubmissionResult


@dataclass
class BatchOptions:
    jobs: int = 1
    sandbox: str = "auto"
    data: Path | None = None
    resume: bool = False
    quiet: bool = False


def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file() and not p.name.startswith("."))


def worker_limit(assignment: Assignment) -> float:
    """Wall-clock limit for one submission: the notebook's own limit plus time for the graders."""
    learn = float(assignment.settings.get("learn_timeout", 0))
    return assignment.notebook_timeout + learn + 300


def grade_in_worker(path: Path, assignment: Assignment, out_json: Path, options: BatchOptions) -> SubmissionResult:
    cmd = [sys.executable, "-m", "gradekit.worker", str(path), "--assignment", assignment.name,
           "--root", str(assignment.root), "--out", str(out_json), "--sandbox", options.sandbox]
    if options.data:
        cmd += ["--data", str(options.data)]
    limit = worker_limit(assignment)
    student = path.stem
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL)
        if proc.returncode == 0 and out_json.exists():
            return SubmissionResult.read_json(out_json)
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
        error = f"the grader process for this notebook failed ({reason}); please tell your course staff"
    except subprocess.TimeoutExpired:
        error = f"grading this notebook took longer than {limit:.0f} s and was stopped"
    result = SubmissionResult(student=student, assignment=assignment.name, error=error,
                              question_titles=assignment.question_titles)
    result.write_json(out_json)
    return result


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
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = {pool.submit(grade_in_worker, p, assignment, j, options): p for p, j in todo}
        for future in as_completed(futures):
            result = future.result()
            results[result.student] = result
            write_feedback(result, out_dir / "feedback" / f"{result.student}.html")
            write_gradescope(result, out_dir / "gradescope" / f"{result.student}.json")
            progress.step(result)
    progress.done()

    ordered = [results[k] for k in sorted(results)]
    write_gradebook_csv(ordered, assignment.question_ids, out_dir / "gradebook.csv")
    write_class_summary(ordered, out_dir / "index.html", title=assignment.title,
                        question_ids=assignment.question_ids, question_titles=assignment.question_titles)
    return ordered


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal, e.g. in CI logs)."""

    def __init__(self, total: int, already: int, quiet: bool = False):
        self.total, self.count, self.quiet = total, already, quiet
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        if already and not quiet:
            print(f"resuming: {already} of {total} already graded", file=sys.stderr)

    def step(self, result: SubmissionResult) -> None:
        self.count += 1
        if self.quiet:
            return
        width = 24
        filled = int(width * self.count / self.total)
        bar = "#" * filled + "-" * (width - filled)
        status = "ERROR" if result.error else f"{result.score:g}/{result.max_score:g}"
        line = (f"[{bar}] {self.count}/{self.total}  {result.student}: {status} "
                f"({result.duration_s:.1f} s)")
        print(("\r" + line.ljust(100)) if self.tty else line, file=sys.stderr, end="" if self.tty else "\n",
              flush=True)

    def done(self) -> None:
        if not self.quiet:
            end = "\n" if self.tty else ""
            print(f"{end}graded {self.total} notebooks in {time.monotonic() - self.start:.1f} s", file=sys.stderr)


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))
