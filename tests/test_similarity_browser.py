"""The similarity pages in a real browser (headless Chromium through Selenium and chromedriver): no horizontal
overflow at a phone's 390 px nor at 1280 px, and no console error (a CSP violation shows up as one).

The browser is tests/browser.py's (the `browser` fixture).
"""

from __future__ import annotations

import pytest
import similarity_corpus as corpus
from browser import layout_problems

from gradekit.config import load_assignment
from gradekit.similarity import compare, write_report


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
    assert layout_problems(browser, pages[page], width) == []
    if page == "pair":
        marks = browser.execute_script("return document.querySelectorAll('a.shared').length")
        assert marks > 10
