"""Text the gradebook, the pages and the review sheet all write the same way: numbers, percentages, cell errors,
spreadsheet-safe cells."""

from __future__ import annotations

import math
from typing import Any

# A cell starting with one of these is evaluated as a formula by Excel / LibreOffice / Google Sheets
# (OWASP "CSV injection"); tab and carriage return are on OWASP's list too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

def self_check_note(hidden_left_out: int) -> str:
    """What a self-check left out, so that a student knows whether the staff's grading can find more."""
    if not hidden_left_out:
        return "Self-check: this assignment has no hidden checks; your course staff's grading runs these same checks."
    many = hidden_left_out != 1
    return (f"Self-check: public checks only. {hidden_left_out} hidden check{'s' if many else ''} "
            f"run{'' if many else 's'} when your course staff grades.")


def format_number(value: float, digits: int = 4) -> str:
    """A score without trailing noise: 2.0 -> "2", 1.5 -> "1.5", 1/3 -> "0.3333" (``digits`` decimals max)."""
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    x = round(x, digits)
    if x == 0:
        return "0"  # also turns -0.0 into "0"
    if x.is_integer():
        return str(int(x))
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formula injection: a leading = + - @ (or tab / CR) gets an apostrophe. A carriage
    return inside is written as the two characters \\r: the csv module does not quote it (our lines end with
    "\\n"), and spreadsheets would start a new row there."""
    text = "'" + text if text.startswith(FORMULA_PREFIXES) else text
    return text.replace("\r", "\\r")


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{format_number(value, 1)}%"


def percent(points: float, max_points: float) -> float | None:
    return None if max_points <= 0 else 100.0 * points / max_points


def cell_landmark(error: dict[str, Any]) -> str:
    """Where a student finds the cell of a cell error in Jupyter: "In [7], the cell starting `def tokenize(...)`"."""
    starts = f"the cell starting `{error['starts']}`" if error.get("starts") else ""
    count = f"In [{error['in_count']}]" if error.get("in_count") is not None else ""
    return ", ".join(part for part in (count, starts) if part)


def cell_error_text(error: dict[str, Any]) -> str:
    """One line a student can read: "Cell 7 raised ValueError: bad shape"."""
    where = f"Cell {error['cell']}" if error.get("cell") is not None else "A cell"
    ename = error.get("ename") or "an error"
    evalue = error.get("evalue") or ""
    return f"{where} raised {ename}: {evalue}" if evalue else f"{where} raised {ename}"


def listed(items: list[str]) -> str:
    """Items as a sentence lists them: "A", "A and B", "A, B and C"."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
