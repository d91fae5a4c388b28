"""Pages in a real browser: headless Debian Chromium driven by Selenium and chromedriver, shared by every test
that looks at a page as a person would (the `browser` fixture in conftest.py).

Without chromium, chromium-driver or selenium the tests are skipped on a developer's machine; under CI (CI set)
they fail instead, so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed"
    if not CHROMIUM or not DRIVER:
        return "chromium and chromium-driver (Debian packages) are not installed"
    return None


def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run, its console log kept for `layout_problems`."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)
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


def layout_problems(driver: Any, page: Path | str, width: int) -> list[str]:
    """What a reader at `width` px would trip over on `page` (a file, or a server's URL): a page that scrolls
    sideways, naming the elements that stick out, and console errors (a CSP violation shows up as one)."""
    driver.set_window_size(width, 900)
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.as_uri() if isinstance(page, Path) else page)
    name = page.name if isinstance(page, Path) else page
    problems = []
    inner = driver.execute_script("return window.innerWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    if scroll > inner:
        wide = driver.execute_script(STICKING_OUT)
        problems.append(f"{name} at {width} px is {scroll} px wide: {wide}")
    problems += [f"{name}: {e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return problems


# The outermost elements past the viewport's right edge that no scrolling box of their own contains, and the
# elements whose own content spills past their box (a line of <pre> that cannot wrap).
STICKING_OUT = """
const edge = document.documentElement.clientWidth + 1, found = [];
const scrolls = (el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
for (const el of document.querySelectorAll('body *')) {
  const spills = el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && !scrolls(el);
  if (el.getBoundingClientRect().right <= edge && !spills) continue;
  let p = el.parentElement, contained = false;
  while (p && p !== document.body && !contained) {
    contained = p.getBoundingClientRect().right > edge || scrolls(p);
    p = p.parentElement;
  }
  if (!contained) found.push(`<${el.tagName.toLowerCase()} class="${el.className}">`);
}
return found.slice(0, 5).join(', ');
"""
