"""Unit tests for gradekit.release: solution regions become stubs, and the committed student notebooks are
exactly what `grade.py release` makes from the solution (so they cannot drift or leak a solution)."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from gradekit.config import list_assignments, load_assignment
from gradekit.release import BEGIN, END, ReleaseError, release, release_notebook, strip_solution

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "assignments" / "rnn_sentiment" / "rnn_sentiment.ipynb"
TEMPLATE = ROOT / "student_template" / "rnn_sentiment.ipynb"
EXAMPLE_TEMPLATE = ROOT / "examples" / "submissions" / "rnn_sentiment" / "template.ipynb"


def lines(*parts: str) -> str:
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------- strip_solution


def test_region_becomes_stub_at_its_indentation():
    source = lines(
        "def f(x):",
        "    ### BEGIN SOLUTION",
        "    y = x * 2",
        "    return y",
        "    ### END SOLUTION",
    )
    assert strip_solution(source) == lines(
        "def f(x):",
        "    # YOUR CODE HERE",
        "    raise NotImplementedError()",
    )


def test_code_around_the_region_is_kept():
    source = lines("a = 1", "### BEGIN SOLUTION", "b = 2", "### END SOLUTION", "print(a)")
    assert strip_solution(source) == lines("a = 1", "# YOUR CODE HERE", "raise NotImplementedError()", "print(a)")


def test_deeper_indentation_is_kept():
    source = lines("class A:", "    def f(self):", "        ### BEGIN SOLUTION", "        pass",
                   "        ### END SOLUTION")
    out = strip_solution(source).splitlines()
    assert out[-2:] == ["        # YOUR CODE HERE", "        raise NotImplementedError()"]


def test_existing_your_code_here_line_is_not_duplicated():
    source = lines("def f():", "    # YOUR CODE HERE", "    ### BEGIN SOLUTION", "    return 1",
                   "    ### END SOLUTION")
    assert strip_solution(source) == lines("def f():", "    # YOUR CODE HERE", "    raise NotImplementedError()")


def test_your_code_here_further_up_does_not_suppress_the_stub_marker():
    source = lines("# YOUR CODE HERE", "x = 1", "### BEGIN SOLUTION", "y = 2", "### END SOLUTION")
    assert strip_solution(source).splitlines().count("# YOUR CODE HERE") == 2


def test_two_regions_become_two_stubs():
    source = lines("### BEGIN SOLUTION", "a = 1", "### END SOLUTION", "between = 0",
                   "### BEGIN SOLUTION", "b = 2", "### END SOLUTION")
    assert strip_solution(source).splitlines().count("raise NotImplementedError()") == 2
    assert "between = 0" in strip_solution(source).splitlines()


def test_markdown_region_becomes_your_answer_here():
    source = lines("Explain why:", "### BEGIN SOLUTION", "Because gradients vanish.", "### END SOLUTION")
    assert strip_solution(source, markdown=True) == lines("Explain why:", "YOUR ANSWER HERE")


def test_source_without_regions_is_unchanged():
    source = lines("import torch", "x = torch.zeros(3)")
    assert strip_solution(source) == source


@pytest.mark.parametrize(("source", "match"), [
    (lines("### BEGIN SOLUTION", "x = 1"), "without an END"),
    (lines("x = 1", "### END SOLUTION"), "without a BEGIN"),
    (lines("### BEGIN SOLUTION", "### BEGIN SOLUTION", "x = 1", "### END SOLUTION", "### END SOLUTION"), "nested"),
], ids=["begin-without-end", "end-without-begin", "nested"])
def test_unbalanced_markers_raise_release_error(source, match):
    with pytest.raises(ReleaseError, match=match):
        strip_solution(source)


def test_unbalanced_markers_in_markdown_raise_too():
    with pytest.raises(ReleaseError):
        strip_solution(lines("### BEGIN SOLUTION", "the answer"), markdown=True)


# ------------------------------------------------------------------------------------------ release_notebook


@pytest.fixture
def solved_nb():
    metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    code = v4.new_code_cell(lines("def f():", "    ### BEGIN SOLUTION", "    return 42", "    ### END SOLUTION"),
                            execution_count=7)
    code.outputs = [v4.new_output("stream", name="stdout", text="42\n"),
                    v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=7)]
    answer = v4.new_markdown_cell(lines("Why?", "### BEGIN SOLUTION", "Because.", "### END SOLUTION"))
    return v4.new_notebook(cells=[v4.new_markdown_cell("# HW"), code, answer], metadata=metadata)


def test_release_clears_outputs(solved_nb):
    released = release_notebook(solved_nb, "hw")
    assert released.cells[1].outputs == []


def test_release_clears_execution_counts(solved_nb):
    released = release_notebook(solved_nb, "hw")
    assert released.cells[1].execution_count is None


def test_release_strips_code_and_markdown_regions(solved_nb):
    released = release_notebook(solved_nb, "hw")
    assert released.cells[1].source == lines("def f():", "    # YOUR CODE HERE", "    raise NotImplementedError()")
    assert released.cells[2].source == lines("Why?", "YOUR ANSWER HERE")


def test_release_sets_assignment_metadata(solved_nb):
    released = release_notebook(solved_nb, "hw")
    assert released.metadata["gradekit"] == {"assignment": "hw"}
    assert released.metadata["kernelspec"]["language"] == "python"


def test_release_does_not_mutate_its_input(solved_nb):
    before = copy.deepcopy(solved_nb)
    release_notebook(solved_nb, "hw")
    assert solved_nb == before


def test_release_error_names_the_cell():
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), v4.new_code_cell("### BEGIN SOLUTION\ny = 2")])
    with pytest.raises(ReleaseError, match="cell 2"):
        release_notebook(nb, "hw")


def test_released_notebook_is_valid_nbformat(solved_nb):
    nbformat.validate(release_notebook(solved_nb, "hw"))


# --------------------------------------------------------------------------- the committed student notebooks


def cell_view(nb) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.fixture(scope="module")
def solution():
    return nbformat.read(SOLUTION, as_version=4)


@pytest.fixture(scope="module")
def template():
    return nbformat.read(TEMPLATE, as_version=4)


def test_committed_template_equals_release_of_the_solution(solution, template):
    assert cell_view(template) == cell_view(release_notebook(solution, "rnn_sentiment"))


def test_committed_template_names_its_assignment(template):
    assert template.metadata["gradekit"]["assignment"] == "rnn_sentiment"


def test_committed_template_has_no_outputs(template):
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in template.cells
               if c.cell_type == "code")


def test_committed_template_has_no_solution_markers(template):
    text = "\n".join(c.source for c in template.cells)
    assert "BEGIN SOLUTION" not in text
    assert "END SOLUTION" not in text


def solution_only_lines(nb) -> set[str]:
    """Stripped lines that occur inside solution regions and nowhere outside them in the solution notebook."""
    inside, outside = set(), set()
    for cell in nb.cells:
        in_region = False
        for line in cell.source.splitlines():
            if BEGIN.match(line):
                in_region = True
            elif END.match(line):
                in_region = False
            elif line.strip():
                (inside if in_region else outside).add(line.strip())
    return inside - outside


def test_solution_has_regions_to_strip(solution):
    assert len(solution_only_lines(solution)) > 20  # guards the leak test below against checking nothing


def test_no_solution_line_appears_in_committed_template(solution, template):
    template_lines = {line.strip() for c in template.cells for line in c.source.splitlines()}
    assert sorted(solution_only_lines(solution) & template_lines) == []


def test_example_template_submission_matches_committed_template(template):
    example = nbformat.read(EXAMPLE_TEMPLATE, as_version=4)
    assert cell_view(example) == cell_view(template)


# ------------------------------------------------------------------ every assignment's committed files


@pytest.mark.parametrize("name", list_assignments(ROOT))
def test_every_committed_template_is_byte_for_byte_what_release_writes(name, tmp_path):
    """`grade release` into a fresh folder gives exactly the committed student_template/ file."""
    written = release(load_assignment(name, ROOT), tmp_path)
    committed = ROOT / "student_template" / f"{name}.ipynb"
    assert committed.read_bytes() == written.read_bytes(), (
        f"student_template/{name}.ipynb has drifted from its solution notebook: run `python grade.py release`")


@pytest.mark.parametrize("name", list_assignments(ROOT))
def test_every_examples_template_is_the_committed_template(name):
    example = ROOT / "examples" / "submissions" / name / "template.ipynb"
    if not example.exists():
        pytest.fail(f"examples/submissions/{name}/ has no template.ipynb (the untouched template must score 0)")
    committed = nbformat.read(ROOT / "student_template" / f"{name}.ipynb", as_version=4)
    assert cell_view(nbformat.read(example, as_version=4)) == cell_view(committed)
