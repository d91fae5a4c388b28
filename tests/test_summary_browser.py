"""The class summary in a real browser: its one script (admitted by hash under the page's Content-Security-Policy)
sorts the scores table, and nothing else on the page can run."""

from __future__ import annotations

import pytest

from gradekit.report import render_class_summary
from gradekit.results import CheckResult, Status, SubmissionResult

QUESTIONS = {"q1": "Q1", "q2": "Q2"}


def result(student: str, q1: float, q2: float, **kw) -> SubmissionResult:
    checks = [CheckResult("q1", "a", q1, 2, Status.PASSED if q1 == 2 else Status.FAILED),
              CheckResult("q2", "b", q2, 2, Status.PASSED if q2 == 2 else Status.FAILED)]
    return SubmissionResult(student=student, assignment="hw", checks=checks, question_titles=QUESTIONS, **kw)


@pytest.fixture
def page(tmp_path, browser):
    results = [result("ann", 2, 0), result("bob", 2, 2), result("cat", 0, 1),
               SubmissionResult(student="dan", assignment="hw", error="notebook is not valid JSON"),
               result("<img src=x onerror=alert(1)>", 1, 1)]
    path = tmp_path / "index.html"
    path.write_text(render_class_summary(results, title="HW", question_ids=list(QUESTIONS),
                                         question_titles=QUESTIONS))
    browser.set_window_size(1280, 900)
    browser.get_log("browser")
    browser.get(path.as_uri())
    return browser


def order(driver) -> list[str]:
    return [row.get_attribute("data-student") for row in driver.find_elements("css selector", "table.scores tbody tr")]


def press(driver, column: str) -> None:
    buttons = driver.find_elements("css selector", "table.scores thead button.sort")
    [button] = [b for b in buttons if b.text.startswith(column)]
    button.click()


def test_the_table_sorts_by_the_column_pressed_then_the_other_way(page):
    assert order(page) == ["<img src=x onerror=alert(1)>", "ann", "bob", "cat", "dan"]
    press(page, "Total")
    assert order(page) == ["dan", "cat", "<img src=x onerror=alert(1)>", "ann", "bob"]  # not graded below 0
    press(page, "Total")
    assert order(page) == ["bob", "<img src=x onerror=alert(1)>", "ann", "cat", "dan"]
    header = page.find_element("css selector", "table.scores thead th[aria-sort]")
    assert header.text.startswith("Total") and header.get_attribute("aria-sort") == "descending"
    press(page, "q2")
    assert order(page)[:2] == ["dan", "ann"]
    press(page, "Flags")
    press(page, "Flags")
    assert order(page)[0] == "dan"


def test_the_sorting_script_runs_and_nothing_else_does(page):
    """A wrong hash would block the script (a console error); an injected handler would have run (no alert)."""
    press(page, "Student")
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    assert page.execute_script("return document.querySelectorAll('img').length") == 0
