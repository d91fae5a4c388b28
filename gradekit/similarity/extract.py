"""Read submissions as data: each cell with the question it answers, never running anything.

A student's cell is matched to the template cell it grew from (same cell id, else the same functions or classes
defined, else shared lines), so a reordered notebook still lines up question by question. The template's cells
get their question from what they define (`def binary_accuracy` belongs to "Q6 binary_accuracy") or else from
the heading above them. A notebook that cannot be read becomes a submission with an error and no cells.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gradekit.config import Assignment
from gradekit.notebook import NotebookLoadError, load_notebook

HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


class TemplateMissing(FileNotFoundError):
    pass


@dataclass(frozen=True)
class Cell:
    index: int  # 1-based position in its notebook, as Jupyter users count
    kind: str  # "code" or "markdown"
    source: str
    section: str  # the question (or heading) this cell belongs to
    order: float  # where that section sits in the template, for lining two notebooks up
    template_cell: int | None  # the template cell it corresponds to (index), None for a cell the student added
    tags: tuple[str, ...] = ()
    parse_error: str | None = None  # "SyntaxError: ... (line 8)" for a code cell that does not parse


@dataclass(frozen=True)
class Submission:
    name: str  # the file name without .ipynb: the student id in a batch
    path: Path
    cells: tuple[Cell, ...]
    error: str | None = None  # why the notebook could not be read (then there are no cells)


@dataclass(frozen=True)
class Template:
    """The released notebook (`grade release`): its code never counts; its cells name the sections."""

    path: Path
    cells: tuple[Cell, ...]
    solution_source: str  # all code of the solution notebook: the names it binds are normalised everywhere


def _defined(source: str) -> set[str]:
    """Top-level functions and classes a code cell defines (rough patterns when it does not parse)."""
    try:
        tree = ast.parse(re.sub(r"^[ \t]*[!%].*$", "", source, flags=re.M))
    except (SyntaxError, ValueError):
        return set(re.findall(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", source, re.M))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _key(word: str) -> str:
    return word.lower().replace("_", "")


def _question_for(defined: set[str], assignment: Assignment) -> str | None:
    """The question whose id, or a word of whose title, is a function or class this cell defines."""
    keys = {_key(d) for d in defined}
    for q in assignment.questions:
        if _key(q.id) in keys:
            return q.title
    for q in assignment.questions:
        if keys & {_key(w) for w in re.findall(r"\w+", q.title)}:
            return q.title
    return None


def _heading(source: str) -> str | None:
    found = HEADING.findall(source)
    return found[-1].replace("`", "").strip() if found else None


def _tags(cell: nbformat.NotebookNode) -> tuple[str, ...]:
    tags = cell.get("metadata", {}).get("tags", []) or []
    return tuple(t for t in tags if isinstance(t, str))


def _parse_error(source: str) -> str | None:
    try:
        ast.parse(re.sub(r"^[ \t]*[!%].*$", "", source, flags=re.M))
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # null bytes
        return f"ValueError: {exc}"
    return None


def load_template(assignment: Assignment) -> Template:
    path = assignment.root / "student_template" / f"{assignment.name}.ipynb"
    if not path.exists():
        raise TemplateMissing(f"no template at {path}: run `grade release --assignment {assignment.name}` first")
    nb = nbformat.read(path, as_version=4)
    cells = []
    heading = "Before the first question"
    for index, cell in enumerate(nb.cells, start=1):
        source = cell.get("source", "") if isinstance(cell.get("source"), str) else ""
        kind = cell.get("cell_type")
        if kind == "markdown":
            heading = _heading(source) or heading
            section = heading
        elif kind == "code":
            section = _question_for(_defined(source), assignment) or heading
        else:
            continue
        cells.append(Cell(index, kind, source, section, float(index), index, _tags(cell)))
    solution = ""
    if assignment.solution_path.exists():
        solution_nb = nbformat.read(assignment.solution_path, as_version=4)
        solution = "\n\n".join(c.source for c in solution_nb.cells if c.get("cell_type") == "code")
    return Template(path, tuple(cells), solution)


def _ids(nb: nbformat.NotebookNode) -> list[str | None]:
    return [c.get("id") if isinstance(c.get("id"), str) else None for c in nb.cells]


def _lines(source: str) -> set[str]:
    return {line.strip() for line in source.splitlines() if len(line.strip()) > 3 and not line.strip().startswith("#")}


class _Matcher:
    """Finds the template cell a student's cell grew from."""

    def __init__(self, template: Template, template_ids: list[str | None]):
        self.template = template
        self.by_id = {tid: c for tid, c in zip(template_ids, template.cells, strict=False) if tid}
        self.by_tag = {t: c for c in template.cells for t in c.tags if t.startswith("answer:")}
        self.defined = {c.index: _defined(c.source) for c in template.cells if c.kind == "code"}
        self.lines = {c.index: _lines(c.source) for c in template.cells}

    def match(self, kind: str, source: str, cell_id: str | None, tags: tuple[str, ...]) -> Cell | None:
        hit = self.by_id.get(cell_id or "")
        if hit is not None and hit.kind == kind:
            return hit
        for tag in tags:
            if tag in self.by_tag:
                return self.by_tag[tag]
        candidates = [c for c in self.template.cells if c.kind == kind]
        if kind == "code":
            defined = _defined(source)
            for c in candidates:
                if defined & self.defined[c.index]:
                    return c
        lines = _lines(source)
        best = max(candidates, key=lambda c: len(lines & self.lines[c.index]), default=None)
        if best is not None and lines & self.lines[best.index]:
            return best
        return None


def load_submission(path: Path, matcher: _Matcher) -> Submission:
    """One notebook as cells with sections; a notebook that cannot be read gives its reason, never raises."""
    name = Path(path).stem
    try:
        nb = load_notebook(path)
    except NotebookLoadError as exc:
        return Submission(name, Path(path), (), error=str(exc))
    cells = []
    section, order = "Before the first question", 0.0
    for index, (cell, cell_id) in enumerate(zip(nb.cells, _ids(nb), strict=True), start=1):
        kind = cell.get("cell_type")
        source = cell.get("source", "")
        if kind not in ("code", "markdown") or not isinstance(source, str):
            continue
        tags = _tags(cell)
        hit = matcher.match(kind, source, cell_id, tags)
        if hit is not None:
            section, order = hit.section, hit.order
        else:
            order += 0.001  # an added cell stays with the cell above it
        unchanged = hit is not None and hit.source == source  # the template's cell: it parses
        cells.append(Cell(index, kind, source, section, order, hit.index if hit else None, tags,
                          _parse_error(source) if kind == "code" and not unchanged else None))
    return Submission(name, Path(path), tuple(cells))


def load_submissions(paths: list[Path], template: Template) -> list[Submission]:
    template_nb = nbformat.read(template.path, as_version=4)
    ids = [i for c, i in zip(template_nb.cells, _ids(template_nb), strict=True)
           if c.get("cell_type") in ("code", "markdown")]
    matcher = _Matcher(template, ids)
    return [load_submission(p, matcher) for p in paths]
