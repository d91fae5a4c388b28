"""Find a question's answer cell in a notebook and take its text. Host side, data only: nothing here runs.

The template marks each answer cell with a cell tag `answer:<id>` (Jupyter keeps cell tags when students
edit, copy or convert the notebook). An answer is a markdown cell holding LaTeX (`$...$`, `$$...$$`) or
plain text, or a code cell holding a string literal (`answer = r"\\sqrt{2}\\beta"`), read with `ast`.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = ("YOUR ANSWER HERE", "# YOUR CODE HERE", "raise NotImplementedError()", "### BEGIN SOLUTION",
                "### END SOLUTION")
TAG_PREFIX = "answer:"


@dataclass
class Answer:
    id: str
    text: str = ""
    cell: int | None = None  # 1-based position in the notebook
    problem: str = ""  # why there is no usable text: missing cell, empty cell, unreadable code

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def answer_cells(nb: Any) -> dict[str, list[tuple[int, Any]]]:
    found: dict[str, list[tuple[int, Any]]] = {}
    for position, cell in enumerate(getattr(nb, "cells", None) or [], start=1):
        tags = cell.get("metadata", {}).get("tags", []) or []
        for tag in tags if isinstance(tags, list) else []:
            if isinstance(tag, str) and tag.startswith(TAG_PREFIX):
                found.setdefault(tag[len(TAG_PREFIX):].strip(), []).append((position, cell))
    return found


def find_answer(nb: Any, answer_id: str) -> Answer:
    """The text of the cell tagged `answer:<answer_id>`, or an Answer whose `problem` says what to fix."""
    if nb is None:
        return Answer(answer_id, problem="your notebook could not be read, so this answer could not be found")
    cells = answer_cells(nb).get(answer_id, [])
    if not cells:
        return Answer(answer_id, problem=f"no answer cell is tagged `{TAG_PREFIX}{answer_id}`: it was deleted or "
                                         "its tag removed. Copy the answer cell back from the template, or add "
                                         f"the tag (View > Cell Toolbar > Tags) to the cell with your answer")
    position, cell = cells[-1]
    text, problem = cell_text(cell)
    if not problem and not text:
        problem = f"not answered yet: the answer cell (cell {position}) is empty"
    return Answer(answer_id, text=text, cell=position, problem=problem)


def cell_text(cell: Any) -> tuple[str, str]:
    """(text, problem). Template placeholders count as empty."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    if cell.get("cell_type") == "code":
        return code_string(source)
    for placeholder in PLACEHOLDERS:
        source = source.replace(placeholder, "")
    return source.strip(), ""


def code_string(source: str) -> tuple[str, str]:
    """The string literal a code answer cell holds, found with ast (never evaluated)."""
    lines = [ln for ln in source.splitlines() if ln.strip() not in PLACEHOLDERS]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as exc:
        return "", f"the answer cell is not valid Python (line {exc.lineno}): put the answer in a string, " \
                   "for example answer = r\"\\sqrt{2}\\beta\""
    strings = [node.value.value for node in ast.walk(tree)
               if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr))
               and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)]
    if not strings:
        return "", ("the answer cell holds no string: write the answer as a string, "
                    "for example answer = r\"\\sqrt{2}\\beta\"") if "".join(lines).strip() else ""
    return strings[-1].strip(), ""


TRUE_FALSE = re.compile(r"^\W*(\d+)\W*?(true|false|t|f)\b", re.I | re.M)


def true_false(text: str, count: int) -> tuple[dict[int, bool], str]:
    """Answers to numbered true/false statements, one per line ("3. False", "- 3: **F**"), or ten letters
    in a row ("TFFTTFTFTF"). Returns (answers, problem)."""
    found: dict[int, bool] = {}
    for number, word in TRUE_FALSE.findall(text):
        n = int(number)
        if 1 <= n <= count and n not in found:
            found[n] = word.lower().startswith("t")
    compact = re.sub(r"[\s,;]", "", text)
    if not found and re.fullmatch(rf"[TFtf]{{{count}}}", compact):
        found = {i + 1: ch.lower() == "t" for i, ch in enumerate(compact)}
    missing = [n for n in range(1, count + 1) if n not in found]
    problem = ""
    if missing:
        problem = (f"no True/False answer could be read for statement(s) {', '.join(map(str, missing))}: "
                   "write one line per statement, like `3. False`")
    return found, problem
