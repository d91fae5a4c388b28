"""Q11 conclusions: each section's `Best:` line names the setting the student's own table ranks best (the machine
checks that), and its explanation goes to a TA with the rubric in reference/rnn_experiments.py."""

import pytest

from gradekit.plugin import NeedsReview
from gradekit.written.answers import Answer
from gradekit.written.checks import review

from . import study_report

Q = "report_conclusions"


@pytest.fixture(scope="module")
def conclusions(notebook):
    """section -> (cell, text); an empty notebook's four empty cells give one message, not four."""
    found = {s: study_report.conclusion_text(notebook, s) for s in study_report.SECTIONS}
    if not any(text for _, text in found.values()):
        cells = ", ".join(str(position) for position, _ in found.values())
        raise study_report.ReportProblem(f"not answered yet: the conclusion cells (cells {cells}) are empty")
    return found


def answered(conclusions, section):
    position, text = conclusions[section]
    if not text:
        pytest.fail(f"not answered yet: the {section} conclusion (cell {position}) is empty")
    return position, text


@pytest.mark.parametrize("section", study_report.SECTIONS)
@pytest.mark.question(Q, points=0.5)
def test_best_setting_agrees_with_your_table(conclusions, section, notebook):
    """The `Best:` line names the setting your table ranks best"""
    position, text = answered(conclusions, section)
    line = study_report.best_line(text)
    assert line, (f"the {section} conclusion (cell {position}) has no `Best:` line: start it with, for example, "
                  f"`Best: {'Adam' if section == 'optimizer' else 2}`")
    named = study_report.named_setting(section, line)
    assert named is not None, (
        f"the {section} conclusion's `Best: {line[:60]}` names no single setting: write one "
        f"{'optimizer (SGD, Adagrad, RMSprop or Adam)' if section == 'optimizer' else 'whole number'}")
    try:
        table = study_report.read_table(notebook)
    except study_report.ReportProblem as exc:
        pytest.fail(f"the {section} conclusion cannot be checked against your table: {exc}")
    if any(table.row(c) is None for c in study_report.ref.STUDY[section]):
        pytest.fail(f"the {section} conclusion cannot be checked: your table lacks some of that section's rows")
    by_acc, by_loss = study_report.ranked_best(table, section)
    if named in by_acc | by_loss:
        return
    best = sorted(by_acc, key=str)[0]
    mine, top = study_report.setting_row(table, section, named), study_report.setting_row(table, section, best)
    figures = f"{mine.test_acc:.3f} / {mine.test_loss:.3f}" if mine else "not in the section"
    pytest.fail(f"the {section} conclusion names {named} as best, but your table ranks {best} best: test accuracy / "
                f"loss {top.test_acc:.3f} / {top.test_loss:.3f}, against {figures} for {named}")


@pytest.mark.parametrize("section", study_report.SECTIONS)
@pytest.mark.question(Q, points=1)
def test_explanation(conclusions, section, reference):
    """Explanation (graded by a TA)"""
    position, text = answered(conclusions, section)
    answer = Answer(f"conclusion_{section}", text=text, cell=position)
    raise NeedsReview("a TA will grade this answer", review(answer, "free_text", reference.RUBRICS[section],
                                                             "free text"))
