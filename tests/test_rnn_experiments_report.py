"""rnn_experiments' report reader (graders/rnn_experiments/study_report.py) and the re-run verdict, on notebooks
built here: the table forms it reads, the ones it refuses with a reason, the `Best:` lines, the curve cells."""

import base64
import importlib.util
from pathlib import Path

import nbformat
import pytest

import reference.rnn_experiments as ref
from gradekit.config import graders_module, load_assignment

ROOT = Path(__file__).resolve().parents[1]
rerun = graders_module(load_assignment("rnn_experiments"), "rerun")
study_report = graders_module(load_assignment("rnn_experiments"), "study_report")
ReportProblem = study_report.ReportProblem

# pandas 3.1.1's DataFrame._repr_html_() for two rows of the table, verbatim (the form Jupyter saves).
PANDAS_HTML = (
    '<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n\n'
    '    .dataframe tbody tr th {\n        vertical-align: top;\n    }\n\n    .dataframe thead th {\n'
    '        text-align: right;\n    }\n</style>\n<table border="1" class="dataframe">\n  <thead>\n'
    '    <tr style="text-align: right;">\n      <th></th>\n      <th>optimizer</th>\n      <th>layers</th>\n'
    '      <th>hidden</th>\n      <th>embedding</th>\n      <th>test loss</th>\n      <th>test accuracy</th>\n'
    '    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th>0</th>\n      <td>SGD</td>\n      <td>1</td>\n'
    '      <td>16</td>\n      <td>16</td>\n      <td>0.693</td>\n      <td>0.496</td>\n    </tr>\n    <tr>\n'
    '      <th>1</th>\n      <td>Adam</td>\n      <td>1</td>\n      <td>16</td>\n      <td>16</td>\n'
    '      <td>0.248</td>\n      <td>0.904</td>\n    </tr>\n  </tbody>\n</table>\n</div>')

FULL = "\n".join([
    "| optimizer | layers | hidden | embedding | test loss | test accuracy |",
    "| --- | --- | --- | --- | --- | --- |",
    *(f"| {c.optimizer} | {c.n_layers} | {c.hidden_dim} | {c.embedding_dim} | 0.3 | 0.{80 + i} |"
      for i, c in enumerate(ref.study_configs())),
])


def notebook(table=None, table_cell=None, conclusions=None, curves=None):
    cells = [nbformat.v4.new_code_cell("x = 1")]
    if table_cell is None and table is not None:
        table_cell = nbformat.v4.new_markdown_cell(table)
    if table_cell is not None:
        table_cell.metadata["tags"] = ["answer:results_table"]
        cells.append(table_cell)
    for section, text in (conclusions or {}).items():
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata["tags"] = [f"answer:conclusion_{section}"]
        cells.append(cell)
    for section, outputs in (curves or {}).items():
        cell = nbformat.v4.new_code_cell("plot()", outputs=outputs)
        cell.metadata["tags"] = [f"answer:curves_{section}"]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_a_full_markdown_table_is_read():
    table = study_report.read_table(notebook(FULL))
    assert table.cell == 2 and table.form == "a markdown table" and len(table.rows) == 11
    assert not study_report.missing_rows(table) and not study_report.out_of_range(table)
    assert table.row(ref.Config("SGD")).test_acc == 0.80


def test_seed_style_cells_are_read():
    """Seed 002 wrote "SGD Optimizer" and bold figures; columns in another order and an extra one are fine."""
    text = ("| Test Accuracy | Optimizer | N Layers | Hidden dim | Embedding size | Test Loss | Model |\n"
            "|:---:|---|---|---|---|---|---|\n"
            "| **0.514** | SGD Optimizer | 1 | 16 | 16 | 0.692 | LSTM |\n"
            "| 88.5% | `Adam` | 1 layer | 16 | 16 | .294 | LSTM |\n")
    table = study_report.read_table(notebook(text))
    assert table.row(ref.Config("SGD")) == study_report.Row(ref.Config("SGD"), 0.692, 0.514)
    assert table.row(ref.BASE).test_acc == pytest.approx(0.885) and table.row(ref.BASE).test_loss == 0.294


def test_a_dataframe_output_is_read_from_pandas_html():
    cell = nbformat.v4.new_code_cell("table", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/html": PANDAS_HTML, "text/plain": "..."}, execution_count=1)])
    table = study_report.read_table(notebook(table_cell=cell))
    assert table.form == "a DataFrame"
    assert [(r.config.optimizer, r.test_acc) for r in table.rows] == [("SGD", 0.496), ("Adam", 0.904)]


def test_a_markdown_output_is_read():
    cell = nbformat.v4.new_code_cell("display(Markdown(table))", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/markdown": FULL, "text/plain": "<IPython.core.display.Markdown object>"})])
    table = study_report.read_table(notebook(table_cell=cell))
    assert table.form == "a markdown output" and len(table.rows) == 11


def test_make_examples_writes_pandas_own_layout():
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "tools" / "make_examples.py")
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)
    header = ["optimizer", "layers", "hidden", "embedding", "test loss", "test accuracy"]
    rows = [["SGD", "1", "16", "16", "0.693", "0.496"], ["Adam", "1", "16", "16", "0.248", "0.904"]]
    assert tools.dataframe_html(header, rows) == PANDAS_HTML


@pytest.mark.parametrize("cell, words", [
    (nbformat.v4.new_markdown_cell(""), "not answered yet"),
    (nbformat.v4.new_markdown_cell("Optimizer\tTest Loss\tTest Accuracy\nSGD\t0.692\t0.514"), "no table could be read"),
    (nbformat.v4.new_code_cell("df"), "no saved output"),
    (nbformat.v4.new_code_cell("print(df)", outputs=[nbformat.v4.new_output("stream", text="  optimizer ...")]),
     "no table could be read"),
    (nbformat.v4.new_markdown_cell("| optimizer | test loss | test accuracy |\n| - | - | - |\n| SGD | 0.6 | 0.5 |"),
     "no column for layers, hidden, embedding"),
    (nbformat.v4.new_markdown_cell("| optimizer | layers | hidden | embedding | test loss | test accuracy |\n"
                                   "|---|---|---|---|---|---|\n| Nadam | 1 | 16 | 16 | 0.3 | 0.9 |"),
     r"row 1 \(Nadam"),
    (nbformat.v4.new_markdown_cell("| optimizer | layers | hidden | embedding | test loss | test accuracy |\n"
                                   "|---|---|---|---|---|---|\n| Adam | 1 | 16 | 16 | 0.3 | 0.9 |\n"
                                   "| Adam | 1 | 16 | 16 | 0.2 | 0.9 |"), "twice with different figures"),
])
def test_tables_that_cannot_be_read_say_why(cell, words):
    with pytest.raises(ReportProblem, match=words):
        study_report.read_table(notebook(table_cell=cell))


def test_a_missing_tag_says_how_to_restore_it():
    with pytest.raises(ReportProblem, match="no cell is tagged `answer:results_table`"):
        study_report.read_table(notebook())


def test_missing_rows_and_figures_out_of_range():
    text = FULL.replace("| SGD | 1 | 16 | 16 | 0.3 | 0.80 |", "| SGD | 1 | 16 | 16 | -0.3 | 80.5 |")
    text = "\n".join(line for line in text.splitlines() if "| 4 |" not in line)
    table = study_report.read_table(notebook(text))
    assert study_report.missing_rows(table) == [ref.Config(n_layers=4)]
    problems = study_report.out_of_range(table)
    assert len(problems) == 2 and "at least 0" in problems[0]
    assert "write 88.5% or 0.885" in problems[1]


@pytest.mark.parametrize("section, text, named", [
    ("optimizer", "Best: Adam\n\nIt learns fastest.", "Adam"),
    ("optimizer", "**Best:** the RMSprop optimizer (0.929)", "RMSprop"),
    ("optimizer", "best = adagrad", "Adagrad"),
    ("optimizer", "Best: Adam or RMSprop", None),
    ("layers", "Best: 2 (test accuracy 0.910, test loss 0.231).", 2),
    ("hidden", "- Best: hidden size 64", 64),
    ("embedding", "Best: 32 or 64", None),
])
def test_best_lines(section, text, named):
    assert study_report.named_setting(section, study_report.best_line(text)) == named


def test_no_best_line():
    assert study_report.best_line("Adam was the best of them all.") is None


def test_ranked_best_by_accuracy_and_by_loss():
    rows = [("SGD", 0.69, 0.51), ("Adagrad", 0.35, 0.852), ("RMSprop", 0.292, 0.877), ("Adam", 0.294, 0.885)]
    text = "| optimizer | layers | hidden | embedding | test loss | test accuracy |\n|---|---|---|---|---|---|\n"
    text += "".join(f"| {o} | 1 | 16 | 16 | {loss} | {acc} |\n" for o, loss, acc in rows)
    table = study_report.read_table(notebook(text))
    assert study_report.ranked_best(table, "optimizer") == ({"Adam"}, {"RMSprop"})  # seed 002's own LSTM table


def test_curve_cells_give_their_png_and_refuse_svg():
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
    image = nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()})
    outputs = {"optimizer": [image],
               "layers": [nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg/>"})],
               "hidden": []}
    nb = notebook(curves=outputs)
    figures, problems = study_report.curve_figures(nb, "optimizer")
    assert len(figures) == 1 and not problems and "cell 2" in figures[0].title
    assert study_report.has_curves(nb, "layers") and study_report.curve_figures(nb, "layers")[0] == []
    assert not study_report.has_curves(nb, "hidden")
    with pytest.raises(ReportProblem, match="answer:curves_embedding"):
        study_report.has_curves(nb, "embedding")


@pytest.mark.parametrize("table, rerun_accs, agrees", [
    ((0.514, 0.885), (0.496, 0.904), True),    # seed 002's table against the reference's re-run
    ((0.861, 0.884), (0.496, 0.904), False),   # every optimizer "works": typed in
    ((0.885, 0.514), (0.496, 0.904), False),   # the two swapped
    ((0.514, 0.885), (0.50, 0.52), False),     # a gap the code does not show
    ((0.50, 0.52), (0.49, 0.55), True),        # both say no difference (a model that learns with neither)
])
def test_trend_verdict(table, rerun_accs, agrees):
    problem = rerun.trend_problem(table, rerun_accs, margin=0.175)
    assert (problem is None) == agrees
    if problem:
        assert "your table has" in problem and "re-running both with your code" in problem


def test_rerun_chart_is_drawn_from_the_numbers():
    history = rerun.History((0.7, 0.6), (0.5, 0.6), (0.69, 0.65), (0.5, 0.55), 0.66, 0.55)
    figure = rerun.chart({"SGD": history, "Adam": history})
    assert figure.kind == "svg" and b"SGD train" in figure.data and b"Adam valid" in figure.data
