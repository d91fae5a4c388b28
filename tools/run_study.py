"""Run rnn_experiments' solution notebook from the top, its study included, on the bundled reviews, and store what
a student's finished notebook would hold: every cell's outputs (the curves among them) and the results table,
typed from the rows the study cell prints. Then check the conclusions' `Best:` lines against that table with the
graders' own reader, and say which setting the table ranks best per section.

The report graders read the table, the figures and the conclusions from the saved notebook, so the solution (and
every example made from it by tools/make_examples.py) carries them. Run after changing the solution:

    python tools/run_study.py            # then: python tools/make_examples.py; python grade.py release

The solution is our own code: it runs in a plain kernel here, not in the sandbox. Deterministic on one machine
(one thread, seeded); another torch version may give other figures, and then other conclusions.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradekit.config import load_assignment  # noqa: E402
from gradekit.written.answers import answer_cells  # noqa: E402
from graders.rnn_experiments import study_report  # noqa: E402

NAME = "rnn_experiments"
TABLE_ROW = re.compile(r"^\|.*\|$")


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` executed in a fresh kernel in a scratch folder holding the grading data, after the
    assignment's set-up code (one thread, seeded)."""
    assignment = load_assignment(NAME, ROOT)
    run = nbformat.from_dict(nb)
    run.cells.insert(0, nbformat.v4.new_code_cell(assignment.setup_code(), id="gradekit-setup"))
    with tempfile.TemporaryDirectory(prefix="gk-study-") as folder:
        assignment.prepare_workspace(Path(folder), None)
        NotebookClient(run, timeout=600, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": folder}}).execute()
    run.cells.pop(0)
    return run


def printed_table(run: nbformat.NotebookNode) -> str:
    """The markdown table the study cell printed (its last lines that look like table rows)."""
    for cell in run.cells:
        if cell.cell_type == "code" and "results = {}" in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            return "\n".join(line for line in text.splitlines() if TABLE_ROW.match(line))
    raise SystemExit("no study cell (the cell with `results = {}`) in the solution")


def main() -> int:
    path = load_assignment(NAME, ROOT).solution_path
    nb = nbformat.read(path, as_version=4)
    run = execute(nb)
    for cell, done in zip(nb.cells, run.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = done.outputs, done.execution_count
    table = printed_table(run)
    [(_, table_cell)] = answer_cells(nb)[study_report.TABLE]
    table_cell.source = f"### BEGIN SOLUTION\n{table}\n### END SOLUTION"
    nbformat.write(nb, path)
    print(f"wrote the outputs and this table into {path.relative_to(ROOT)}:\n{table}\n")

    read = study_report.read_table(nb)
    problems = 0
    for section in study_report.SECTIONS:
        by_acc, by_loss = study_report.ranked_best(read, section)
        _, text = study_report.conclusion_text(nb, section)
        line = study_report.best_line(text)
        named = study_report.named_setting(section, line) if line else None
        ok = named in by_acc | by_loss
        problems += not ok
        print(f"{section:10} best by accuracy {sorted(by_acc, key=str)}, by loss {sorted(by_loss, key=str)}; "
              f"the conclusion says {named!r}{'' if ok else '  <- FIX THE CONCLUSION'}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
