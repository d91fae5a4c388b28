"""Q10 the results table, read from the notebook file (study_report says which forms are read): it can be read,
it has a row for every configuration of the study, and its figures are losses and accuracies."""

import pytest

from . import study_report

Q = "report_table"


@pytest.mark.question(Q, points=1)
def test_table_can_be_read(table, record_property):
    """The results table can be read"""
    record_property("info", f"read {len(table.rows)} rows from {table.form} in cell {table.cell}")


@pytest.mark.question(Q, points=1)
def test_every_configuration_has_a_row(table):
    """Every configuration of the study has a row"""
    missing = study_report.missing_rows(table)
    assert not missing, (
        f"the results table (cell {table.cell}) has no row for {len(missing)} configuration(s) of the study: "
        f"{'; '.join(study_report.describe(c) for c in missing[:4])}{' ...' if len(missing) > 4 else ''}")


@pytest.mark.question(Q, points=1)
def test_figures_are_losses_and_accuracies(table):
    """Test losses and accuracies are in range"""
    bad = study_report.out_of_range(table)
    assert not bad, f"in the results table (cell {table.cell}): {'; '.join(bad[:3])}"
