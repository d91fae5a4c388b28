"""Unit tests for gradekit.notebook: loading submitted files, preparing cells for grading, locating code.

Every malformed file must become a NotebookLoadError (a message for the student), never another exception:
`pytest.raises(NotebookLoadError)` lets any other exception type through, which fails the test.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat import v3, v4

from gradekit import notebook as nbmod
from gradekit.formatting import cell_landmark
from gradekit.notebook import (
    NotebookLoadError,
    PreparedCell,
    cell_landmarks,
    code_locator,
    definition_cell,
    load_notebook,
    notebook_assignment,
    prepare_cells,
)

PY_META = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
           "language_info": {"name": "python"}}


def v4_dict(cells=(), metadata=None) -> dict:
    return {"cells": list(cells), "metadata": PY_META if metadata is None else metadata,
            "nbformat": 4, "nbformat_minor": 5}


def code_dict(source: str = "x = 1", metadata=None) -> dict:
    return {"cell_type": "code", "id": "c1", "source": source, "metadata": metadata or {}, "outputs": [],
            "execution_count": None}


def write_text(tmp_path, text: str, name: str = "submission.ipynb"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_nb(*cells):
    """A v4 notebook from ("code"|"markdown", source[, tags]) tuples."""
    nb = v4.new_notebook(metadata=PY_META)
    for kind, source, *rest in cells:
        cell = v4.new_code_cell(source) if kind == "code" else v4.new_markdown_cell(source)
        if rest:
            cell.metadata["tags"] = list(rest[0])
        nb.cells.append(cell)
    return nb


# ------------------------------------------------------------------------------------------- load_notebook


def test_valid_v4_notebook_loads(tmp_path):
    nb = make_nb(("markdown", "# Title"), ("code", "x = 1\nprint(x)"))
    path = tmp_path / "ok.ipynb"
    nbformat.write(nb, path)

    loaded = load_notebook(path)

    assert loaded.nbformat == 4
    assert [(c.cell_type, c.source) for c in loaded.cells] == [("markdown", "# Title"), ("code", "x = 1\nprint(x)")]


def test_nbformat3_notebook_is_upgraded_to_v4(tmp_path):
    old = v3.new_notebook(name="old", worksheets=[v3.new_worksheet(cells=[
        v3.new_text_cell("markdown", source="# Old"),
        v3.new_code_cell(input="x = 1\nprint(x)", language="python", prompt_number=3),
    ])])
    path = write_text(tmp_path, v3.writes_json(old))
    assert json.loads(path.read_text())["nbformat"] == 3  # the file really is v3

    loaded = load_notebook(path)

    assert loaded.nbformat == 4
    assert loaded.metadata["orig_nbformat"] == 3
    assert [(c.cell_type, c.source) for c in loaded.cells] == [("markdown", "# Old"), ("code", "x = 1\nprint(x)")]


def test_hand_written_minimal_v3_json_is_upgraded(tmp_path):
    text = json.dumps({"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [
        {"metadata": {}, "cells": [{"cell_type": "code", "collapsed": False, "input": ["y = 2"],
                                    "language": "python", "metadata": {}, "outputs": []}]}]})
    loaded = load_notebook(write_text(tmp_path, text))
    assert [(c.cell_type, c.source) for c in loaded.cells] == [("code", "y = 2")]


def test_invalid_json_message_says_not_valid_json_with_line_number(tmp_path):
    text = '{\n "cells": [],\n "metadata": {,\n "nbformat": 4\n}'  # the stray comma is on line 3
    with pytest.raises(NotebookLoadError) as err:
        load_notebook(write_text(tmp_path, text))
    assert "not valid JSON" in str(err.value)
    assert "line 3" in str(err.value)


def test_empty_file_is_reported_as_empty(tmp_path):
    with pytest.raises(NotebookLoadError, match="empty"):
        load_notebook(write_text(tmp_path, ""))


def test_binary_file_named_ipynb_is_not_a_text_file(tmp_path):
    path = tmp_path / "photo.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(NotebookLoadError, match="not a text file"):
        load_notebook(path)


@pytest.mark.parametrize("payload", [{"name": "a config file"}, [1, 2, 3], "just a string", None],
                         ids=["object", "list", "string", "null"])
def test_json_that_is_not_a_notebook_is_rejected(tmp_path, payload):
    with pytest.raises(NotebookLoadError, match="not a Jupyter notebook"):
        load_notebook(write_text(tmp_path, json.dumps(payload)))


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}, "language_info": {"name": "R"}},
    {"language_info": {"name": "R"}},
], ids=["kernelspec", "language_info-only"])
def test_r_kernel_notebook_names_the_language(tmp_path, metadata):
    text = json.dumps(v4_dict([code_dict("x <- 1")], metadata=metadata))
    with pytest.raises(NotebookLoadError) as err:
        load_notebook(write_text(tmp_path, text))
    assert "R notebook" in str(err.value)
    assert "Python" in str(err.value)


def test_notebook_without_language_metadata_counts_as_python(tmp_path):
    text = json.dumps(v4_dict([code_dict()], metadata={}))
    assert load_notebook(write_text(tmp_path, text)).cells[0].source == "x = 1"


def test_file_over_the_size_limit_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(nbmod, "MAX_NOTEBOOK_BYTES", 1 << 20)
    nb = make_nb(("code", "print('x')"))
    nb.cells[0].outputs = [v4.new_output("stream", name="stdout", text="x" * (3 << 19))]  # 1.5 MiB of output
    path = tmp_path / "big.ipynb"
    nbformat.write(nb, path)
    assert path.stat().st_size > 1 << 20

    with pytest.raises(NotebookLoadError) as err:
        load_notebook(path)
    assert "limit" in str(err.value)
    assert "1 MiB" in str(err.value)


def test_file_under_the_size_limit_still_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(nbmod, "MAX_NOTEBOOK_BYTES", 1 << 20)
    path = tmp_path / "small.ipynb"
    nbformat.write(make_nb(("code", "x = 1")), path)
    assert load_notebook(path).cells[0].source == "x = 1"


def _write_dir(tmp_path):
    path = tmp_path / "folder.ipynb"
    path.mkdir()
    return path


def _write_json(obj):
    return lambda tmp_path: write_text(tmp_path, json.dumps(obj))


def _write_bytes(data: bytes):
    def write(tmp_path):
        path = tmp_path / "submission.ipynb"
        path.write_bytes(data)
        return path
    return write


MALFORMED = [
    pytest.param(lambda tmp_path: tmp_path / "missing.ipynb", id="missing-file"),
    pytest.param(_write_bytes(b""), id="empty"),
    pytest.param(_write_bytes(b"\xff\xfe\x00\x01" * 64), id="binary"),
    pytest.param(_write_bytes(b'{"cells": [}'), id="broken-json"),
    pytest.param(_write_bytes(b'{"cells": []'), id="truncated-json"),
    pytest.param(_write_json([1, 2]), id="json-list"),
    pytest.param(_write_json({"cells": "not a list", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}),
                 id="cells-string"),
    pytest.param(_write_json({"cells": [[1]], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}),
                 id="cell-is-list"),
    pytest.param(_write_json({**v4_dict(), "nbformat": 5}), id="nbformat-5"),
    pytest.param(_write_json({**v4_dict(), "nbformat": None}), id="nbformat-null"),
    pytest.param(_write_json({**v4_dict(), "metadata": []}), id="metadata-list"),
    pytest.param(_write_json({"worksheets": "x", "metadata": {}, "nbformat": 3, "nbformat_minor": 0}),
                 id="v3-worksheets-string"),
    pytest.param(_write_json(v4_dict(metadata={"kernelspec": {"language": "julia"}})), id="julia"),
    pytest.param(_write_json(v4_dict(metadata={"kernelspec": "R"})), id="kernelspec-is-string"),
    pytest.param(_write_json(v4_dict(metadata={"language_info": "R"})), id="language-info-is-string"),
    pytest.param(_write_dir, id="directory-named-ipynb"),
    pytest.param(_write_json(v4_dict([code_dict(metadata={"tags": 5})])), id="schema-invalid-tags"),
]


@pytest.mark.parametrize("write", MALFORMED)
def test_every_malformed_file_raises_notebook_load_error_only(tmp_path, write):
    path = write(tmp_path)
    with pytest.raises(NotebookLoadError) as err:
        load_notebook(path)
    assert str(err.value).strip()


def test_notebook_load_error_names_the_file(tmp_path):
    with pytest.raises(NotebookLoadError, match="hw3_jane.ipynb"):
        load_notebook(write_text(tmp_path, "not json", name="hw3_jane.ipynb"))


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"gradekit": {"assignment": "rnn_sentiment"}}, "rnn_sentiment"),
    ({}, None),
    ({"gradekit": "rnn_sentiment"}, None),
])
def test_notebook_assignment_reads_gradekit_metadata(metadata, expected):
    nb = v4.new_notebook(metadata=metadata)
    assert notebook_assignment(nb) == expected


# ------------------------------------------------------------------------------------------- prepare_cells


def test_setup_code_comes_first_with_position_zero():
    nb = make_nb(("code", "a = 1"))
    prepared = prepare_cells(nb, setup="SETUP = True\n")
    assert prepared.cells[0] == PreparedCell(0, "SETUP = True\n")
    assert [c.position for c in prepared.cells] == [0, 1]


def test_blank_setup_code_adds_no_cell():
    prepared = prepare_cells(make_nb(("code", "a = 1")), setup="  \n")
    assert [c.position for c in prepared.cells] == [1]


def test_positions_are_one_based_notebook_positions_counting_markdown():
    nb = make_nb(("markdown", "# Intro"), ("code", "a = 1"), ("markdown", "text"), ("code", "b = 2"))
    prepared = prepare_cells(nb)
    assert [(c.position, c.source) for c in prepared.cells] == [(2, "a = 1"), (4, "b = 2")]


@pytest.mark.parametrize("source", ["", "   \n\n", "\t"], ids=["empty", "newlines", "tab"])
def test_empty_code_cells_are_skipped(source):
    prepared = prepare_cells(make_nb(("code", source), ("code", "a = 1")))
    assert [c.position for c in prepared.cells] == [2]
    assert prepared.routine == []


def test_markdown_cells_are_not_run_even_when_they_look_like_code():
    prepared = prepare_cells(make_nb(("markdown", "import os\nos.remove('x')")))
    assert prepared.cells == []


def test_cells_with_a_skip_tag_are_skipped():
    nb = make_nb(("code", "a = 1"), ("code", "train_for_an_hour()", ["skip-grading"]), ("code", "b = 2"))
    prepared = prepare_cells(nb, skip_tags=("skip-grading",))
    assert [c.position for c in prepared.cells] == [1, 3]


def test_tags_not_listed_as_skip_tags_do_not_skip():
    nb = make_nb(("code", "a = 1", ["data"]))
    prepared = prepare_cells(nb, skip_tags=("skip-grading",))
    assert [c.position for c in prepared.cells] == [1]


def test_replace_tag_drops_the_cell_with_a_note_saying_it_was_replaced():
    nb = make_nb(("code", "a = 1"), ("code", "model = download_model()", ["download"]))
    prepared = prepare_cells(nb, replace_tags=("download",))
    assert [c.position for c in prepared.cells] == [1]
    assert len(prepared.routine) == 1
    assert "cell 2" in prepared.routine[0]
    assert "replaced" in prepared.routine[0]


def test_replace_pattern_drops_a_matching_cell_with_a_note():
    nb = make_nb(("code", "x = 1"), ("code", "tok = AutoTokenizer.from_pretrained('bert-base-uncased')"))
    prepared = prepare_cells(nb, replace_patterns=(r"from_pretrained\(",))
    assert [c.position for c in prepared.cells] == [1]
    assert "cell 2" in prepared.routine[0]
    assert "replaced" in prepared.routine[0]


def test_replace_pattern_leaves_other_cells_alone():
    prepared = prepare_cells(make_nb(("code", "x = 1")), replace_patterns=(r"from_pretrained\(",))
    assert [c.source for c in prepared.cells] == ["x = 1"]
    assert prepared.routine == []


def test_pip_install_line_is_neutralised_and_the_rest_of_the_cell_runs():
    nb = make_nb(("code", "!pip install x\nimport os\ny = 2"))
    prepared = prepare_cells(nb)
    assert prepared.cells[0].source.splitlines() == [
        "pass  # [grading] not run: !pip install x", "import os", "y = 2"]


def test_neutralised_pip_install_leaves_a_note_naming_the_cell():
    prepared = prepare_cells(make_nb(("markdown", "m"), ("code", "!pip install x")))
    assert len(prepared.routine) == 1
    assert "cell 2" in prepared.routine[0]
    assert "not" in prepared.routine[0] and "run" in prepared.routine[0]


@pytest.mark.parametrize(("source", "expected"), [
    ("%pip install torch", "pass  # [grading] not run: %pip install torch"),
    ("if True:\n    !ls -la", "    pass  # [grading] not run: !ls -la"),
    ("%conda install numpy", "pass  # [grading] not run: %conda install numpy"),
])
def test_shell_lines_keep_their_indentation_and_become_pass(source, expected):
    prepared = prepare_cells(make_nb(("code", source)))
    assert prepared.cells[0].source.splitlines()[-1] == expected


def test_neutralised_cell_still_compiles():
    prepared = prepare_cells(make_nb(("code", "for i in range(2):\n    !echo hi\n    y = i")))
    compile(prepared.cells[0].source, "<cell>", "exec")


def test_plain_python_cell_is_unchanged_and_has_no_note():
    prepared = prepare_cells(make_nb(("code", "x = 3  # not a !shell line")))
    assert prepared.cells[0].source == "x = 3  # not a !shell line"
    assert prepared.routine == []


@pytest.mark.parametrize("magic", ["%%bash", "%%sh", "%%script bash", "%%system"])
def test_shell_cell_magic_cells_are_dropped_with_a_note(magic):
    nb = make_nb(("code", "a = 1"), ("code", f"{magic}\nrm -rf ~\n"))
    prepared = prepare_cells(nb)
    assert [c.position for c in prepared.cells] == [1]
    assert len(prepared.routine) == 1
    assert "cell 2" in prepared.routine[0]
    assert "shell cell" in prepared.routine[0]


def test_skip_tag_wins_over_replace_tag_and_leaves_no_note():
    nb = make_nb(("code", "download()", ["skip-grading", "download"]))
    prepared = prepare_cells(nb, skip_tags=("skip-grading",), replace_tags=("download",))
    assert prepared.cells == []
    assert prepared.routine == []


# --------------------------------------------------------------------------------- code_locator, definition


def test_code_locator_maps_a_frame_line_to_cell_and_line():
    nb = make_nb(("markdown", "# Q1"), ("code", "import torch"), ("code", "def f(x):\n    y = x + 1\n    return y / 0"))
    locate = code_locator(nb)
    assert locate({"code": "return y / 0", "line": 3}) == "in your cell 3, line 3: return y / 0"


def test_code_locator_ignores_surrounding_whitespace_of_the_frame_code():
    locate = code_locator(make_nb(("code", "a = 1\n    b = a / 0")))
    assert locate({"code": "  b = a / 0  "}) == "in your cell 1, line 2: b = a / 0"


def test_code_locator_does_not_match_markdown_cells():
    locate = code_locator(make_nb(("markdown", "b = a / 0"), ("code", "x = 1")))
    assert locate({"code": "b = a / 0"}) == "at: b = a / 0"


@pytest.mark.parametrize("frame", [{}, {"code": ""}, {"code": "   "}], ids=["no-code", "empty", "blank"])
def test_code_locator_returns_nothing_for_a_frame_without_code(frame):
    assert code_locator(make_nb(("code", "x = 1")))(frame) == ""


@pytest.mark.parametrize(("source", "name"), [
    ("def build_vocab(texts):\n    return {}", "build_vocab"),
    ("import torch\n\nclass LSTM(torch.nn.Module):\n    pass", "LSTM"),
    ("model = None\nmodel = make()", "model"),
    ("vocab={}", "vocab"),
])
def test_definition_cell_finds_def_class_and_assignment(source, name):
    nb = make_nb(("markdown", "# Q"), ("code", "x = 1"), ("code", source))
    assert definition_cell(nb, name) == 3


def test_definition_cell_finds_tuple_unpacking_assignment():
    nb = make_nb(("code", "train_texts, train_labels = read_reviews('train.csv')"))
    assert definition_cell(nb, "train_labels") == 1


def test_definition_cell_last_definition_wins():
    nb = make_nb(("code", "def f():\n    return 1"), ("code", "f()"), ("code", "def f():\n    return 2"))
    assert definition_cell(nb, "f") == 3


@pytest.mark.parametrize("source", [
    "def build_vocab_fast(texts):\n    pass",  # a longer name
    "print(build_vocab)",  # a use, not a definition
    "# def build_vocab(texts):",  # a comment
])
def test_definition_cell_does_not_count_other_names_or_uses(source):
    assert definition_cell(make_nb(("code", source)), "build_vocab") is None


def test_definition_cell_ignores_markdown():
    assert definition_cell(make_nb(("markdown", "def f():\n    pass")), "f") is None


def test_definition_cell_escapes_the_name():
    nb = make_nb(("code", "ab = 1"))
    assert definition_cell(nb, "a.") is None


def test_a_cell_is_found_by_its_saved_in_count_and_first_line():
    """Jupyter numbers no cell, and positions count markdown cells: a student finds a cell by what it shows."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Q2"),
                                         nbformat.v4.new_code_cell("\n# Q2: tokenize\ndef tokenize(v, hp, text):\n",
                                                                   execution_count=7),
                                         nbformat.v4.new_code_cell("x = 1")])
    assert cell_landmarks(nb, 2) == {"in_count": 7, "starts": "# Q2: tokenize"}
    assert cell_landmarks(nb, 3) == {"in_count": None, "starts": "x = 1"}  # saved without running
    assert cell_landmarks(nb, 9) == {}


@pytest.mark.parametrize(("error", "landmark"), [
    ({"in_count": 7, "starts": "def tokenize(v, hp, text):"}, "In [7], the cell starting `def tokenize(v, hp, text):`"),
    ({"in_count": None, "starts": "x = 1"}, "the cell starting `x = 1`"),
    ({}, ""),  # results written before landmarks were kept
])
def test_cell_landmark_says_what_jupyter_shows(error, landmark):
    assert cell_landmark({"cell": 3, "ename": "KeyError", **error}) == landmark
