"""The grader worker: grades notebooks in this process and writes each result atomically.

Two ways to run it:
- `python -m gradekit.worker NOTEBOOK --assignment NAME --out RESULT.json` grades one notebook and exits.
- `python -m gradekit.worker --serve --assignment NAME --reply-fd FD` is a warm worker, which the batch keeps one
  of per job slot (gradekit.pool): it grades one job after another, each read from stdin as a `Job` line, and
  answers each on FD with a `Done` line once the result file is written. It pays for starting Python and
  importing torch, transformers and the graders' references once, instead of once per notebook.

Each notebook still gets a sandboxed kernel that no other submission has touched, its own pytest run (the graders'
modules are imported once per worker and keep nothing of a submission: every fixture is built afresh per run),
and torch's global settings as a new process has them (`fresh_process_state`), so a verdict never depends on which
notebooks the same worker graded before.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import IO

import torch

from gradekit.config import Assignment, load_assignment
from gradekit.pool import Done, Job
from gradekit.progress import Step
from gradekit.results import write_atomic
from gradekit.runner import grade_notebook
from gradekit.sandbox import Limits

_THREADS = torch.get_num_threads()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradekit.worker")
    p.add_argument("notebook", type=Path, nargs="?")
    p.add_argument("--assignment", required=True)
    p.add_argument("--root", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--serve", action="store_true", help="grade the Job lines read from stdin, one after another")
    p.add_argument("--reply-fd", type=int, help="with --serve: the file descriptor Done lines are written to")
    p.add_argument("--sandbox", default="auto", choices=["auto", "on", "off"])
    p.add_argument("--data", type=Path)
    p.add_argument("--mode", default="batch", choices=["batch", "check"])
    # Overrides of the assignment's limits, for tests and debugging (a short cell limit, a smaller memory).
    p.add_argument("--cell-timeout", type=float)
    p.add_argument("--notebook-timeout", type=float)
    p.add_argument("--memory", type=int, help="address-space limit of the kernel, in bytes")
    p.add_argument("--memory-max", type=int, help="memory (cgroup) limit of the kernel, in bytes")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.serve == (args.notebook is not None) or (args.serve and args.reply_fd is None) or \
            (not args.serve and args.out is None):
        p.error("give either NOTEBOOK and --out, or --serve and --reply-fd")
    assignment = load_assignment(args.assignment, args.root)
    overrides = {k: v for k, v in (("cell_timeout", args.cell_timeout), ("notebook_timeout", args.notebook_timeout))
                 if v is not None}
    assignment = dataclasses.replace(assignment, **overrides)
    if not args.serve:
        grade(args.notebook, args.out, assignment, args)
        return 0
    with os.fdopen(args.reply_fd, "w") as replies:
        serve(sys.stdin, replies, assignment, args)
    return 0


def grade(notebook: Path, out: Path, assignment: Assignment, args: argparse.Namespace,
          progress: Path | None = None) -> None:
    limits = Limits(memory=args.memory_max or assignment.memory_limit)
    if args.memory:
        limits.address_space = args.memory

    def keep_step(step: Step) -> None:  # for a server's live page: the step as a file, replaced whole each time
        write_atomic(progress, json.dumps(dataclasses.asdict(step)))  # type: ignore[arg-type]

    result = grade_notebook(notebook, assignment, mode=args.mode, sandbox_mode=args.sandbox, data=args.data,
                            hidden_paths=[out.resolve().parent.parent], limits=limits,
                            on_step=keep_step if progress else None)
    result.write_json(out)


def serve(jobs: IO[str], replies: IO[str], assignment: Assignment, args: argparse.Namespace) -> None:
    """Grade Job lines until stdin closes. A job that kills this process costs that job only: the batch sees
    the reply pipe close, writes the notebook's row itself and starts another worker."""
    while line := jobs.readline():
        job = Job.parse(line)
        fresh_process_state()
        out = Path(job.out)
        grade(Path(job.notebook), out, assignment, args, Path(job.progress) if job.progress else None)
        replies.write(Done(out=str(out), rss=resident_bytes()).line())
        replies.flush()


def fresh_process_state() -> None:
    """torch's process-wide settings as a new process has them, whatever the last notebook's graders left behind
    (a grader that failed halfway through a `torch.no_grad()` of its own, a changed default dtype), and a fresh
    random seed for torch's default generator, as a new process gets: verdicts never depend on it, since the
    graders draw from generators seeded per check (gradekit.plugin's `gen`)."""
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(_THREADS)
    torch.seed()


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":
    raise SystemExit(main())
