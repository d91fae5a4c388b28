"""Similar submissions: ranking on generated submissions, what never counts, bad input, the report pages."""

from __future__ import annotations

import dataclasses
import html
import random
import re
from pathlib import Path

import nbformat
import pytest
import similarity_corpus as corpus

from gradekit.cli import main
from gradekit.config import load_assignment
from gradekit.report import render_class_summary
from gradekit.similarity import Settings, compare, write_report
from gradekit.similarity.normalise import Bindings, bindings, code_tokens, word_tokens
from gradekit.similarity.report import batch_section


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("rnn_sentiment", corpus.ROOT)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A small class: a source, two disguised copies of it, two independent solutions, two untouched templates,
    and two notebooks that each answer different questions (so they share only the template)."""
    d = tmp_path_factory.mktemp("class")
    corpus.write(corpus.example("solution"), d / "source.ipynb")
    corpus.write(corpus.disguise(corpus.example("solution"), seed=1), d / "copy.ipynb")
    corpus.write(corpus.disguise(corpus.example("solution"), seed=2, new_ids=True), d / "copy_pasted.ipynb")
    corpus.write(corpus.fill_template(corpus.INDEPENDENT_GATES), d / "independent_gates.ipynb")
    corpus.write(corpus.fill_template(corpus.INDEPENDENT_SLICES), d / "independent_slices.ipynb")
    corpus.write(corpus.template(), d / "template_a.ipynb")
    corpus.write(corpus.template(), d / "template_b.ipynb")
    first = {k: v for k, v in corpus.INDEPENDENT_GATES.items() if k in ("build_vocab", "tokenize", "Embedding")}
    last = {k: v for k, v in corpus.INDEPENDENT_SLICES.items() if k in ("binary_accuracy", "train", "model")}
    corpus.write(corpus.fill_template(first), d / "only_first_questions.ipynb")
    corpus.write(corpus.fill_template(last), d / "only_last_questions.ipynb")
    return d


@pytest.fixture(scope="module")
def result(folder, assignment):
    return compare(sorted(folder.glob("*.ipynb")), assignment)


def score(result, a: str, b: str) -> float:
    for p in result.pairs:
        if {p.a.name, p.b.name} == {a, b}:
            return p.code.similarity
    return 0.0


COPIES = ["copy", "copy_pasted"]
INDEPENDENT = ["independent_gates", "independent_slices"]


def test_disguised_copies_rank_at_the_top(result):
    top = {frozenset((p.a.name, p.b.name)) for p in result.pairs[:3]}
    assert top == {frozenset(("source", "copy")), frozenset(("source", "copy_pasted")), frozenset(COPIES)}


@pytest.mark.parametrize("copy", COPIES)
def test_a_copy_is_its_sources_nearest_neighbour(result, copy):
    partners = sorted(((score(result, "source", n), n) for n in INDEPENDENT + [copy]), reverse=True)
    assert partners[0][1] == copy
    assert partners[0][0] >= 0.85, f"source and {copy} share only {partners[0][0]:.0%}"


@pytest.mark.parametrize("a", INDEPENDENT)
@pytest.mark.parametrize("b", ["source", *COPIES, *INDEPENDENT])
def test_independent_solutions_stay_below_the_threshold(result, a, b):
    if a != b:
        assert score(result, a, b) < result.settings.threshold
        assert score(result, a, b) < min(score(result, "source", c) for c in COPIES) - 0.4


@pytest.mark.parametrize("other", ["template_b", "source", "copy", *INDEPENDENT])
def test_untouched_templates_share_nothing(result, other):
    assert score(result, "template_a", other) == 0.0
    assert result.documents["template_a"][0].own == 0


def test_a_pair_sharing_only_the_template_scores_zero(result):
    assert result.documents["only_first_questions"][0].own > 100  # they did write code ...
    assert result.documents["only_last_questions"][0].own > 100
    assert score(result, "only_first_questions", "only_last_questions") == 0.0  # ... just not the same


@pytest.mark.parametrize("disguise", [
    pytest.param(dict(reorder=False), id="renamed-recommented-helper-extracted"),
    pytest.param(dict(reorder=True), id="and-cells-reordered"),
    pytest.param(dict(reorder=True, new_ids=True), id="and-pasted-into-new-cells"),
])
@pytest.mark.parametrize("source", ["solution", "lstm_ignores_padding", "classifier_over_padded_steps"])
def test_each_disguise_keeps_the_pair_above_threshold(tmp_path, assignment, source, disguise):
    original = corpus.example(source)
    corpus.write(original, tmp_path / "original.ipynb")
    corpus.write(corpus.disguise(original, seed=7, **disguise), tmp_path / "disguised.ipynb")
    result = compare(sorted(tmp_path.glob("*.ipynb")), assignment)
    assert score(result, "original", "disguised") >= 0.85


def test_reordered_cells_line_up_by_question(result):
    copy = next(s for s in result.submissions if s.name == "copy")
    source = next(s for s in result.submissions if s.name == "source")
    assert [c.index for c in copy.cells if "def binary_accuracy" in c.source] != \
        [c.index for c in source.cells if "def binary_accuracy" in c.source]  # the generator did move it
    for sub in (copy, source):
        cell = next(c for c in sub.cells if "def binary_accuracy" in c.source)
        assert cell.section == "Q6 binary_accuracy"


def test_the_index_proposes_only_pairs_that_share_fingerprints(result):
    n = len(result.submissions)
    assert result.candidates < n * (n - 1) // 2
    assert all(p.a.name not in ("template_a", "template_b") for p in result.pairs)


def test_an_unreadable_notebook_is_one_line_in_the_report(tmp_path, assignment):
    corpus.write(corpus.example("solution"), tmp_path / "fine.ipynb")
    (tmp_path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (tmp_path / "empty.ipynb").write_bytes(b"")
    result = compare(sorted(tmp_path.glob("*.ipynb")), assignment)
    assert {s.name for s in result.unreadable} == {"broken", "empty"}
    page = write_report(result, tmp_path / "report").read_text()
    assert "broken.ipynb is not valid JSON" in html.unescape(page)
    assert "empty.ipynb is empty" in html.unescape(page)


def test_a_cell_with_a_syntax_error_is_still_compared(tmp_path, assignment):
    broken = corpus.example("vocab_case_and_tokenize_indentation")  # its tokenize cell does not parse
    corpus.write(broken, tmp_path / "broken.ipynb")
    corpus.write(corpus.disguise(broken, seed=3, reorder=False), tmp_path / "copy.ipynb")
    result = compare(sorted(tmp_path.glob("*.ipynb")), assignment)
    sub = next(s for s in result.submissions if s.name == "broken")
    cell = next(c for c in sub.cells if "def tokenize" in c.source)
    assert cell.parse_error and cell.parse_error.startswith("SyntaxError")
    pair = result.pairs[0]
    shared = pair.code.per_cell_a if pair.a.name == "broken" else pair.code.per_cell_b
    assert shared.get(cell.index, 0) > 20


def test_written_answers_are_compared_as_text_separately(tmp_path):
    assignment = load_assignment("theory_rnn_attention", corpus.ROOT)
    examples = corpus.ROOT / "examples" / "submissions" / "theory_rnn_attention"
    solution = nbformat.read(examples / "solution.ipynb", as_version=4)
    corpus.write(solution, tmp_path / "solution.ipynb")
    copied = nbformat.from_dict(solution)
    for cell in copied.cells:  # the same explanations, a few words changed, and no code in common
        if cell.cell_type == "markdown" and any(t.startswith("answer:") for t in cell.metadata.get("tags", [])):
            cell.source = cell.source.replace("the", "THE").replace(",", " ;")
        if cell.cell_type == "code" and "def self_attention" in cell.source:
            cell.source = ("import torch\n\ndef self_attention(x):\n"
                           "    return torch.softmax(x.matmul(x.t()), 1).matmul(x)\n")
    corpus.write(copied, tmp_path / "copied.ipynb")
    corpus.write(nbformat.read(examples / "seed000.ipynb", as_version=4), tmp_path / "seed000.ipynb")
    corpus.write(nbformat.read(examples / "template.ipynb", as_version=4), tmp_path / "template.ipynb")
    result = compare(sorted(tmp_path.glob("*.ipynb")), assignment)
    pairs = {frozenset((p.a.name, p.b.name)): p for p in result.pairs}
    copy = pairs[frozenset(("solution", "copied"))]
    assert copy.text.similarity > 0.8
    assert copy.code.similarity < 0.3
    assert result.documents["template"][1].own == 0  # the template's own words never count
    assert all("template" not in key for key in pairs)


# -- normalisation -------------------------------------------------------------------------------------------


def tokens(source: str) -> list[str]:
    return [t.text for t in code_tokens(source, bindings(source))]


def test_renaming_comments_and_formatting_do_not_change_the_tokens():
    a = ('def acc(preds, y):\n    """Accuracy."""\n    r = torch.round(torch.sigmoid(preds))  # round\n'
         "    return (r == y).float().mean()\n")
    b = ("def accuracy(p, labels):\n    # my version\n    rr = torch.round(\n        torch.sigmoid(p))\n\n"
         "    return (rr == labels).float().mean()\n")
    assert tokens(a) == tokens(b)


def test_library_names_are_kept_so_different_code_looks_different():
    assert tokens("y = torch.sigmoid(x)") != tokens("y = torch.tanh(x)")
    assert tokens("y = x.chunk(4, dim=-1)") != tokens("y = x.split(4, dim=-1)")
    assert tokens("y = f(x, dim=1)") != tokens("y = f(x, axis=1)")


def test_attributes_the_notebook_sets_are_normalised():
    a = "self.W_xh = nn.Linear(3, 4)\nz = self.W_xh(x)\n"
    b = "self.wx = nn.Linear(3, 4)\nz = self.wx(x)\n"
    assert tokens(a) == tokens(b)


def test_numbers_and_short_strings_by_value():
    assert tokens("x = f(1e-6, r'<[^>]*>')") == tokens('x = f(0.000001, "<[^>]*>")')
    assert tokens('print("a long message that a copier would rewrite")') == \
        tokens('print(f"another long message, {x} of them")')


def test_text_that_python_cannot_tokenize_still_gives_tokens():
    source = 'x = "unterminated\ny = 2\n"""never closed'
    assert [t.text for t in code_tokens(source, Bindings())][:2] == ["V", "="]
    assert code_tokens("def f(:\n  return", bindings("def f(:\n  return"))


def test_ipython_lines_are_not_compared():
    assert tokens("!pip install torch\n%matplotlib inline\nx = 1\n") == tokens("x = 1\n")


def test_words_of_markdown_ignore_case_and_punctuation():
    assert [t.text for t in word_tokens("The *gradient*, vanishes: $\\sigma$!")] == \
        ["the", "gradient", "vanishes", "\\sigma"]


# -- the report ----------------------------------------------------------------------------------------------

VERDICT_WORDS = re.compile(r"plagiar|cheat|suspicious|guilty|copied from|misconduct", re.I)


@pytest.fixture(scope="module")
def report(result, tmp_path_factory) -> Path:
    return write_report(result, tmp_path_factory.mktemp("report"))


def test_the_ranked_list_says_what_is_shared_with_the_threshold_and_no_verdict(report, result):
    page = html.unescape(report.read_text())
    assert "Pairs, most shared first" in page
    assert f"from {result.settings.threshold * 100:g}% up" in page
    assert "A person decides" in page
    assert not VERDICT_WORDS.search(page)
    listed = re.findall(r'data-a="([^"]+)" data-b="([^"]+)"', page)
    assert {frozenset(p) for p in listed} == {
        frozenset(("source", "copy")), frozenset(("source", "copy_pasted")), frozenset(COPIES),
        # built from the same answers for the questions they do answer: shared code, rightly listed
        frozenset(("independent_gates", "only_first_questions")),
        frozenset(("independent_slices", "only_last_questions")),
    }


def test_the_pair_page_marks_each_passage_on_both_sides(report):
    for page_path in sorted((report.parent / "pairs").glob("*.html")):
        check_pair_page(page_path.read_text())


def check_pair_page(page: str) -> None:
    assert not VERDICT_WORDS.search(html.unescape(page))
    ids = set(re.findall(r'id="((?:a|b)-p\d+)"', page))
    links = set(re.findall(r'href="#((?:a|b)-p\d+)"', page))
    assert len(ids) >= 2
    assert links <= ids, f"links to passages that are not on the page: {sorted(links - ids)[:5]}"
    assert {i.split("-")[1] for i in ids if i.startswith("a-")} == {i.split("-")[1] for i in ids if i.startswith("b-")}
    assert "Where, question by question" in page


def test_csv_and_json_hold_the_figures(report, result):
    rows = (report.parent / "similarity.csv").read_text().splitlines()
    assert rows[0].startswith("a,b,similarity,")
    assert len(rows) == 1 + len(result.pairs)
    assert '"schema": "gradekit.similarity/1"' in (report.parent / "similarity.json").read_text()


def test_the_command_line(folder, tmp_path, capsys):
    code = main(["similarity", str(folder), "--assignment", "rnn_sentiment", "--out", str(tmp_path / "r"),
                 "--threshold", "50"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"^\s+1\. (copy · copy_pasted|copy · source|copy_pasted · source): \d+% of code shared", out, re.M)
    assert "3 pairs from 50% up among 9 notebooks" in out
    assert (tmp_path / "r" / "index.html").exists()


def test_the_command_line_refuses_a_bad_threshold(folder, tmp_path, capsys):
    assert main(["similarity", str(folder), "--assignment", "rnn_sentiment", "--out", str(tmp_path),
                 "--threshold", "150"]) == 2
    assert "--threshold is a percentage" in capsys.readouterr().err


def test_settings_can_be_tightened(folder, assignment):
    strict = compare(sorted(folder.glob("*.ipynb")), assignment, Settings(threshold=0.99))
    # only the two disguises of one source are (all but) the same code once normalised
    assert [{p.a.name, p.b.name} for p in strict.listed] == [set(COPIES)]
    assert compare(sorted(folder.glob("*.ipynb")), assignment, Settings(threshold=1.0, common=0)).listed == []


def test_the_batch_class_summary_has_a_similarity_block(folder, assignment, tmp_path):
    section = batch_section(sorted(folder.glob("*.ipynb")), assignment, tmp_path / "similarity")
    page = render_class_summary([], title="t", question_ids=[], question_titles={}, similarity=section)
    assert 'id="similarity"' in page and 'href="similarity/index.html"' in page
    for href in re.findall(r'href="(similarity/pairs/[^"]+)"', page):
        assert (tmp_path / html.unescape(href)).exists()
    assert len(re.findall(r'href="similarity/pairs/', page)) == 5


def test_the_batch_block_reports_a_missing_template_instead_of_failing(folder, assignment, tmp_path):
    elsewhere = dataclasses.replace(assignment, root=tmp_path)
    section = batch_section(sorted(folder.glob("*.ipynb")), elsewhere, tmp_path / "similarity")
    assert "grade release --assignment rnn_sentiment" in section["error"]
    page = render_class_summary([], title="t", question_ids=[], question_titles={}, similarity=section)
    assert "the similarity report could not be made" in page


def test_common_code_is_left_out_of_both_sides_of_the_share(tmp_path, assignment):
    """Five students wrote the reference solution, each with a few lines of their own; one copied another. With
    `common=2` the reference's passages are common code: the copy is still listed, the others are not."""
    rng = random.Random(4)
    for name in ("source", "other_1", "other_2", "other_3"):
        corpus.write(corpus.personalise(corpus.example("solution"), rng), tmp_path / f"{name}.ipynb")
    corpus.write(corpus.disguise(nbformat.read(tmp_path / "source.ipynb", as_version=4), seed=5),
                 tmp_path / "copy.ipynb")
    result = compare(sorted(tmp_path.glob("*.ipynb")), assignment, Settings(common=2))
    assert result.common_code > 0
    assert [{p.a.name, p.b.name} for p in result.listed] == [{"source", "copy"}]
    assert score(result, "source", "copy") >= 0.85
    assert all(score(result, "source", f"other_{i}") < 0.1 for i in (1, 2, 3))
