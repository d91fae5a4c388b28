"""The pytest plugin that turns grader tests into CheckResults.

Graders are ordinary pytest files. Each test carries `@pytest.mark.question("lstm", points=2)` (and
`hidden=True` for checks a student's self-check never runs). The fixtures `submission`, `assignment` and
`data_path` come from here. What a student reads is the failure's own message: the text after
`assert ..., "<message>"`, a `pytest.fail("<message>")`, or the student-facing text of a SubmissionError
raised by the proxy; never a traceback. A passing check can add a note with `record_property("info", ...)`.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from gradekit.config import Assignment
from gradekit.figures import Figure
from gradekit.progress import Reporter, Step
from gradekit.proxy import NotImplementedByStudent, Submission, SubmissionError
from gradekit.results import CheckResult, Reading, Review, Status
from gradekit.seeds import Seeds

CONTEXT = pytest.StashKey["GradingContext"]()


class NeedsReview(Exception):
    """Raised by a check whose answer a person must grade (free text, or math the machine cannot decide).

    The check scores 0 until a TA records points (see gradekit.review); `review` is what the TA is shown."""

    def __init__(self, message: str, review: Review):
        super().__init__(message)
        self.review = review


@dataclass
class GradingContext:
    submission: Submission
    assignment: Assignment
    mode: str = "batch"  # "check" runs public checks only
    data_path: Path | None = None
    notebook: Any = None  # the submitted notebook (nbformat node) as loaded; None when it could not be read
    # what the graders draw from (gradekit.seeds); fresh per run where no notebook file gave them
    seeds: Seeds = field(default_factory=lambda: Seeds(secrets.randbits(31), 2**32 + secrets.randbits(62)))
    results: list[CheckResult] = field(default_factory=list)
    hidden_left_out: int = 0  # hidden checks a self-check ("check" mode) did not run
    on_step: Reporter | None = None  # told as each question's checks start


class GradingPlugin:
    def __init__(self, context: GradingContext):
        self.context = context
        self._questions: list[str] = []  # the questions collected, in the order their checks run
        self._current: str | None = None  # the question whose checks are running

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT] = self.context
        config.addinivalue_line("markers", "question(id, points=1, hidden=False, builds_on=()): the question a check "
                                           "grades, and the questions whose code it runs (for a check like learning)")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("question")
            if marker is None:
                raise pytest.UsageError(f"grader test {item.nodeid} has no @pytest.mark.question(...)")
            hidden = bool(marker.kwargs.get("hidden", False))
            (drop if hidden and self.context.mode == "check" else keep).append(item)
        self.context.hidden_left_out = len(drop)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
        self._questions = list(dict.fromkeys(question_marker(item)[0] for item in keep))

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        qid = question_marker(item)[0]
        if self.context.on_step is not None and qid != self._current:
            self._current = qid
            title = self.context.assignment.question_titles.get(qid, qid)
            step = Step("question", self._questions.index(qid) + 1, len(self._questions), title)
            capture = item.config.pluginmanager.getplugin("capturemanager")
            # pytest captures file descriptors 1 and 2 while checks run: the step must reach the real terminal
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                self.context.on_step(step)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.context.results.append(check_result(item, call, report))


def question_marker(item: pytest.Item) -> tuple[str, float, bool]:
    marker = item.get_closest_marker("question")
    assert marker is not None
    qid = marker.args[0] if marker.args else marker.kwargs["id"]
    return str(qid), float(marker.kwargs.get("points", 1)), bool(marker.kwargs.get("hidden", False))


def check_name(item: pytest.Item) -> str:
    """The check's name as the student reads it: the test's docstring's first line, and for a parametrized test
    which case it is. A case of several numbers reads as `name=value, ...` (pytest's own id for `(5, 3)` is `5-3`);
    a case of one number or word (a statement's number, a rule, an answer's id) keeps its id, as does any case
    with a word, which is also how ta_review.csv knows them."""
    func = getattr(item, "function", None)
    doc = (func.__doc__ or "").strip().splitlines() if func else []
    base = doc[0].rstrip(".") if doc else item.name.split("[")[0].removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return base
    params = callspec.params
    several = len(params) > 1 or any(isinstance(v, tuple) for v in params.values())
    if several and all(_numeric(v) for v in params.values()):
        return f"{base} [{', '.join(f'{k}={_shown(v)}' for k, v in params.items())}]"
    return f"{base} [{callspec.id}]"


def _numeric(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_numeric(v) for v in value)
    return isinstance(value, (int, float))  # bool included


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_result(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> CheckResult:
    qid, points, hidden = question_marker(item)
    properties = report.user_properties
    # A written-answer check says how it read the answer, pass or fail, via record_property("reading", Reading).
    readings = [v for k, v in properties if k == "reading" and isinstance(v, Reading)]
    # Pictures, pass or fail, via record_property("figure", Figure(...)).
    figures = tuple(v for k, v in properties if k == "figure" and isinstance(v, Figure))
    marker = item.get_closest_marker("question")
    builds_on = tuple(str(q) for q in marker.kwargs.get("builds_on", ())) if marker else ()
    base = {"question": qid, "name": check_name(item), "max_points": points, "hidden": hidden,
            "reading": readings[-1] if readings else None, "figures": figures, "builds_on": builds_on}
    if report.passed:
        # A passing check may still say something useful, via pytest's record_property("info", "...").
        info = "; ".join(str(v) for k, v in properties if k == "info")
        return CheckResult(**base, points=points, status=Status.PASSED, message=info)
    if report.skipped:
        return CheckResult(**base, points=0.0, status=Status.SKIPPED, message=_skip_reason(report))
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, NeedsReview):
        return CheckResult(**base, points=0.0, status=Status.NEEDS_REVIEW, message=str(exc), review=exc.review)
    status, message = failure_message(exc)
    missing = exc.what if isinstance(exc, NotImplementedByStudent) else ""
    cause = exc.cause if isinstance(exc, SubmissionError) else None
    return CheckResult(**base, points=0.0, status=status, message=message, missing=missing, cause=cause)


def failure_message(exc: BaseException | None) -> tuple[Status, str]:
    """(status, message) for a failed check: FAILED for the student's doing, ERROR for the grader's."""
    if isinstance(exc, NotImplementedByStudent):
        return Status.NOT_IMPLEMENTED, str(exc)
    if isinstance(exc, SubmissionError):
        return Status.FAILED, str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc)
        # pytest's assertion rewriting appends "\nassert <explanation>" to the grader's message.
        message = text.split("\nassert ")[0].strip()
        if message.startswith("assert "):
            message = "check failed: " + message.splitlines()[0]
        return Status.FAILED, message or "check failed"
    if isinstance(exc, pytest.fail.Exception):
        return Status.FAILED, str(exc.msg)
    if exc is None:
        return Status.ERROR, "the check failed without a reason; please tell your course staff"
    detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return Status.ERROR, (f"this check could not examine what your code returned ({detail[:300]}). "
                          "Check that your function returns what the question asks for; if it does, tell your "
                          "course staff.")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


# -- fixtures graders use -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def submission(request: pytest.FixtureRequest) -> Submission:
    return request.config.stash[CONTEXT].submission


@pytest.fixture(scope="session")
def assignment(request: pytest.FixtureRequest) -> Assignment:
    return request.config.stash[CONTEXT].assignment


@pytest.fixture(scope="session")
def data_path(request: pytest.FixtureRequest) -> Path | None:
    return request.config.stash[CONTEXT].data_path


@pytest.fixture(scope="session")
def notebook(request: pytest.FixtureRequest) -> Any:
    """The submitted notebook as data (never executed on the host), for graders of written answers.
    None when the file could not be read; the reason is already in the submission's error."""
    return request.config.stash[CONTEXT].notebook


@pytest.fixture(scope="session")
def seed(request: pytest.FixtureRequest) -> int:
    """Secret to the student and derived from their notebook (gradekit.seeds), so no submission can be tuned to
    the inputs it will be checked on, and grading it again draws the same ones."""
    return request.config.stash[CONTEXT].seeds.cases


def _per_check(seed: int, request: pytest.FixtureRequest) -> int:
    return seed + zlib.crc32(request.node.name.encode()) % 10_000


@pytest.fixture
def gen(seed: int, request: pytest.FixtureRequest) -> torch.Generator:
    """A torch generator seeded per run and per check."""
    return torch.Generator().manual_seed(_per_check(seed, request))


@pytest.fixture
def pyrng(seed: int, request: pytest.FixtureRequest) -> random.Random:
    return random.Random(_per_check(seed, request))
