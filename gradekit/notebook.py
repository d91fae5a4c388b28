"""Read a submitted notebook and turn it into the cells the kernel will run.

Anything malformed becomes a `NotebookLoadError` with a message a student can act on; nothing here raises
anything else for bad input. Preparation is where grading differs from a student's own run: cells tagged
to be skipped are skipped, download cells are replaced by the assignment's offline set-up, and shell
escapes (`!pip install ...`) are neutralised, since the sandbox has no network and must not change itself.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
SHELL_LINE = re.compile(r"^(\s*)(!|%pip\b|%conda\b|%system\b|%sx\b)(.*)$")
CELL_MAGIC_SHELL = re.compile(r"^\s*%%(bash|sh|script|system|capture\s+--no-stdout)\b")


class NotebookLoadError(ValueError):
    """The file is not a notebook we can grade; the message says why in a student's words."""


@dataclass
class PreparedCell:
    position: int  # 1-based position in the student's notebook (0 for the grading set-up)
    source: str


@dataclass
class Prepared:
    cells: list[PreparedCell]
    # How the course runs notebooks (downloads replaced, shell lines not run): routine, nothing to act on.
    routine: list[str] = field(default_factory=list)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; nbformat 3 is upgraded, anything unreadable is a NotebookLoadError."""
    path = Path(path)
    if path.is_dir():
        raise NotebookLoadError(f"{path.name} is a folder, not a notebook file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotebookLoadError(f"the file {path.name} could not be read ({exc.strerror})") from None
    if size == 0:
        raise NotebookLoadError(f"{path.name} is empty (0 bytes): save the notebook again and resubmit")
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookLoadError(f"{path.name} is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES >> 20} MiB "
                                "limit: clear large outputs (Kernel > Restart & Clear Output) and resubmit")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookLoadError(f"the file {path.name} could not be read ({exc.strerror})") from None
    if raw.startswith(b"PK\x03\x04"):
        raise NotebookLoadError(f"{path.name} is a zip archive, not a notebook: unzip it and submit the .ipynb file "
                                "inside")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookLoadError(f"{path.name} is not a text file: it does not look like a Jupyter notebook "
                                "(.ipynb files are JSON)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookLoadError(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); the file may be truncated or edited by hand: re-download it "
                                "from Jupyter (File > Download) and resubmit") from None
    except (RecursionError, ValueError):  # JSON nested too deep to decode, or numbers too long to read
        raise NotebookLoadError(f"{path.name} is not a notebook we can read: its JSON is nested far deeper "
                                "than any notebook's (or otherwise malformed); re-download it from Jupyter "
                                "(File > Download) and resubmit") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookLoadError(f"{path.name} is JSON but not a Jupyter notebook (it has no cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)  # reads() only logs schema errors; a cell with `"tags": 5` must stop here
    except Exception as exc:  # noqa: BLE001 - nbformat raises many types for malformed input
        raise NotebookLoadError(f"{path.name} could not be read as a notebook: {_first_line(exc)}") from None
    language = _meta(nb.metadata, "kernelspec", "language") or _meta(nb.metadata, "language_info", "name") or "python"
    if str(language).lower() != "python":
        raise NotebookLoadError(f"{path.name} is a {language} notebook; this assignment needs a Python notebook")
    return nb


def _meta(metadata: Any, section: str, key: str) -> Any:
    """metadata[section][key] when both levels are dicts; notebooks edited by hand may hold anything."""
    value = metadata.get(section) if isinstance(metadata, dict) else None
    return value.get(key) if isinstance(value, dict) else None


def notebook_assignment(nb: nbformat.NotebookNode) -> str | None:
    """The assignment a released notebook belongs to (written into its metadata by `grade.py release`)."""
    name = _meta(nb.metadata, "gradekit", "assignment")
    return name if isinstance(name, str) else None


def prepare_cells(nb: nbformat.NotebookNode, *, setup: str = "", skip_tags: tuple[str, ...] = (),
                  replace_tags: tuple[str, ...] = (), replace_patterns: tuple[str, ...] = ()) -> Prepared:
    """The code the kernel runs for grading, in order, and notes on what was changed and why."""
    prepared = Prepared(cells=[])
    if setup.strip():
        prepared.cells.append(PreparedCell(0, setup))
    patterns = [re.compile(p) for p in replace_patterns]
    for position, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if not isinstance(source, str) or not source.strip():
            continue
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & set(skip_tags):
            continue
        if tags & set(replace_tags):
            prepared.routine.append(f"cell {position} loads data or models from the internet; during grading "
                                  "it was replaced by the course's offline set-up")
            continue
        if any(p.search(source) for p in patterns):
            source = drop_statements(source, patterns)
            prepared.routine.append(f"cell {position}: downloads (e.g. from_pretrained) were replaced by the "
                                  "course's offline set-up; the rest of the cell ran")
            if source is None:
                continue
        if CELL_MAGIC_SHELL.match(source):
            prepared.routine.append(f"cell {position} is a shell cell ({source.split()[0]}); it was not run")
            continue
        new_source, changed = neutralise_shell_lines(source)
        if changed:
            prepared.routine.append(f"cell {position}: shell commands (lines starting with ! or %pip) were not "
                                  "run during grading; everything the assignment needs is installed")
        prepared.cells.append(PreparedCell(position, new_source))
    return prepared


def drop_statements(source: str, patterns: list[re.Pattern]) -> str | None:
    """The cell without its top-level statements that match a pattern (a download), the rest kept as is.

    Statements, not lines: `bert = BertModel.from_pretrained(\n  'bert-base-uncased')` spans two lines.
    IPython syntax is first turned into Python the way IPython itself does. None when the cell cannot be
    parsed or nothing else is left: then the whole cell is skipped."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return None
    lines = python.splitlines()
    drop: set[int] = set()
    for node in tree.body:
        segment = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if any(p.search(segment) for p in patterns):
            drop.update(range(node.lineno - 1, node.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept) if any(line.strip() for line in kept) else None


def neutralise_shell_lines(source: str) -> tuple[str, bool]:
    changed = False
    lines = []
    for line in source.splitlines():
        match = SHELL_LINE.match(line)
        if match:
            changed = True
            lines.append(f"{match.group(1)}pass  # [grading] not run: {match.group(2)}{match.group(3)}"[:400])
        else:
            lines.append(line)
    return "\n".join(lines), changed


def code_locator(nb: nbformat.NotebookNode):
    """Map a traceback frame from the kernel to where it is in the student's notebook, by its code line."""
    cells = [(i, c.get("source", "")) for i, c in enumerate(nb.cells, start=1) if c.get("cell_type") == "code"]

    def locate(frame: dict[str, Any]) -> str:
        code = str(frame.get("code", "")).strip()
        if not code:
            return ""
        for position, source in cells:
            for line_no, line in enumerate(str(source).splitlines(), start=1):
                if line.strip() == code:
                    return f"in your cell {position}, line {line_no}: {code}"
        return f"at: {code}"

    return locate


def cell_landmarks(nb: nbformat.NotebookNode, position: int) -> dict[str, Any]:
    """What a student finds the cell at `position` by in Jupyter, which shows no cell numbers: the `In [n]` it was
    saved with (None when the notebook was saved unrun) and its first line."""
    if not 1 <= position <= len(nb.cells):
        return {}
    cell = nb.cells[position - 1]
    first = next((line.strip() for line in str(cell.get("source", "")).splitlines() if line.strip()), "")
    count = cell.get("execution_count")
    return {"in_count": count if isinstance(count, int) else None, "starts": first[:80]}


def definition_cell(nb: nbformat.NotebookNode, name: str) -> int | None:
    """The notebook position of the last code cell that defines `name` (def, class or assignment)."""
    n = re.escape(name)
    pattern = re.compile(rf"^\s*(def|class)\s+{n}\b|^(\w+\s*,\s*)*{n}\s*(,\s*\w+\s*)*=(?!=)", re.MULTILINE)
    found = None
    for position, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "code" and pattern.search(str(cell.get("source", ""))):
            found = position
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
