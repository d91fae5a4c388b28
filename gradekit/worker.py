"""`python -m gradekit.worker NOTEBOOK --assignment NAME --out RESULT.json`: grade one notebook in this
process and write its result atomically. The batch runs one of these per submission."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from gradekit.config import load_assignment
from gradekit.runner import grade_notebook
from gradekit.sandbox import Limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradekit.worker")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--mode", default="batch", choices=["batch", "check"])
    # Overrides of the assignment's limits, for tests and debugging (a short cell limit, a smaller memory).
    parser.add_argument("--cell-timeout", type=float)
    parser.add_argument("--notebook-timeout", type=float)
    parser.add_argument("--memory", type=int, help="address-space limit of the kernel, in bytes")
    parser.add_argument("--memory-max", type=int, help="memory (cgroup) limit of the kernel, in bytes")
    args = parser.parse_args(argv)
    assignment = load_assignment(args.assignment, args.root)
    overrides = {k: v for k, v in (("cell_timeout", args.cell_timeout), ("notebook_timeout", args.notebook_timeout))
                 if v is not None}
    assignment = dataclasses.replace(assignment, **overrides)
    limits = Limits(memory=args.memory_max or assignment.memory_limit)
    if args.memory:
        limits.address_space = args.memory
    result = grade_notebook(args.notebook, assignment, mode=args.mode, sandbox_mode=args.sandbox, data=args.data,
                            hidden_paths=[args.out.resolve().parent.parent], limits=limits)
    result.write_json(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
