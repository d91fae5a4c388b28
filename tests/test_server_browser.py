"""A student's day on the course server, in a real browser (headless Debian Chromium): sign in from a link, upload
rnn_sentiment's solution and its template, run into the self-check limit, and fail to open another student's
feedback. The server is `grade serve` on a real port; the notebooks are graded in real sandboxed kernels."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser import layout_problems
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from server_harness import PROJECT, CourseServer, course_folder, iso

pytestmark = pytest.mark.e2e

EXAMPLES = PROJECT / "examples" / "submissions" / "rnn_sentiment"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = course_folder(tmp_path_factory.mktemp("course"), PROJECT, [
        {"name": "rnn_sentiment", "opens": iso(-timedelta(days=1)), "due": iso(timedelta(days=7)),
         "checks_per_hour": 2}])
    running = CourseServer(folder, jobs=1).start()
    yield running
    running.stop()


def check(browser, server: CourseServer, notebook) -> str:
    """Upload `notebook` with Check on the assignment page; the feedback page's URL once the grading is done."""
    browser.get(f"{server.url}/assignments/rnn_sentiment")
    browser.find_element(By.ID, "notebook").send_keys(str(notebook))
    browser.find_element(By.CSS_SELECTOR, "button[value=check]").click()
    WebDriverWait(browser, 240, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".question") or d.find_elements(By.CSS_SELECTOR, ".alert"))
    return browser.current_url


@pytest.fixture(scope="module")
def day(browser, server):
    """Ada's day: signed in from her link, the solution checked, then the template."""
    browser.get(server.links["s01"])
    pages = {"home": f"{server.url}/", "assignment": f"{server.url}/assignments/rnn_sentiment"}
    assert "Student s01" in browser.find_element(By.CSS_SELECTOR, ".site-nav").text
    browser.get_log("browser")
    pages["solution"] = check(browser, server, EXAMPLES / "solution.ipynb")
    console = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    pages["template"] = check(browser, server, EXAMPLES / "template.ipynb")
    return pages, console


def test_the_solution_gets_full_public_marks(browser, day):
    pages, console = day
    browser.get(pages["solution"])
    assert browser.find_element(By.CSS_SELECTOR, ".score").text.startswith("34.5 / 34.5")
    assert "Self-check: public checks only" in browser.page_source
    assert console == []  # the live page's script and its event stream pass the page's CSP


def test_the_template_gets_one_message_per_question(browser, day):
    pages, _ = day
    browser.get(pages["template"])
    questions = browser.find_elements(By.CSS_SELECTOR, "section.question")
    assert len(questions) == 9
    for q in questions:
        fixes = q.find_elements(By.CSS_SELECTOR, ".fix li")
        assert len(fixes) == 1, q.text[:300]
        assert "not implemented yet" in fixes[0].text
    assert browser.find_element(By.CSS_SELECTOR, ".score").text.startswith("0 / 34.5")


def test_past_the_limit_the_page_says_when_the_next_check_is_allowed(browser, server, day):
    browser.get(f"{server.url}/assignments/rnn_sentiment")
    assert not browser.find_element(By.CSS_SELECTOR, "button[value=check]").is_enabled()
    limit = browser.find_element(By.CSS_SELECTOR, ".limit").text
    assert "You have used this hour's 2 checks: the next check is allowed at" in limit
    assert browser.find_element(By.CSS_SELECTOR, ".checks-left").text.startswith("0")
    history = browser.find_element(By.CSS_SELECTOR, "table.attempts").text
    assert "34.5 / 34.5" in history and "0 / 34.5" in history


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("page", ["home", "assignment", "solution", "template"])
def test_the_pages_hold_at_phone_and_desktop_width(browser, day, page, width):
    pages, _ = day
    assert layout_problems(browser, pages[page], width) == []


def test_another_student_cannot_open_adas_feedback(browser, server, day):
    pages, _ = day
    browser.get(server.links["s02"])
    assert "Student s02" in browser.find_element(By.CSS_SELECTOR, ".site-nav").text
    browser.get(pages["solution"])
    assert "There is no such attempt among yours." in browser.page_source
    assert "34.5" not in browser.page_source
