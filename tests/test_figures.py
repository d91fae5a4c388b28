"""Figures on check results: PNGs from notebooks are checked and stripped, SVG only from the host, both survive
the results JSON, and the feedback page draws them as data-URI images inside one self-contained file."""

import base64
import re
import struct
import zlib

import pytest

from gradekit.figures import (
    MAX_PNG_BYTES,
    PNG_SIGNATURE,
    Figure,
    FigureError,
    Panel,
    Series,
    clean_png,
    confusion_matrix,
    line_chart,
    output_figures,
)
from gradekit.report import render_feedback
from gradekit.results import CheckResult, SubmissionResult


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 2, height: int = 2, extra: bytes = b"") -> bytes:
    """A real 8-bit grey PNG: one filter byte and `width` pixels per row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(i % 256 for i in range(width)) for _ in range(height)))
    return PNG_SIGNATURE + chunk(b"IHDR", header) + extra + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_a_png_keeps_its_pixels_and_loses_its_text_chunks():
    note = chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>")
    cleaned = clean_png(png(extra=note))
    assert cleaned == png()
    assert b"script" not in cleaned


def test_the_cleaned_png_still_decodes():
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(clean_png(png(5, 3, chunk(b"tEXt", b"a\x00b")))))
    assert image.size == (5, 3)


@pytest.mark.parametrize("data, words", [
    (b"GIF89a" + b"\x00" * 20, "not a PNG"),
    (png()[:30], "truncated"),
    (png().replace(b"IDAT", b"IDAx", 1), "checksum"),
    (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)) + chunk(b"IEND", b""),
     "no image data"),
    (png(5000, 1), "5000 x 1 pixels"),
    (PNG_SIGNATURE + b"\x00" * (MAX_PNG_BYTES + 1), "limit"),
])
def test_a_bad_png_is_refused_with_a_reason(data, words):
    with pytest.raises(FigureError, match=words):
        clean_png(data)


def test_figure_refuses_a_kind_it_does_not_draw_and_unchecked_png_bytes():
    with pytest.raises(FigureError):
        Figure("x", "html", b"<script></script>")
    with pytest.raises(FigureError):
        Figure("x", "png", b"<svg onload=alert(1)>")


def test_notebook_outputs_give_png_figures_and_name_what_is_not_shown():
    outputs = [
        {"output_type": "display_data", "data": {"image/png": base64.b64encode(png()).decode() + "\n",
                                                  "text/plain": "<Figure>"}},
        {"output_type": "display_data", "data": {"image/svg+xml": "<svg onload='alert(1)'/>"}},
        {"output_type": "display_data", "data": {"image/jpeg": "AAAA"}},
        {"output_type": "display_data", "data": {"image/png": "not base64!"}},
        {"output_type": "stream", "text": "hello"},
    ]
    figures, problems = output_figures(outputs, "your curves")
    assert [f.title for f in figures] == ["your curves"] and figures[0].data == png()
    assert len(problems) == 3
    assert "SVG" in problems[0] and "only PNG" in problems[1] and "base64" in problems[2]


def test_line_chart_escapes_its_labels_and_skips_numbers_that_are_not_finite():
    figure = line_chart("loss <b>", [Panel("a & b", (Series("<script>", (0.5, float("nan"), 0.2)),))])
    svg = figure.data.decode()
    assert figure.kind == "svg" and svg.startswith("<svg")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert "nan" not in svg.lower()


def test_figures_round_trip_through_the_results_json(tmp_path):
    chart = line_chart("re-run", [Panel("loss", (Series("SGD", (0.7, 0.69)),))], caption="the graders' run")
    check = CheckResult("q", "curves", 1, 1, "passed", figures=(Figure.from_png(png(), "yours"), chart))
    result = SubmissionResult("alice", "hw", [check, CheckResult("q", "plain", 1, 1, "passed")])
    result.write_json(tmp_path / "r.json")
    back = SubmissionResult.read_json(tmp_path / "r.json")
    assert back.checks[0].figures == check.figures
    assert back.checks[1].figures == ()
    assert "figures" not in result.to_dict()["checks"][1]  # results without pictures read as before


def test_the_feedback_page_draws_figures_inline_as_images():
    chart = line_chart("re-run <i>", [Panel("loss", (Series("SGD", (0.7, 0.69)),))])
    check = CheckResult("q", "curves", 1, 1, "passed", figures=(Figure.from_png(png(), "yours"), chart))
    page = render_feedback(SubmissionResult("alice", "hw", [check], question_titles={"q": "Q"}))
    assert page.count("<img ") == 2
    assert f'src="data:image/png;base64,{base64.b64encode(png()).decode()}"' in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert "<svg" not in page  # the host's SVG travels inside the data URI, never as markup in the page
    assert "re-run &lt;i&gt;" in page  # the title, escaped as text


def test_a_confusion_matrix_counts_each_prediction_under_its_true_class():
    figure = confusion_matrix("held out", [0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["neg <b>", "pos"], caption="60% correct")
    svg = figure.data.decode()
    assert figure.kind == "svg" and figure.caption == "60% correct"
    assert "neg &lt;b&gt;" in svg and "<b>" not in svg
    counts = [int(t) for t in re.findall(r'text-anchor="middle" fill="[^"]+">(\d+)</text>', svg)]
    assert counts == [1, 1, 1, 2]  # row by row: true neg -> neg, pos; true pos -> neg, pos
    assert "3 of 5 correct" in svg


def test_a_model_that_answers_one_class_shows_one_dark_column():
    svg = confusion_matrix("x", [0, 1, 0, 1], [1, 1, 1, 1], ["a", "b"]).data.decode()
    fills = re.findall(r'<rect x="\d+" y="\d+" width="34" height="34" fill="([^"]+)"', svg)
    assert fills == ["rgb(255,255,255)", "rgb(55,105,255)", "rgb(255,255,255)", "rgb(55,105,255)"]


@pytest.mark.parametrize(("reply", "drawn"), [
    ({"probs": None, "losses": [0.7, 0.6, 0.4]}, 3),
    ({"losses": [0.7, True, "x", float("nan"), 0.5]}, 3),  # only numbers are kept; a NaN is left out of the line
    ({"losses": [0.7]}, None),  # one step is not a curve
    ({"losses": "0.7, 0.6"}, None),
    ([0.7, 0.6], None),  # the reply of a kernel that is not the snippet's
])
def test_the_learning_checks_loss_picture_is_drawn_from_numbers_only(reply, drawn):
    from gradekit.shared_checks import record_loss_picture

    recorded = []
    record_loss_picture(lambda key, value: recorded.append((key, value)), "your train", reply)
    if drawn is None:
        assert recorded == []
    else:
        [(key, figure)] = recorded
        assert key == "figure" and figure.kind == "svg" and f"each of the {drawn} steps" in figure.caption
