"""Unit tests for gradekit.report: feedback page and class summary (HTML parsed with html.parser)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from html.parser import HTMLParser

import pytest

from gradekit.mathml import latex_to_mathml, render_answer, render_latex
from gradekit.report import (
    check_status,
    environment,
    histogram,
    render_class_summary,
    render_feedback,
    root_errors,
    script_hash,
    sort_script,
    write_class_summary,
    write_feedback,
)
from gradekit.results import Cause, CheckResult, Reading, Review, SubmissionResult

SELF_CHECK = "Self-check: "
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


def test_a_cell_that_raised_is_named_by_what_jupyter_shows_of_it():
    result = make(cell_errors=[{"cell": 7, "ename": "ValueError", "evalue": "bad", "line": "y = f(x)", "in_count": 4,
                                "starts": "# Q3: the model"}])
    section = parse(render_feedback(result)).find("section", cls="cell-errors")
    assert section.find("small", cls="landmark").text() == "(In [4], the cell starting `# Q3: the model`)"


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
    assert [c.text() for c in row.find_all("td")[2:4]] == ["1", "1.5"]


def test_score_table_flags_error():
    row = next(r for r in score_rows(parse(summary(class_results()))) if r.attrs["data-student"] == "dave")
    flag = row.find("td", cls="flag").find("span", cls="chip")
    assert flag.text() == "could not be graded"
    assert flag.attrs["title"] == "notebook is not valid JSON: line 3"


def attention(doc: Node, group: str) -> list[tuple[str, list[str], list[str]]]:
    """(student, flag labels, explanations) per row of the Needs-attention group `group` (its h3's first word)."""
    section = doc.find("section", cls="attention")
    heads = [h for h in section.find_all("h3") if h.text().startswith(group)]
    if not heads:
        return []
    lists = section.find_all("ul", cls="attention-list")
    ul = lists[section.find_all("h3").index(heads[0])]
    return [(li.attrs["data-student"], [c.text() for c in li.find_all(cls="chip")],
             [p.text() for p in li.find_all("p", cls="why")]) for li in ul.find_all("li")]


def test_the_first_screen_says_who_needs_a_ta_and_why():
    """Could not be graded first, with the reason; answers awaiting a TA linked to the queue."""
    results = [*class_results(), written("erin")]
    doc = parse(render_class_summary(results, title="T", question_ids=["attn", "lstm", "essay"],
                                     question_titles=TITLES))
    assert attention(doc, "Needs you") == [("dave", ["could not be graded"], ["notebook is not valid JSON: line 3"]),
                                           ("erin", ["1 answer awaiting a TA"], [])]
    link = doc.find("section", cls="attention").find("a", cls="chip")
    assert link.attrs["href"] == "#needs-ta"


def test_worth_a_look_holds_stopped_cells_and_errors_that_are_not_unwritten_parts():
    stopped = make("sam", [chk("attn", "shape", 1)], notes=["cell 7 ran past its 60 s limit and was interrupted"])
    crashed = make("cal", [chk("attn", "shape", 0)], cell_errors=[
        {"cell": 4, "ename": "NotImplementedError", "evalue": ""},
        {"cell": 9, "ename": "KeyError", "evalue": "'label'"}])
    unwritten = make("tim", [chk("attn", "shape", 0)], cell_errors=[
        {"cell": 4, "ename": "NotImplementedError"},
        {"cell": 6, "ename": "NameError", "evalue": "name 'm' is not defined"}])
    doc = parse(summary([stopped, crashed, unwritten]))
    assert attention(doc, "Worth a look") == [
        ("sam", ["cell 7 ran past its 60 s limit and was interrupted"], []),
        ("cal", ["1 cell raised"], ["Cell 9 raised KeyError: 'label'"])]
    assert attention(doc, "Needs you") == []


@pytest.mark.parametrize(("errors", "roots"), [
    (["NotImplementedError", "NameError", "NameError"], []),
    (["AttributeError", "NameError", "NameError"], ["AttributeError"]),
    (["NameError", "KeyError"], ["NameError", "KeyError"]),  # a NameError of its own: the first to raise
    (["SyntaxError", "NotImplementedError", "TypeError"], ["SyntaxError", "TypeError"]),
])
def test_root_errors_leave_out_unwritten_parts_and_their_consequences(errors, roots):
    cell_errors = [{"cell": i, "ename": e} for i, e in enumerate(errors)]
    assert [e["ename"] for e in root_errors(cell_errors)] == roots


def test_a_class_with_nothing_to_look_at_says_so():
    section = parse(summary([full_marks("a"), zero("b")])).find("section", cls="attention")
    assert section.find_all("li") == []
    assert section.find("p").text().startswith("Nobody:")


def test_score_table_links_to_quoted_feedback():
    link = parse(summary([nasty()])).find("a", cls="student-id")
    assert link.attrs["href"] == "feedback/a%26b%22c.html"
    assert link.text() == NASTY_ID


def test_summary_escapes_title_and_student():
    html = summary([nasty()], title=f"HW {SCRIPT}")
    assert html.count("<script") == 1  # the page's own, which sorts the table
    assert "a&amp;b&#34;c" in html and "HW &lt;script&gt;" in html


def test_the_summary_runs_only_its_own_script():
    """Its Content-Security-Policy admits the sorting script by its hash: text that slipped past escaping into a
    script could not run."""
    doc = parse(summary(class_results()))
    [script] = doc.find_all("script")
    assert script.text() == sort_script()
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert f"script-src '{script_hash(sort_script())}'" in csp and "default-src 'none'" in csp
    assert script_hash("alert(1)") not in csp


def test_score_table_cells_carry_what_they_sort_by():
    rows = {r.attrs["data-student"]: r for r in score_rows(parse(summary(class_results())))}
    assert [c.attrs.get("data-sort") for c in rows["carol"].find_all("td")] == ["62.5", "0", "1", "1.5"]
    assert [c.attrs.get("data-sort") for c in rows["dave"].find_all("td")] == ["-1", "1", "-1", "-1"]


def test_write_class_summary(tmp_path):
    path = tmp_path / "index.html"
    write_class_summary(
        class_results(), path, title="T", question_ids=["attn", "lstm"], question_titles=TITLES
    )
    assert parse(path.read_text(encoding="utf-8")).find("h1").text() == "T"


# ---------------------------------------------------------------------------------------------- written answers

W_TITLES = {"attn": "Attention", "essay": "Why attention?", "math": "Closed form"}
READING = {"answer": r"\sigma(1000 (x_2 - x_1) + h_0)", "parsed": r"\sigma\left(1000 \left(x_{2} - x_{1}\right)\right)",
           "example": r"at T = 4: \sigma\left(1000 \left(- x_{1} + x_{2} - x_{3} + x_{4}\right) + h_{0}\right)"}
MATHML_TAGS = {"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
               "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
               "menclose"}
# What a browser draws from; no href (Firefox follows it on MathML elements), no style, no event handlers.
MATHML_ATTRIBUTES = {"xmlns", "display", "mathvariant", "stretchy", "mathcolor", "mathbackground", "fence",
                     "separator", "notation", "columnalign", "scriptlevel", "displaystyle", "accent", "linebreak",
                     "width", "lspace", "rspace", "height", "depth", "voffset", "movablelimits", "largeop",
                     "rowspacing", "columnspacing", "columnlines", "rowlines", "minsize", "maxsize"}


def review_check(answer, *, question="essay", name="explain", max_points=2.0, kind="free_text", reading=None,
                 reviewed=False, points=0.0, comment=""):
    review = Review(kind=kind, answer=answer, rubric="1 point: mentions $\\mathrm{softmax}$", reason="free text",
                    answer_sha=hashlib.sha256(answer.encode()).hexdigest(), reviewed=reviewed, comment=comment)
    reading = Reading(**reading) if isinstance(reading, dict) else reading
    if not reviewed:
        return CheckResult(question, name, 0.0, max_points, "needs_review", "A TA will grade this answer.",
                           review=review, reading=reading)
    passed = points >= max_points
    return CheckResult(question, name, points, max_points, "passed" if passed else "failed",
                       f"TA: {comment}" if comment else "graded by a TA", review=review, reading=reading)


def written(student="w1", answer="Softmax of $q \\cdot k$ weighs the values.", **kw):
    return SubmissionResult(student=student, assignment="HW3", question_titles=dict(W_TITLES),
                            checks=[chk("attn", "shape", 1), review_check(answer, **kw)])


def math_read(student="m1", passed=True):
    check = chk("math", "closed form", 2 if passed else 0, 2, message="" if passed else "differs at T = 4")
    check = dataclasses.replace(check, reading=Reading(**READING))
    return SubmissionResult(student=student, assignment="HW3", question_titles=dict(W_TITLES),
                            checks=[chk("attn", "shape", 1), check])


def w_summary(results):
    return render_class_summary(results, title="HW3", question_ids=list(W_TITLES), question_titles=W_TITLES,
                                rerun_command="grade batch subs --assignment hw3 --out out --resume")


def active_html(doc: Node) -> list[str]:
    """Everything in a page that could run or load something."""
    found = []
    for node in doc.find_all():
        if node.tag in {"script", "iframe", "object", "embed", "img", "svg", "a", "form", "base", "link", "meta"}:
            found.append(node.tag)
        found.extend(f"{node.tag}[{name}]" for name in node.attrs if name.startswith("on") or name in
                     {"style", "href", "src", "xlink:href", "action"})
    return found


@pytest.mark.parametrize(("latex", "tag"), [("x^2", "msup"), (r"\frac{a}{b}", "mfrac"), (r"\sqrt{d}", "msqrt")])
def test_latex_becomes_mathml(latex, tag):
    doc = parse(render_latex(latex))
    assert doc.find("math").attrs["xmlns"] == "http://www.w3.org/1998/Math/MathML"
    assert doc.find(tag)


def test_answer_markdown_paragraphs_line_breaks_and_math():
    doc = parse(render_answer("First line\nsecond line with $x_1$\n\nNew paragraph:\n$$\\frac{1}{2}$$ and \\$5"))
    paragraphs = doc.find("div", cls="answer").find_all("p")
    assert len(paragraphs) == 2
    assert paragraphs[0].find_all("br") and paragraphs[0].find("msub")
    assert paragraphs[1].find("math").attrs["display"] == "block"
    assert paragraphs[1].text().endswith("and $5")


@pytest.mark.parametrize("text", [r"cost $5 and $10 in total", "no math here"])
def test_answer_without_math_is_plain_text(text):
    doc = parse(render_answer(text))
    assert doc.find_all("math") == [] and doc.find("p").text() == text


@pytest.mark.parametrize("text", [r"\(a+b\) and \[c\]", r"$a+b$ and $$c$$"])
def test_answer_math_delimiters(text):
    assert len(parse(render_answer(text)).find_all("math")) == 2


def test_unrenderable_latex_falls_back_to_its_source():
    doc = parse(render_answer(r"broken: $\frac{$ end"))
    assert doc.find_all("math") == []
    assert "\\frac{" in doc.text()
    doc = parse(render_latex(r"\frac{"))
    assert doc.find("code", cls="latex-src").text() == r"\frac{"


HOSTILE = [
    r"$\text{<script>alert(1)</script>}$",
    "<img src=x onerror=alert(1)> outside math",
    r"$\href{javascript:alert(1)}{click}$",
    r"$\style{position:fixed;top:0}{x}$",
    r"$\mathrm{<b onmouseover=alert(1)>x</b>}$",
    r"$\text{\"><svg onload=alert(1)>}$",
    r"$\text{&lt;script&gt;}$ and $\text{&#x3C;script&#x3E;}$",
    r"$$\begin{matrix}<script>&x\\y\end{matrix}$$",
    r"$\colorbox{url(javascript:alert(1))}{x}$ $\color{red;background:url(x)}{y}$",
    "</p></div><script>alert(1)</script>",
    r"$\operatorname{<iframe src=javascript:alert(1)>}$",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_answers_never_produce_active_html(text):
    html = str(render_answer(text))
    doc = parse(html)
    assert active_html(doc) == []
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<svg" not in html.lower()
    for node in doc.find_all():
        assert node.tag in MATHML_TAGS | {"div", "p", "br", "span", "code"}, node.tag
        assert set(node.attrs) <= MATHML_ATTRIBUTES | {"class", "title"}, node.attrs


def test_mathml_attribute_values_are_restricted():
    assert "url(" not in (latex_to_mathml(r"\colorbox{url(x)}{w}") or "")
    assert 'mathcolor="red"' in latex_to_mathml(r"\color{red}{z}")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_answers_are_inert_in_both_pages(text):
    result = written("evil", text, reading={"answer": text, "parsed": text, "example": text})
    for page in (render_feedback(result), w_summary([result])):
        doc = parse(page)
        assert [s.text() for s in doc.find_all("script")] in ([], [sort_script()])  # none, or the summary's own
        assert doc.find_all("img") == [] and doc.find_all("iframe") == []
        assert all(not name.startswith("on") for n in doc.find_all() for name in n.attrs)
        assert all("javascript" not in (n.attrs.get("href") or "") for n in doc.find_all("a"))
        for math in doc.find_all("math"):
            assert {name for n in [math, *math.find_all()] for name in n.attrs} <= MATHML_ATTRIBUTES


@pytest.mark.parametrize(
    ("check", "label"),
    [
        (review_check("a"), "awaiting TA"),
        (review_check("a", reviewed=True, points=2.0), "graded by TA"),
        (review_check("a", reviewed=True, points=1.0), "graded by TA"),
    ],
)
def test_check_status_for_written_answers(check, label):
    assert check_status(check)[1] == label


def test_feedback_pending_answer_awaits_a_ta():
    doc = parse(render_feedback(written()))
    section = question_section(doc, "essay")
    assert section.find("p", cls="q-score").find("span", cls="badge").text() == "awaiting TA"
    assert section.find_all("div", cls="fix") == []  # nothing to fix yet
    check = section.find("li", cls="check")
    assert "awaiting TA" in check.find("span", cls="badge").text()
    assert "A TA will grade this answer (up to 2 points); it counts 0 until then." in words(check.text())
    assert check.find("div", cls="answer").find("math")  # the student sees their answer as the TA will
    assert "1 written answer awaits a TA" in doc.find("p", cls="awaiting-ta").text()
    assert "1 point: mentions" not in render_feedback(written())  # the rubric is for staff


def test_feedback_reviewed_answer_shows_ta_points_and_comment():
    doc = parse(render_feedback(written(reviewed=True, points=1.5, comment="name the scaling")))
    section = question_section(doc, "essay")
    assert section.find("p", cls="q-score").find("span", cls="badge").text() == "partial"
    assert [m.text() for m in section.find_all("p", cls="message")] == ["TA: name the scaling"]
    check = section.find("li", cls="check")
    assert "graded by TA" in check.find("span", cls="badge").text()
    assert "Graded by a TA: 1.5 / 2 points." in words(check.text())
    assert doc.find_all("p", cls="awaiting-ta") == []


@pytest.mark.parametrize("passed", [True, False])
def test_feedback_shows_how_a_math_answer_was_read(passed):
    reading = parse(render_feedback(math_read(passed=passed))).find("div", cls="reading")
    assert "How your answer was read" in reading.text()
    assert reading.find("code", cls="latex-src").text() == READING["answer"]
    assert reading.find("dd", cls="parsed").find("math")
    example = reading.find("dd", cls="example")
    assert example.text().startswith("at T = 4: ") and example.find("math").find("msub")


@pytest.mark.parametrize(
    ("example", "words_", "tag"),
    [
        ("reduces to O(n^2 d)", "reduces to ", "msup"),
        (r"\frac{1}{2}", "", "mfrac"),
        ("at T = 6: x_{1}", "at T = 6: ", "msub"),
    ],
)
def test_reading_example_words_stay_text_and_the_value_is_math(example, words_, tag):
    result = math_read()
    check = result.checks[1]
    result.checks[1] = dataclasses.replace(check, reading=dataclasses.replace(check.reading, example=example))
    dd = parse(render_feedback(result)).find("dd", cls="example")
    assert dd.children[0] == words_ if words_ else isinstance(dd.children[0], Node)
    assert dd.find(tag)


@pytest.mark.parametrize(("passed", "hint"), [(True, False), (False, True)])
def test_reading_hint_only_when_the_answer_did_not_pass(passed, hint):
    reading = parse(render_feedback(math_read(passed=passed))).find("div", cls="reading")
    assert bool(reading.find_all("p", cls="hint")) is hint


def test_ta_grade_without_comment_is_said_once():
    doc = parse(render_feedback(written(reviewed=True, points=2.0)))
    check = question_section(doc, "essay").find("li", cls="check")
    assert "graded by TA" in check.find("span", cls="badge").text()
    assert check.find_all("span", cls="check-msg") == []
    assert words(check.text()).count("raded by a TA") == 1


def test_feedback_without_reading_has_no_reading_block():
    assert parse(render_feedback(full_marks())).find_all("div", cls="reading") == []


def test_summary_needs_a_ta_section_lists_pending_answers():
    results = [written("alice"), written("bob", "plain text", reviewed=True, points=2.0, comment="good"), full_marks()]
    doc = parse(w_summary(results))
    section = doc.find("section", id="needs-ta")
    how = section.find("div", cls="how-to")
    assert how.find("a").attrs["href"] == "ta_review.csv"
    assert "grade batch subs --assignment hw3 --out out --resume" in how.text()
    assert "student,question,check,max_points,points,comment,note,answer_sha,answer" in how.text()
    items = section.find_all("article", cls="review-item")
    assert [i.attrs["data-student"] for i in items] == ["alice"]
    item = items[0]
    assert item.find("a", cls="student-id").attrs["href"] == "feedback/alice.html"
    assert "Why attention?" in item.text() and "explain" in item.text() and "max 2 points" in item.text()
    assert item.find("div", cls="answer").find("math")
    assert item.find("dd", cls="rubric").find("math")
    assert item.find("dd", cls="reason").text() == "free text"
    assert "alice,essay,explain" in item.text()
    done = section.find("details", cls="reviewed")
    assert "Graded by a TA (1)" in done.text()
    row = done.find("tr", data_student="bob")
    assert [words(td.text()) for td in row.find_all("td")][3:] == ["2 / 2", "good"]
    assert doc.find("dd", cls="awaiting").text().split()[0] == "1"


def test_summary_math_item_shows_the_machine_reading():
    result = written("m", "$$x_1 + \\dots + x_T$$", question="math", kind="math", reading=dict(READING))
    item = parse(w_summary([result])).find("article", cls="review-item")
    assert "Read by the grader as" in item.text()
    example = item.find("span", cls="example")
    assert example.text().startswith("at T = 4: ") and example.find("math")


def test_summary_without_written_answers_has_no_ta_section():
    assert parse(summary(class_results())).find_all("section", id="needs-ta") == []


def test_pass_rate_leaves_out_answers_awaiting_a_ta():
    results = [written("a"), written("b", reviewed=True, points=2.0), written("c", reviewed=True, points=0.0)]
    row = parse(w_summary(results)).find("table", cls="questions").find("tr", data_question="essay")
    cells = row.find_all("td")
    assert cells[1].text() == "1"  # mean of 2 and 0; the pending 0 is not counted
    assert words(cells[2].text()) == "50% (1/2) 1 awaiting a TA"


def test_score_table_flags_answers_awaiting_a_ta():
    row = score_rows(parse(w_summary([written("a")])))[0]
    assert "1 answer awaiting a TA" in row.find("td", cls="flag").text()


def test_feedback_heading_is_the_assignments_title_not_its_folder_name():
    result = full_marks("stud42")
    result.assignment_title = "Homework 3: attention"
    doc = parse(render_feedback(result))
    assert doc.find("h1").text() == "Homework 3: attention"
    assert SubmissionResult.from_dict(result.to_dict()).assignment_title == "Homework 3: attention"


def test_routine_notes_are_said_once_quietly_not_as_a_warning():
    """"Downloads were replaced by the course's offline set-up" is how the course runs every notebook: not in
    the yellow box of things that went wrong, but in a closed list at the end of the page."""
    result = full_marks("stud42")
    result.routine_notes = ["cell 3: downloads (e.g. from_pretrained) were replaced by the course's offline set-up"]
    page = render_feedback(result)
    assert "Notes about this run" not in page
    details = page[page.index('<details class="routine-notes">'):]
    assert "How your notebook was run (1 note, nothing to fix)" in details and "cell 3: downloads" in details
    assert SubmissionResult.from_dict(result.to_dict()).routine_notes == result.routine_notes


# ---------------------------------------------------------------------------------------------- one cause, said once

FORWARD = Cause("Transformer has no forward method", "Is `def forward` indented inside `__init__`?")


def caused(question, name, call, cause=FORWARD):
    return dataclasses.replace(chk(question, name, 0, message=f"{call} failed: {cause.summary}. {cause.fix}"),
                               cause=cause)


def one_mistake_everywhere():
    """The ViT seed's shape: one indentation mistake fails two checks under one question and one under another."""
    return make("seed", [chk("attn", "shape", 1), caused("attn", "forward a", "Transformer(16, 1).forward"),
                         caused("attn", "forward b", "Transformer(16, 3).forward"),
                         caused("lstm", "learning", "training ViT with your train_epoch"),
                         chk("lstm", "own mistake", 0, message="h_seq has the wrong shape")])


def test_checks_failing_for_one_cause_share_one_line_to_fix():
    attn = one_mistake_everywhere().questions()[0]
    assert attn.messages == ["Transformer(16, 1).forward failed: Transformer has no forward method. "
                             "Is `def forward` indented inside `__init__`?"]
    assert [attn.message_index(c) for c in attn.checks] == [None, 0, 0]


def test_a_cause_said_under_an_earlier_question_gets_one_line_pointing_back():
    lstm = one_mistake_everywhere().questions()[1]
    assert lstm.messages == ["the same mistake as under Attention: Transformer has no forward method",
                             "h_seq has the wrong shape"]


def test_the_feedback_page_starts_with_the_mistake_behind_several_questions():
    doc = parse(render_feedback(one_mistake_everywhere()))
    box = doc.find("section", cls="start-here")
    [cause] = box.find_all("li", cls="cause")
    assert cause.find("strong").text() == "Transformer has no forward method"
    assert [a.text() for a in cause.find_all("a")] == ["Attention", "LSTM cell"]
    assert words(doc.text()).count("Transformer(16, 3).forward") == 0  # the second check's copy is not repeated


def test_no_start_here_when_each_mistake_stays_in_its_question():
    result = make("s", [caused("attn", "a", "f()"), caused("attn", "b", "g()")])
    assert parse(render_feedback(result)).find_all("section", cls="start-here") == []
    assert result.shared_causes() == []


def test_a_notebook_that_could_not_be_graded_says_why_once_not_under_every_question():
    error = "your notebook could not be read: it is not valid JSON (line 3)"
    checks = [dataclasses.replace(chk(q, "c", 0, message=error), cause=Cause(error)) for q in ("attn", "lstm")]
    result = make("s", checks, error=error)
    assert [q.messages for q in result.questions()] == [
        ["not checked: the notebook could not be graded (see above)"]] * 2
    assert result.shared_causes() == []
    assert render_feedback(result).count("it is not valid JSON") == 1


def test_a_cause_survives_the_results_json():
    check = caused("attn", "forward a", "Transformer(16, 1).forward")
    assert CheckResult.from_dict(json.loads(json.dumps(check.to_dict()))) == check


# ---------------------------------------------------------------------------------------------- where to look first

def learning_after_a_wrong_lstm(learning_passed=False):
    learning = dataclasses.replace(chk("lstm", "learns", 1 if learning_passed else 0, 1,
                                       message="classified 55% correctly; the threshold is 80%"),
                                   builds_on=("attn", "essay"))
    return make("s", [chk("attn", "shape", 0, message="wrong shape"), learning])


def test_a_failed_check_points_to_the_questions_it_builds_on_that_lost_points():
    result = learning_after_a_wrong_lstm()
    attn, lstm = result.questions()
    assert result.may_explain(lstm) == [attn]  # essay has no checks here: nothing lost there
    assert result.may_explain(attn) == []
    note = parse(render_feedback(result)).find("p", cls="may-explain")
    assert note.find("a").attrs["href"] == "#q1-attn" and note.find("a").text() == "Attention"
    assert "(0 / 1)" in note.text()


def test_a_passed_check_points_nowhere():
    result = learning_after_a_wrong_lstm(learning_passed=True)
    assert result.may_explain(result.questions()[1]) == []
    assert parse(render_feedback(result)).find_all("p", cls="may-explain") == []


def test_builds_on_survives_the_results_json():
    check = learning_after_a_wrong_lstm().checks[1]
    assert CheckResult.from_dict(json.loads(json.dumps(check.to_dict()))).builds_on == ("attn", "essay")
