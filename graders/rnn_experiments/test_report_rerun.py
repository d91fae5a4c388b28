"""Q12 the report against a re-run: the study's SGD and Adam configurations are re-run with the student's own
train_and_test_model_with_hparams, and the difference in test accuracy the table reports between them (or its
absence) must show in the re-run too. A gap under the configured margin (measured from the reference: see
assignment.toml) counts as no difference in both. The feedback page shows the student's optimizer curves next to
the re-run's."""

import pytest

import reference.rnn_experiments as ref

from . import rerun, study_report

Q = "report_rerun"
SGD, ADAM = ref.Config("SGD"), ref.BASE


@pytest.mark.question(Q, points=3)
def test_your_table_agrees_with_a_rerun(table, notebook, reruns, assignment, record_property):
    """The SGD-Adam difference your table reports holds when your code is re-run"""
    rows = {c: table.row(c) for c in (SGD, ADAM)}
    missing = [study_report.describe(c) for c, r in rows.items() if r is None]
    assert not missing, f"your table has no row for {' or '.join(missing)}, so it cannot be compared with a re-run"
    try:
        figures, _ = study_report.curve_figures(notebook, "optimizer")
    except study_report.ReportProblem:
        figures = []
    for figure in [*figures[:1], rerun.chart(reruns)]:
        record_property("figure", figure)
    margin = float(assignment.settings["rerun_margin"])
    problem = rerun.trend_problem((rows[SGD].test_acc, rows[ADAM].test_acc),
                                  (reruns["SGD"].test_acc, reruns["Adam"].test_acc), margin)
    record_property("info", f"re-run: SGD {reruns['SGD'].test_acc:.3f}, Adam {reruns['Adam'].test_acc:.3f}; your "
                            f"table: SGD {rows[SGD].test_acc:.3f}, Adam {rows[ADAM].test_acc:.3f}")
    assert problem is None, problem
