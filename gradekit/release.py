"""Make the student notebook from the solution: every `### BEGIN SOLUTION` ... `### END SOLUTION` region
becomes a `# YOUR CODE HERE` stub that raises NotImplementedError; outputs are cleared.

The solution notebook in assignments/ is the one source of truth; student_template/ is only ever written here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from gradekit.config import Assignment

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB_MARKER = re.compile(r"^\s*# YOUR CODE HERE\s*$")


class ReleaseError(ValueError):
    pass


def strip_solution(source: str, *, markdown: bool = False) -> str:
    """Replace each solution region by a stub; a region left open is an error, not a silent leak."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ReleaseError("nested ### BEGIN SOLUTION")
            inside = True
            indent = begin.group(1)
            # A "# YOUR CODE HERE" line just before the region already tells the student where to write.
            if not (out and STUB_MARKER.match(out[-1])):
                out.append(f"{indent}# YOUR CODE HERE" if not markdown else "YOUR ANSWER HERE")
            if not markdown:
                out.append(f"{indent}raise NotImplementedError()")
            continue
        if END.match(line):
            if not inside:
                raise ReleaseError("### END SOLUTION without a BEGIN")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ReleaseError("### BEGIN SOLUTION without an END")
    return "\n".join(out)


def release_notebook(nb: nbformat.NotebookNode, assignment_name: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)  # a deep copy
    for index, cell in enumerate(nb.cells, start=1):
        try:
            cell.source = strip_solution(cell.source, markdown=cell.cell_type == "markdown")
        except ReleaseError as exc:
            raise ReleaseError(f"cell {index}: {exc}") from None
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata["gradekit"] = {"assignment": assignment_name}
    return nb


def finished_source(source: str) -> str:
    """A cell as a student who finished it would have it: the solution without its markers."""
    keep = [line for line in source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
    return "\n".join(line for line in keep if line.strip() != "# YOUR CODE HERE")


def release(assignment: Assignment, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir) if out_dir else assignment.root / "student_template"
    nb = nbformat.read(assignment.solution_path, as_version=4)
    released = release_notebook(nb, assignment.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{assignment.name}.ipynb"
    nbformat.write(released, target)
    return target
