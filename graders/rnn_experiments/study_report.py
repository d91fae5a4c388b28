"""The experiment report, read from the submitted notebook as data (nothing in it is run): the results table, the
conclusions' `Best:` lines, and the figures saved in the curve cells.

Cells are found by their tags (`answer:results_table`, `answer:curves_<section>`, `answer:conclusion_<section>`),
as gradekit.written.answers finds answer cells. The table is read in one of three forms:

- a markdown cell holding a pipe table (`| optimizer | layers | ... |`),
- a code cell whose saved output is a markdown pipe table (`display(Markdown(...))`),
- a code cell whose saved output is an HTML table (a pandas DataFrame as Jupyter saves it).

Plain-text outputs (a printed DataFrame) are not read: their columns cannot be told apart reliably.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import reference.rnn_experiments as ref
from gradekit.figures import Figure, has_image, output_figures
from gradekit.proxy import SubmissionError
from gradekit.written.answers import PLACEHOLDERS, answer_cells

TABLE = "results_table"
SECTIONS = tuple(ref.STUDY)
MAX_TEXT = 200_000  # characters of a cell or an output that are read
COLUMNS = ("optimizer", "n_layers", "hidden_dim", "embedding_dim", "test_loss", "test_acc")
COLUMN_WORDS = {"optimizer": "optimizer", "n_layers": "layers", "hidden_dim": "hidden", "embedding_dim": "embedding",
                "test_loss": "test loss", "test_acc": "test accuracy"}
OPTIMIZER_NAMES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "rms prop": "RMSprop", "adam": "Adam"}


class ReportProblem(SubmissionError):
    """What is wrong with the report, in a student's words."""


@dataclass(frozen=True)
class Row:
    config: ref.Config
    test_loss: float
    test_acc: float


@dataclass(frozen=True)
class Table:
    cell: int  # 1-based notebook position
    form: str  # how it was read, for messages
    rows: tuple[Row, ...]

    def row(self, config: ref.Config) -> Row | None:
        return next((r for r in self.rows if r.config == config), None)


def describe(config: ref.Config) -> str:
    c = config
    return f"{c.optimizer}, {c.n_layers} layer(s), hidden {c.hidden_dim}, embedding {c.embedding_dim}"


def tagged_cell(nb: Any, answer_id: str) -> tuple[int, Any]:
    """(position, cell) of the last cell tagged `answer:<answer_id>`, or a ReportProblem."""
    if nb is None:
        raise ReportProblem("your notebook could not be read, so the report could not be found")
    cells = answer_cells(nb).get(answer_id, [])
    if not cells:
        raise ReportProblem(f"no cell is tagged `answer:{answer_id}`: it was deleted or its tag removed. Copy the "
                            "cell back from the template, or add the tag (View > Cell Toolbar > Tags)")
    return cells[-1]


def source_of(cell: Any) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, "")
    return text[:MAX_TEXT].strip()


# --------------------------------------------------------------------------------------------------------
# the table


def read_table(nb: Any) -> Table:
    position, cell = tagged_cell(nb, TABLE)
    grid, form = _grid(cell)
    if grid is None:
        if cell.get("cell_type") == "code" and not cell.get("outputs"):
            raise ReportProblem(f"the results table cell (cell {position}) is a code cell with no saved output: "
                                "run it and save the notebook, or write the table in a markdown cell")
        if not source_of(cell) and not cell.get("outputs"):
            raise ReportProblem(f"not answered yet: the results table cell (cell {position}) is empty")
        raise ReportProblem(f"no table could be read in cell {position}: write a markdown table "
                            "(| optimizer | layers | hidden | embedding | test loss | test accuracy |), or show a "
                            "DataFrame in a code cell with the tag and save its output")
    header, body = grid[0], grid[1:]
    where = _columns(header, position)
    rows, unreadable = [], []
    for number, cells in enumerate(body, start=1):
        row = _row(cells, where)
        if row is None:
            if any(c.strip() for c in cells):
                unreadable.append(f"row {number} ({' | '.join(c.strip() for c in cells)[:80]})")
            continue
        rows.append(row)
    if unreadable:
        raise ReportProblem(f"in the results table (cell {position}) these rows could not be read: "
                            f"{'; '.join(unreadable[:3])}. Each row needs an optimizer name, three whole numbers "
                            "(layers, hidden, embedding) and two numbers (test loss, test accuracy)")
    if not rows:
        raise ReportProblem(f"not answered yet: the results table (cell {position}) has no rows")
    _check_duplicates(rows, position)
    return Table(position, form, tuple(rows))


def _grid(cell: Any) -> tuple[list[list[str]] | None, str]:
    """(header row + body rows as cell texts, the form it was read in), or (None, "")."""
    if cell.get("cell_type") == "markdown":
        return markdown_grid(source_of(cell)), "a markdown table"
    for output in cell.get("outputs") or []:
        bundle = output.get("data") if isinstance(output, dict) else None
        if not isinstance(bundle, dict):
            continue
        for mime, reader in (("text/markdown", markdown_grid), ("text/html", html_grid)):
            if mime in bundle:
                value = bundle[mime]
                grid = reader(("".join(value) if isinstance(value, list) else str(value))[:MAX_TEXT])
                if grid is not None:
                    return grid, "a DataFrame" if mime == "text/html" else "a markdown output"
    return None, ""


def _split_pipes(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def markdown_grid(text: str) -> list[list[str]] | None:
    """The first pipe table in markdown: [header, *rows], or None."""
    lines = text.splitlines()
    for i in range(len(lines) - 1):
        if "|" not in lines[i]:
            continue
        delimiter = _split_pipes(lines[i + 1])
        if not delimiter or not all(re.fullmatch(r":?-{1,}:?", c) for c in delimiter):
            continue
        grid = [_split_pipes(lines[i])]
        for line in lines[i + 2 :]:
            if "|" not in line or not line.strip():
                break
            grid.append(_split_pipes(line))
        return grid
    return None


class _Tables(HTMLParser):
    """Cell texts of the first <table>, row by row; style and script contents are ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.depth = 0
        self.done = False
        self.cell: list[str] | None = None
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        elif self.done:
            return
        elif tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip = max(0, self.skip - 1)
        elif self.done:
            return
        elif tag == "table":
            self.depth -= 1
            self.done = self.depth == 0
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.skip:
            self.cell.append(data)


def html_grid(text: str) -> list[list[str]] | None:
    parser = _Tables()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # noqa: BLE001 - malformed HTML is a table we cannot read, not a crash
        return None
    rows = [r for r in parser.rows if r]
    if len(rows) < 2:
        return None
    # A DataFrame's index: an empty first header cell over a column of row labels.
    if rows[0][0] == "" and all(len(r) == len(rows[0]) for r in rows):
        rows = [r[1:] for r in rows]
    return rows


def _columns(header: list[str], position: int) -> dict[str, int]:
    keys = [re.sub(r"[^a-z]", "", h.lower()) for h in header]
    found: dict[str, int] = {}
    for field, word in (("optimizer", "optim"), ("n_layers", "layer"), ("hidden_dim", "hidden"),
                        ("embedding_dim", "emb")):
        hits = [i for i, k in enumerate(keys) if word in k]
        if len(hits) == 1:
            found[field] = hits[0]
    for field, word in (("test_loss", "loss"), ("test_acc", "acc")):
        hits = [i for i, k in enumerate(keys) if word in k]
        tests = [i for i in hits if "test" in keys[i]]
        others = [i for i in hits if not any(w in keys[i] for w in ("train", "valid", "val"))]
        pick = tests if tests else others
        if len(pick) == 1:
            found[field] = pick[0]
    missing = [COLUMN_WORDS[c] for c in COLUMNS if c not in found]
    if missing:
        raise ReportProblem(f"the results table (cell {position}) has no column for {', '.join(missing)} (its "
                            f"columns are {', '.join(repr(h) for h in header[:8])}); name them optimizer, layers, "
                            "hidden, embedding, test loss and test accuracy")
    return found


def _plain(text: str) -> str:
    return re.sub(r"[*`_]", "", text).strip()


def optimizer_name(text: str) -> str | None:
    """The one optimizer a text names ("Adam Optimizer" -> "Adam"), or None for none or several."""
    low = _plain(text).lower()
    names = {name for word, name in OPTIMIZER_NAMES.items() if re.search(rf"\b{word}\b", low)}
    return names.pop() if len(names) == 1 else None


def whole_number(text: str) -> int | None:
    """The one whole number in a text ("2 layers" -> 2; "0.910" has none), or None."""
    found = {int(m) for m in re.findall(r"(?<![\d.])\d+(?![\d.])", _plain(text))}
    return found.pop() if len(found) == 1 else None


def figure_value(text: str) -> float | None:
    """A loss or an accuracy as written: 0.885, .885, 88.5% (-> 0.885), 2.1e-1."""
    m = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*%?", _plain(text))
    if not m:
        return None
    token = m.group(0)
    value = float(token.rstrip("% "))
    return value / 100 if token.endswith("%") else value


def _row(cells: list[str], where: dict[str, int]) -> Row | None:
    if max(where.values()) >= len(cells):
        return None
    optimizer = optimizer_name(cells[where["optimizer"]])
    ints = [whole_number(cells[where[k]]) for k in ("n_layers", "hidden_dim", "embedding_dim")]
    loss, acc = figure_value(cells[where["test_loss"]]), figure_value(cells[where["test_acc"]])
    if optimizer is None or None in ints or loss is None or acc is None:
        return None
    return Row(ref.Config(optimizer, *ints), loss, acc)


def _check_duplicates(rows: list[Row], position: int) -> None:
    seen: dict[ref.Config, Row] = {}
    for row in rows:
        first = seen.setdefault(row.config, row)
        if (first.test_loss, first.test_acc) != (row.test_loss, row.test_acc):
            raise ReportProblem(f"the results table (cell {position}) lists {describe(row.config)} twice with "
                                f"different figures ({first.test_loss:g} / {first.test_acc:g} and "
                                f"{row.test_loss:g} / {row.test_acc:g}); one run, one row")


def missing_rows(table: Table) -> list[ref.Config]:
    return [c for c in ref.study_configs() if table.row(c) is None]


def out_of_range(table: Table) -> list[str]:
    """Figures that cannot be a cross-entropy loss or an accuracy."""
    bad = []
    for row in table.rows:
        if not (math.isfinite(row.test_loss) and row.test_loss >= 0):
            bad.append(f"test loss {row.test_loss:g} ({describe(row.config)}): a loss is a number of at least 0")
        if not (math.isfinite(row.test_acc) and 0 <= row.test_acc <= 1):
            hint = " (write 88.5% or 0.885, not 88.5)" if 1 < row.test_acc <= 100 else ""
            bad.append(f"test accuracy {row.test_acc:g} ({describe(row.config)}): an accuracy is between 0 and 1"
                       f"{hint}")
    return bad


# --------------------------------------------------------------------------------------------------------
# conclusions


def conclusion_text(nb: Any, section: str) -> tuple[int, str]:
    position, cell = tagged_cell(nb, f"conclusion_{section}")
    return position, source_of(cell)


def best_line(text: str) -> str | None:
    """What follows `Best:` on the conclusion's first such line (markdown emphasis ignored), or None."""
    for line in text.splitlines():
        m = re.match(r"^\W*best\W*?[:=]\s*(.+)$", _plain(line), re.I)
        if m:
            return m.group(1).strip()
    return None


def named_setting(section: str, value: str) -> Any:
    """The setting a `Best:` line names, in the section's terms ("Adam", 2, ...), or None."""
    return optimizer_name(value) if section == "optimizer" else whole_number(value)


def ranked_best(table: Table, section: str) -> tuple[set, set]:
    """(settings with the highest test accuracy, settings with the lowest test loss) among the section's rows."""
    field, _ = ref.SECTIONS[section]
    rows = [r for c in ref.STUDY[section] if (r := table.row(c)) is not None]
    top_acc = max(r.test_acc for r in rows)
    low_loss = min(r.test_loss for r in rows)
    return ({getattr(r.config, field) for r in rows if r.test_acc >= top_acc - 1e-9},
            {getattr(r.config, field) for r in rows if r.test_loss <= low_loss + 1e-9})


def setting_row(table: Table, section: str, value: Any) -> Row | None:
    field, _ = ref.SECTIONS[section]
    return next((r for c in ref.STUDY[section] if getattr(c, field) == value and (r := table.row(c))), None)


# --------------------------------------------------------------------------------------------------------
# curves


def curve_cell(nb: Any, section: str) -> tuple[int, Any]:
    return tagged_cell(nb, f"curves_{section}")


def curve_figures(nb: Any, section: str) -> tuple[list[Figure], list[str]]:
    """The PNG figures saved in a section's curve cell (checked), and why any other image is not shown."""
    position, cell = curve_cell(nb, section)
    return output_figures(cell.get("outputs") or [], f"your {section} curves (cell {position})")


def has_curves(nb: Any, section: str) -> bool:
    _, cell = curve_cell(nb, section)
    return has_image(cell.get("outputs") or [])
