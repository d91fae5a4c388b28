"""The similarity pages in a real browser (headless Chromium through Selenium and chromedriver): no horizontal
overflow at a phone's 390 px nor at 1280 px, and no console error (a CSP violation shows up as one).

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package. Without them the test is skipped on
a developer's machine; under CI (CI set) it fails instead, so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
import shutil

import pytest
import similarity_corpus as corpus

from gradekit.config import load_assignment
from gradekit.similarity import compare, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed"
    if not CHROMIUM or not DRIVER:
        return "chromium and chromium-driver (Debian packages) are not installed"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("class")
    corpus.write(corpus.example("solution"), d / "source.ipynb")
    corpus.write(corpus.disguise(corpus.example("solution"), seed=1), d / "a_student_with_a_rather_long_name.ipynb")
    corpus.write(corpus.fill_template(corpus.INDEPENDENT_GATES), d / "independent.ipynb")
    corpus.write(corpus.template(), d / "template.ipynb")
    result = compare(sorted(d.glob("*.ipynb")), load_assignment("rnn_sentiment", corpus.ROOT))
    index = write_report(result, tmp_path_factory.mktemp("report"))
    pair = sorted((index.parent / "pairs").glob("*.html"))[0]
    return {"index": index, "pair": pair}


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("page", ["index", "pair"])
def test_page_fits_the_screen_without_console_errors(browser, pages, page, width):
    browser.set_window_size(width, 900)
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(pages[page].as_uri())
    inner = browser.execute_script("return window.innerWidth")
    scroll = browser.execute_script("return document.documentElement.scrollWidth")
    assert inner <= width
    assert scroll <= inner, f"{page} at {width} px is {scroll} px wide: it scrolls sideways"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors
    if page == "pair":
        marks = browser.execute_script("return document.querySelectorAll('a.shared').length")
        assert marks > 10
