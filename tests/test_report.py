"""Unit tests for gradekit.report: feedback page and class summary (HTML parsed with html.parser)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from gradekit.report import (
    environment,
    histogram,
    render_class_summary,
    render_feedback,
    write_class_summary,
    write_feedback,
)
from gradekit.results import CheckResult, SubmissionResult

SELF_CHECK = "Self-check: public checks only. Hidden checks run when your course staff grades."
TITLES = {"attn": "Attention", "lstm": "LSTM cell"}
NASTY_ID = 'a&b"c'
SCRIPT = "<script>alert('x')</script>"


# ---------------------------------------------------------------------------------------------- helpers


def chk(question, name, points, max_points=1.0, *, message="", hidden=False, status=None):
    passed = points >= max_points
    return CheckResult(
        question=question,
        name=name,
        points=points,
        max_points=max_points,
        passed=passed,
        message=message,
        hidden=hidden,
        status=status or ("passed" if passed else "failed"),
    )


def make(student="s1", checks=(), **kw):
    return SubmissionResult(
        student=student, assignment="HW3", checks=list(checks), question_titles=dict(TITLES), **kw
    )


def full_marks(student="full"):
    return make(
        student, [chk("attn", "shape", 1), chk("attn", "values", 1), chk("lstm", "h_seq shape", 2, 2)]
    )


def zero(student="zero"):
    msg = "NotImplementedError: implement me"
    return make(
        student,
        [
            chk("attn", "shape", 0, message=msg),
            chk("attn", "values", 0, message=msg),
            chk("lstm", "h_seq shape", 0, 2, message="expected (4, 10)\ngot (10, 4)"),
        ],
    )


def partial(student="partial"):
    return make(
        student,
        [
            chk("attn", "shape", 1),
            chk("attn", "values", 0, message="values differ"),
            chk("lstm", "h_seq shape", 1.5, 2, message="close, but not quite"),
        ],
    )


def with_hidden(student="hidden"):
    return make(
        student,
        [
            chk("attn", "shape", 1),
            chk("attn", "secret", 1, hidden=True),
            chk("lstm", "h_seq shape", 2, 2),
            chk("lstm", "secret", 0, message="hidden failure", hidden=True),
        ],
    )


def check_mode(student="selfcheck"):
    return make(
        student, [chk("attn", "shape", 1), chk("lstm", "h_seq shape", 0, 2, message="wrong")], mode="check"
    )


def error_result(student="broken"):
    return make(student, error="notebook is not valid JSON: line 3")


def nasty():
    return make(
        NASTY_ID,
        [chk("attn", "shape <b>", 0, message=f"bad {SCRIPT}"), chk("lstm", "h_seq shape", 2, 2)],
        notes=[f"note {SCRIPT}"],
        cell_errors=[{"cell": 3, "ename": "ValueError", "evalue": SCRIPT, "line": "x = '<script>'"}],
    )


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag=None, cls=None, **attrs):
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (
                    (tag is None or c.tag == tag)
                    and (cls is None or cls in c.classes)
                    and all(c.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
                ):
                    out.append(c)
                out.extend(c.find_all(tag, cls, **attrs))
        return out

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]


class TreeBuilder(HTMLParser):
    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in self.VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def words(text: str) -> str:
    return " ".join(text.split())


def question_section(doc: Node, qid: str) -> Node:
    return doc.find("section", data_question=qid)


def summary(results, **kw):
    return render_class_summary(
        results, title=kw.get("title", "HW3 summary"), question_ids=["attn", "lstm"], question_titles=TITLES
    )


# ---------------------------------------------------------------------------------------------- feedback


def test_environment_autoescapes():
    assert environment().autoescape


@pytest.mark.parametrize(
    ("factory", "expected"),
    [(full_marks, "4 / 4 (100%)"), (zero, "0 / 4 (0%)"), (partial, "2.5 / 4 (62.5%)")],
)
def test_feedback_header_shows_score_and_percentage(factory, expected):
    doc = parse(render_feedback(factory()))
    assert words(doc.find("dd", cls="score").text()) == expected


def test_feedback_header_shows_assignment_and_student():
    doc = parse(render_feedback(full_marks("stud42")))
    assert doc.find("h1").text() == "HW3"
    assert doc.find("dd", cls="student").text() == "stud42"


@pytest.mark.parametrize(("factory", "shown"), [(check_mode, True), (full_marks, False)])
def test_self_check_note_only_in_check_mode(factory, shown):
    assert (SELF_CHECK in render_feedback(factory())) is shown


def test_error_is_shown_as_alert():
    doc = parse(render_feedback(error_result()))
    alert = doc.find("section", role="alert")
    assert "notebook is not valid JSON: line 3" in alert.text()
    assert doc.find("dd", cls="score").text() == "not graded"


def test_error_result_lists_no_empty_questions():
    doc = parse(render_feedback(error_result()))
    assert doc.find_all("section", cls="question") == []


def test_notes_are_listed():
    doc = parse(render_feedback(make(notes=["cell 7 ran past its 60 s limit and was interrupted"])))
    notes = doc.find("section", cls="notes")
    assert "cell 7 ran past its 60 s limit and was interrupted" in notes.text()


def test_cell_errors_are_listed_without_traceback():
    result = make(cell_errors=[{"cell": 7, "ename": "ValueError", "evalue": "bad shape", "line": "y = f(x)"}])
    html = render_feedback(result)
    section = parse(html).find("section", cls="cell-errors")
    assert "Cells that raised while your notebook ran" in section.text()
    assert "Cell 7 raised ValueError: bad shape" in section.text()
    assert section.find("code").text() == "y = f(x)"
    assert "Traceback" not in html


@pytest.mark.parametrize(
    ("factory", "qid", "points"),
    [
        (full_marks, "attn", "2 / 2"),
        (full_marks, "lstm", "2 / 2"),
        (zero, "attn", "0 / 2"),
        (partial, "attn", "1 / 2"),
        (partial, "lstm", "1.5 / 2"),
    ],
)
def test_each_question_has_a_section_with_points(factory, qid, points):
    section = question_section(parse(render_feedback(factory())), qid)
    assert section.find("p", cls="q-score").find("strong").text() == points
    assert TITLES[qid] in section.find("h2").text()


@pytest.mark.parametrize(
    ("factory", "qid", "label"),
    [(full_marks, "attn", "passed"), (zero, "attn", "failed"), (partial, "lstm", "partial")],
)
def test_question_badge_is_text(factory, qid, label):
    section = question_section(parse(render_feedback(factory())), qid)
    assert section.find("p", cls="q-score").find("span", cls="badge").text() == label


def test_question_without_checks_still_appears():
    result = make(checks=[chk("attn", "shape", 1)])
    section = question_section(parse(render_feedback(result)), "lstm")
    assert section.find("p", cls="q-score").find("strong").text() == "0 / 0"


def test_distinct_messages_shown_once():
    doc = parse(render_feedback(zero()))
    messages = question_section(doc, "attn").find_all("p", cls="message")
    assert [m.text() for m in messages] == ["NotImplementedError: implement me"]


def test_repeated_message_appears_once_in_page():
    assert render_feedback(zero()).count("NotImplementedError: implement me") == 1


def test_failed_checks_refer_to_the_message():
    refs = question_section(parse(render_feedback(zero())), "attn").find_all("span", cls="ref")
    assert len(refs) == 2


def test_multiline_message_keeps_line_breaks():
    message = question_section(parse(render_feedback(zero())), "lstm").find("p", cls="message")
    assert message.text() == "expected (4, 10)\ngot (10, 4)"
    assert "pre" in message.classes


def test_pre_wrap_style_present():
    assert "white-space: pre-wrap" in render_feedback(zero())


@pytest.mark.parametrize(("factory", "n_checks"), [(full_marks, 3), (with_hidden, 4), (check_mode, 2)])
def test_every_check_is_listed(factory, n_checks):
    assert len(parse(render_feedback(factory())).find_all("li", cls="check")) == n_checks


@pytest.mark.parametrize(("factory", "n_hidden"), [(with_hidden, 2), (check_mode, 0)])
def test_hidden_checks_are_marked(factory, n_hidden):
    tags = parse(render_feedback(factory())).find_all("span", cls="tag")
    assert [t.text() for t in tags] == ["hidden"] * n_hidden


@pytest.mark.parametrize(
    ("status", "label"), [("failed", "failed"), ("error", "could not run"), ("skipped", "skipped")]
)
def test_check_status_label(status, label):
    result = make(checks=[chk("attn", "shape", 0, message="m", status=status)])
    check = parse(render_feedback(result)).find("li", cls="check")
    assert label in check.find("span", cls="badge").text()


def test_feedback_escapes_untrusted_text():
    html = render_feedback(nasty())
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_feedback_escaped_text_reads_back_verbatim():
    doc = parse(render_feedback(nasty()))
    assert doc.find("dd", cls="student").text() == NASTY_ID
    assert f"bad {SCRIPT}" in [m.text() for m in doc.find_all("p", cls="message")]
    assert doc.find("span", cls="check-name").text() == "shape <b>"


@pytest.mark.parametrize("factory", [full_marks, zero, partial, error_result, check_mode, nasty])
def test_feedback_is_self_contained(factory):
    doc = parse(render_feedback(factory()))
    assert doc.find_all("script") == []
    assert doc.find_all("link") == []
    assert doc.find_all("img") == []
    assert len(doc.find_all("style")) == 1


def test_write_feedback(tmp_path):
    path = tmp_path / "feedback" / "s1.html"
    write_feedback(partial("s1"), path)
    assert path.read_text(encoding="utf-8") == render_feedback(partial("s1"))


# ---------------------------------------------------------------------------------------------- summary


def class_results():
    return [partial("carol"), full_marks("alice"), zero("bob"), error_result("dave")]


def score_rows(doc: Node) -> list[Node]:
    return doc.find("table", cls="scores").find("tbody").find_all("tr")


def test_summary_counts_submissions():
    doc = parse(summary(class_results()))
    assert doc.find("dd", cls="count").text() == "4"


@pytest.mark.parametrize(
    ("label", "value"), [("Mean", "2.17"), ("Median", "2.5"), ("Min", "0"), ("Max", "4")]
)
def test_summary_statistics_cover_graded_results(label, value):
    doc = parse(summary(class_results()))
    stats = {
        d.find("dt").text(): d.find("dd").text().split()[0]
        for d in doc.find("dl", cls="facts").find_all("div")
    }
    assert stats[label] == value


def test_histogram_has_one_bar_per_bin():
    svg = parse(summary(class_results())).find("svg", cls="histogram")
    assert len(svg.find_all("rect", cls="hist-bar")) == 10


def test_histogram_has_axis_titles():
    texts = [t.text() for t in parse(summary(class_results())).find("svg").find_all("text", cls="axis-title")]
    assert texts == ["Score (%)", "Students"]


@pytest.mark.parametrize(
    ("percents", "counts"),
    [
        ([0, 9.99, 10, 100], [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]),
        ([95, 100, 100], [0] * 9 + [3]),
        ([], [0] * 10),
    ],
)
def test_histogram_binning(percents, counts):
    assert [b["count"] for b in histogram(percents).bars] == counts


@pytest.mark.parametrize(("qid", "mean", "rate"), [("attn", "1", "33.3%"), ("lstm", "1.17", "33.3%")])
def test_question_table_pass_rate_and_mean(qid, mean, rate):
    row = parse(summary(class_results())).find("table", cls="questions").find("tr", data_question=qid)
    cells = row.find_all("td")
    assert cells[1].text() == mean
    assert cells[2].text().split()[0] == rate


def test_score_table_is_sorted_by_student():
    rows = score_rows(parse(summary(class_results())))
    assert [r.attrs["data-student"] for r in rows] == ["alice", "bob", "carol", "dave"]


def test_score_table_has_per_question_points():
    row = next(r for r in score_rows(parse(summary(class_results()))) if r.attrs["data-student"] == "carol")
    assert [c.text() for c in row.find_all("td")[1:3]] == ["1", "1.5"]


def test_score_table_flags_error():
    row = next(r for r in score_rows(parse(summary(class_results()))) if r.attrs["data-student"] == "dave")
    assert "could not be graded: notebook is not valid JSON: line 3" in words(
        row.find("td", cls="flag").text()
    )


def test_score_table_links_to_quoted_feedback():
    link = parse(summary([nasty()])).find("a", cls="student-id")
    assert link.attrs["href"] == "feedback/a%26b%22c.html"
    assert link.text() == NASTY_ID


def test_summary_escapes_title_and_student():
    html = summary([nasty()], title=f"HW {SCRIPT}")
    assert "<script" not in html
    assert "a&amp;b&#34;c" in html


def test_write_class_summary(tmp_path):
    path = tmp_path / "index.html"
    write_class_summary(
        class_results(), path, title="T", question_ids=["attn", "lstm"], question_titles=TITLES
    )
    assert parse(path.read_text(encoding="utf-8")).find("h1").text() == "T"
