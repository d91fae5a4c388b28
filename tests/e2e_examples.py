"""Grading an assignment's bundled example submissions, for the end-to-end tests of every assignment."""

import time
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

import pytest
from browser import layout_problems

from gradekit.batch import BatchOptions, run_batch
from gradekit.config import load_assignment
from gradekit.formatting import format_number
from gradekit.report import check_status
from gradekit.results import QuestionResult, SubmissionResult
from gradekit.review import REVIEW_CSV, apply_reviews, read_review_csv


def grade_examples(name: str, out: Path) -> dict[str, SubmissionResult]:
    """Every notebook in examples/submissions/<name>/, through the batch path (worker processes, sandboxed
    kernels, reports written to `out`), keyed by student id. Prints the wall time: a figure, not an assert."""
    assignment = load_assignment(name)
    start = time.monotonic()
    results = run_batch(assignment.root / "examples" / "submissions" / name, assignment, out,
                        BatchOptions(jobs=2, quiet=True))
    print(f"\ngraded {len(results)} {name} notebooks in {time.monotonic() - start:.1f} s")
    return {r.student: r for r in results}


def question(result: SubmissionResult, qid: str) -> QuestionResult:
    return next(q for q in result.questions() if q.id == qid)


def unasserted_deductions(expected: dict[str, dict[str, float]], full: dict[str, float],
                          messages: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(student, question) pairs that lose points but whose message no test asserts (the template, which loses
    everything as "not implemented", has a test of its own)."""
    return [(student, q) for student, scores in expected.items() if scores != dict.fromkeys(full, 0)
            for q, points in scores.items() if points < full[q] and (student, q) not in messages]


class _FeedbackPage(HTMLParser):
    """What a feedback page shows per question: the score line, the messages under "What to fix" and each check's
    name and status, as text (the page's own markup: one <section data-question> per question, its score in
    p.q-score > strong, each message a p.message, each check an li.check with its status as a class and its name in
    span.check-name)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown: dict[str, Shown] = {}
        self._question: str | None = None
        self._into: list[str] | None = None  # the text being read, while inside a score, a message or a name
        self._reading = ""  # which of the three
        self._in_score_line = False
        self._status = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section" and a.get("data-question"):
            self._question = a["data-question"]
            self.shown[self._question] = Shown("", [], [])
        elif self._question is None:
            return
        elif tag == "p" and "q-score" in classes:
            self._in_score_line = True
        elif tag == "strong" and self._in_score_line:
            self._into, self._reading = [], "score"
        elif tag == "p" and "message" in classes:
            self._into, self._reading = [], "message"
        elif tag == "li" and "check" in classes:
            self._status = next(c for c in classes if c != "check")
        elif tag == "span" and "check-name" in classes:
            self._into, self._reading = [], "check"

    def handle_endtag(self, tag: str) -> None:
        if self._question is None:
            return
        shown = self.shown[self._question]
        if self._into is not None and tag == {"score": "strong", "message": "p", "check": "span"}[self._reading]:
            text = "".join(self._into)
            if self._reading == "score":
                self.shown[self._question] = shown._replace(score=text)
            elif self._reading == "message":
                shown.messages.append(text)
            else:
                shown.checks.append((text, self._status))
            self._into = None
        elif tag == "p" and self._in_score_line:
            self._in_score_line = False
        elif tag == "section":
            self._question = None

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._into.append(data)


class Shown(NamedTuple):
    score: str  # "3.5 / 5"
    messages: list[str]
    checks: list[tuple[str, str]]  # (name, status class: passed, failed, error, skipped, review, partial)


def feedback_shown(page: Path) -> dict[str, Shown]:
    """question id -> what the written feedback page shows of it."""
    parser = _FeedbackPage()
    parser.feed(page.read_text())
    return parser.shown


def feedback_expected(result: SubmissionResult) -> dict[str, Shown]:
    """What the feedback page of `result` must show: every question's points, every message in order, and every
    check with its status."""
    return {q.id: Shown(f"{format_number(q.points, 2)} / {format_number(q.max_points, 2)}", q.messages,
                        [(c.name, check_status(c)[0]) for c in q.checks])
            for q in result.questions()}


def feedback_against_result(reports: Path, student: str) -> tuple[dict, dict]:
    """(what the student's feedback page shows, what it must show), from a batch's reports folder: the machine's
    result in results/ with the TA's points in ta_review.csv merged in, as the batch writes its pages (so a later
    run that brings a TA's points changes both sides)."""
    machine = SubmissionResult.read_json(reports / "results" / f"{student}.json")
    (reviewed,), _ = apply_reviews([machine], read_review_csv(reports / REVIEW_CSV))
    return feedback_shown(reports / "feedback" / f"{student}.html"), feedback_expected(reviewed)


def page_and_solution_tests(students):
    """The tests every end-to-end module of an assignment's examples holds, on its `reports` (the batch's folder)
    and `graded` ({student: result}) fixtures: each student's feedback page shows what the grading found, the
    solution passes every check, and every page the batch wrote fits a phone and a desktop screen in a real
    browser. Assign them to module-level names there, where pytest collects them."""

    @pytest.mark.parametrize("student", students)
    def test_feedback_page_shows_every_questions_points_and_messages(reports, graded, student):
        """The page a student reads shows what the grading found: each question's points and each message, in
        order."""
        assert student in graded
        shown, expected = feedback_against_result(reports, student)
        assert shown == expected

    def test_the_solution_passes_every_check(graded):
        """Not only full points: no check of the solution failed, could not run or was skipped."""
        assert [c.name for c in graded["solution"].checks if not (c.passed or c.awaiting_ta)] == []

    @pytest.mark.parametrize("width", [390, 1280])
    def test_every_page_fits_the_screen_without_console_errors(browser, reports, width):
        """No page scrolls sideways (a formula, a long line of code or a table past the edge) and none logs an
        error, at a phone's 390 px and at 1280 px."""
        pages = [reports / "index.html", *sorted((reports / "feedback").glob("*.html"))]
        assert [p for page in pages for p in layout_problems(browser, page, width)] == []

    return (test_feedback_page_shows_every_questions_points_and_messages, test_the_solution_passes_every_check,
            test_every_page_fits_the_screen_without_console_errors)
