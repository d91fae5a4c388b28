"""Suite-wide rules. In CI (the environment variable CI is set, as `.ci/run` does) a security test that skips
is a failure: where bubblewrap, namespaces or the sandbox's tools are missing, the security layer would
otherwise vanish from a green run. Tests that only apply when the grader runs as root carry `root_only` and
may skip for an ordinary user. The end of every run prints how many security tests ran and skipped.
"""

from __future__ import annotations

import os

import pytest
from browser import chromium

# Every grading in the suite draws from one fixed course secret (gradekit.seeds), so that a test's verdicts are
# the same on every run; the graders' own subprocesses inherit it.
os.environ["GRADEKIT_SECRET"] = "gradekit-test-suite"

SECURITY_FILES = {"test_sandbox.py", "test_kernel.py", "test_adversarial.py", "test_doctor.py"}
IN_CI = bool(os.environ.get("CI"))
_counts = {"passed": 0, "failed": 0, "skipped": 0}



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root_only: a security test that applies only when the grader is root")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        for item in items:
            if item.get_closest_marker("root_only"):
                item.add_marker(pytest.mark.skip(reason="applies when the grader runs as root"))


def _is_security(item: pytest.Item) -> bool:
    return item.path.name in SECURITY_FILES


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not _is_security(item) or report.when not in ("setup", "call") or (report.when == "setup" and report.passed):
        return
    if report.skipped and IN_CI and not (item.get_closest_marker("root_only") and os.geteuid() != 0):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"a security test skipped in CI ({reason}): the sandbox is not really there on this "
                           "machine. Run `python grade.py doctor` to see what is missing and how to fix it.")
    _counts[report.outcome] = _counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001 - pytest's hookspec
    ran = _counts["passed"] + _counts["failed"]
    if ran or _counts["skipped"]:
        terminalreporter.write_line(f"security tests: {ran} ran ({_counts['failed']} failed), "
                                    f"{_counts['skipped']} skipped{' (CI: skips fail)' if IN_CI else ''}")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (tests/browser.py), one for the whole run."""
    yield from chromium()
