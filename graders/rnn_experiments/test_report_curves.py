"""Q9 training curves: each section's curve cell has a saved figure. The figures are shown on the feedback page
(PNG only, checked; see gradekit.figures)."""

import pytest

from . import study_report

Q = "report_curves"


def cells_without_figures(notebook):
    """Positions of the curve cells that exist and hold no image; a ReportProblem when a cell is missing."""
    return [study_report.curve_cell(notebook, s)[0] for s in study_report.SECTIONS
            if not study_report.has_curves(notebook, s)]


@pytest.mark.parametrize("section", study_report.SECTIONS)
@pytest.mark.question(Q, points=0.5)
def test_curves_are_saved(notebook, section, record_property):
    """The section's curve cell holds its figure"""
    position, _ = study_report.curve_cell(notebook, section)
    empty = cells_without_figures(notebook)
    if len(empty) == len(study_report.SECTIONS):
        pytest.fail(f"no curves yet: the curve cells (cells {', '.join(map(str, empty))}) have no saved figure; run "
                    "them and save the notebook with its outputs")
    assert position not in empty, (
        f"cell {position} (tag answer:curves_{section}) has no saved figure: plot the {section} runs' curves there, "
        "run it and save the notebook with its outputs")
    figures, problems = study_report.curve_figures(notebook, section)
    for figure in figures:
        record_property("figure", figure)
    if problems:
        record_property("info", f"not shown here: {problems[0]}")
