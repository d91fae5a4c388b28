"""`python -m gradekit.worker NOTEBOOK --assignment NAME --out RESULT.json`: grade one notebook in this
process and write its result atomically. The batch runs one of these per submission."""

from __future__ import annotations

import argparse
from pathlib import Path

from gradekit.config import load_assignment
from gradekit.runner import grade_notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradekit.worker")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--mode", default="batch", choices=["batch", "check"])
    args = parser.parse_args(argv)
    assignment = load_assignment(args.assignment, args.root)
    result = grade_notebook(args.notebook, assignment, mode=args.mode, sandbox_mode=args.sandbox, data=args.data,
                            hidden_paths=[args.out.resolve().parent.parent])
    result.write_json(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
