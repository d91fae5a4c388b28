"""The written-answer reader and checker against a corpus of real and plausible student answers.

Every answer goes through the real math worker process (gradekit.written.client), as in grading. The
accepted forms include the seeds' own answers as written (seed 000's \\text{sigmoid} with X_{2i} and H_0, its
split sums and its \\dots expansion; seed 001's O(n)); the rejected ones are the mistakes students make (a
missing 1000, a 999, flipped signs, a sum to T instead of T/2, seed 000's 2 beta, seed 001's tanh).
"""

from collections.abc import Iterator

import pytest
import sympy

from gradekit.written.client import MathChecker
from gradekit.written.compare import dominant_terms
from gradekit.written.latex import Ambiguous, UnknownSymbol, Unreadable, Vocabulary, read
from reference.theory_rnn_attention import COST_IN_T_AND_D, MATH, RNN, VECTORS

S = r"\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i-1}\right)"  # the sum every recurrence answer needs

ACCEPTED = [
    # seed 000, as written: \text{sigmoid}, upper-case X and H, \left( \right), \cdot, \frac{T}{2}
    ("rnn_recurrence", r"$$Y_T = \text{sigmoid}\left(1000 \cdot \left(\sum_{i=1}^{\frac{T}{2}} "
                       r"(X_{2i} - X_{2i-1}) + H_0\right)\right)$$"),
    ("rnn_recurrence", r"$Y_T = \text{sigmoid}(1000(\sum_{i=1}^{\frac{T}{2}} X_{2i} - "
                       r"\sum_{i=1}^{\frac{T}{2}} X_{2i-1} + H_0))$"),
    ("rnn_recurrence", r"$Y_T = \text{sigmoid}(1000(X_T - X_{T-1} + X_{T-2} - X_{T-3} \dots - X_1 + H_0))$"),
    ("rnn_recurrence", rf"\sigma\left(1000\left({S} + h_0\right)\right)"),
    ("rnn_recurrence", rf"\frac{{1}}{{1+e^{{-1000\left({S}+h_0\right)}}}}"),
    ("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T}(-1)^i x_i + h_0\right)\right)"),
    ("rnn_recurrence", r"\frac{1}{1+\exp(-1000(h_0 + \sum_{j=1}^{T/2} x_{2j} - \sum_{j=1}^{T/2} x_{2j-1}))}"),
    ("rnn_recurrence", rf"\operatorname{{sigmoid}}(1000 h_0 + 1000 {S})"),
    ("rnn_recurrence", r"\sigma(1000(h_0 - x_1 + x_2 - x_3 + x_4 - \cdots + x_T))"),
    ("rnn_recurrence", r"\mathrm{sigmoid}\left(1000\left((x_2 + x_4 + \dots + x_T) - (x_1 + x_3 + \ldots + "
                       r"x_{T-1}) + h_0\right)\right)"),
    ("rnn_recurrence", r"y_T = \sigma\Big(1000\,\big(h_0 + \sum_{k=1}^{T/2} (x_{2k} - x_{2k-1})\big)\Big)"),
    ("norm_x1", r"$$\|x_1\| = \sqrt{2}\beta$$"),
    ("norm_x1", r"\beta\sqrt{2}"),
    ("norm_x1", r"\sqrt{2\beta^2}"),
    ("norm_x1", r"\lVert x_1 \rVert = \sqrt{\beta^2 + \beta^2}"),
    ("norm_x3", r"2^{1/2}\beta"),
    ("norm_x2", r"$||x_2|| = \beta$"),
    ("y2_exact", r"\frac{e^{\beta^2}}{e^{\beta^2}+2} a + \frac{1}{e^{\beta^2}+2}(b + c + 2d)"),
    ("y2_exact", r"y_2 = \frac{a + e^{-\beta^2}(b + c + 2d)}{1 + 2e^{-\beta^2}}"),
    ("y2_exact", r"\frac{\exp(\beta^2)\,\mathbf{a} + \mathbf{b} + \mathbf{c} + 2\mathbf{d}}{\exp(\beta^2) + 2}"),
    ("y1_limit", r"$$y_1 = x_1 = d + b$$"),  # seed 000
    ("y1_limit", r"\vec{b} + \vec{d}"),
    ("y3_limit", r"c + d"),
    ("cost_in_T", r"$O(T)$"),  # seed 000
    ("cost_in_T", r"O(n)"),  # seed 001 calls the length n; the question accepts it
    ("cost_in_T", r"\mathcal{O}(T)"),
    ("cost_in_T", r"O(2T + 5)"),
    ("cost_in_T", r"O(T d^2)"),  # d is fixed in this part
    ("cost_in_T_and_d", r"O(T d^2)"),
    ("cost_in_T_and_d", r"O(2 T d^2 + T d)"),
    ("cost_in_T_and_d", r"O(d^2 T)"),
    ("cost_in_T_and_d", r"\mathcal{O}(T \cdot d \cdot d)"),
]

REJECTED = [
    ("rnn_recurrence", rf"\sigma\left({S} + h_0\right)", "1000 missing"),
    ("rnn_recurrence", r"$Y_T = \text{sigmoid}\left(\left(\sum_{i=1}^{\frac{T}{2}} (X_{2i} - X_{2i-1}) + "
                       r"H_0\right)\right)$", "seed 000's line without the 1000"),
    ("rnn_recurrence", rf"\sigma\left(999\left({S} + h_0\right)\right)", "999 for 1000"),
    ("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T/2}(x_{2i-1}-x_{2i}) + h_0\right)\right)", "signs"),
    ("rnn_recurrence", rf"\sigma\left(1000\left({S} - h_0\right)\right)", "h_0's sign"),
    ("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T}(x_{2i}-x_{2i-1}) + h_0\right)\right)", "sum to T"),
    ("rnn_recurrence", rf"\sigma\left(1000 {S}\right)", "h_0 assumed zero"),
    ("rnn_recurrence", rf"\tanh\left(1000\left({S} + h_0\right)\right)", "seed 001's tanh"),
    ("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T}(-1)^{i+1} x_i + h_0\right)\right)", "(-1)^(i+1)"),
    ("rnn_recurrence", r"\sigma(1000(\sum_{i=1}^{k} x_{2i} - \sum_{j=1}^{k} x_{2j-1}))", "unknown k"),
    ("rnn_recurrence", r"\sigma(1000(x_T + x_{T-1} + \dots + x_1 + h_0))", "a plain sum, written with dots"),
    ("norm_x1", r"$$\|x_1\| = 2\beta$$", "seed 000's 2 beta"),
    ("norm_x3", r"$$||x_3|| = \beta + \beta$$", "seed 000's beta + beta"),
    ("norm_x1", r"2\beta^2", "the squared norm, doubled"),
    ("norm_x2", r"\beta^2", "the squared norm"),
    ("norm_x1", r"\sqrt{2}\beta^2", "an extra power"),
    ("y2_exact", r"a", "seed 000 gave the limit"),
    ("y2_exact", r"\frac{e^{\beta^2} a + b + c + d}{e^{\beta^2} + 2}", "d counted once"),
    ("y2_exact", r"\frac{e^{\beta^2} a + b + c + 2d}{e^{\beta^2} + 3}", "wrong normaliser"),
    ("y1_limit", r"d", "only the shared vector"),
    ("y1_limit", r"\frac{d + b}{2}", "averaged"),
    ("y1_limit", r"x_1", "not in terms of a, b, c, d"),
    ("cost_in_T", r"O(T^2)", "the softmax cost"),
    ("cost_in_T", r"O(1)", "constant"),
    ("cost_in_T_and_d", r"O(T^2 d)", "forms the T x T matrix"),
    ("cost_in_T_and_d", r"O(T d)", "d^2 missing"),
    ("cost_in_T_and_d", r"O(n^2)", "seed 001's standard attention"),
]

FOR_A_TA = [
    ("rnn_recurrence", r"$Y_T = \text{sigmoid}(1000(X_T - (X_{T-1} - (X_{T-2} \dots - (X_1 - H_0)))))$",
     "seed 000's nested expansion: one term before the dots shows no pattern"),
    ("rnn_recurrence", r"$$y_n = \begin{cases} 1, & \text{if } \sum_{i=1}^k x_{2i} - \sum_{j=1}^k x_{2j-1} > 0 "
                       r"\\ -1, & \text{otherwise} \end{cases}$$", "seed 001's cases"),
    ("rnn_recurrence", r"\sigma(1000(x_2 - x_1 + \dots + h_0))", "nothing after the dots to say where it ends"),
    ("cost_in_T_and_d", r"O(T d \log d)", "not a polynomial"),
    ("rnn_recurrence", r"\sigma(1000(x_T - x_{T-1} + \dots + x_1 + h_0))", "the last term breaks the pattern"),
]


@pytest.fixture(scope="module")
def checker() -> Iterator[MathChecker]:
    with MathChecker() as c:
        yield c


def check(checker: MathChecker, answer_id: str, text: str) -> dict[str, str]:
    kind, spec = MATH[answer_id]
    return checker.check(kind, spec, text)


def test_corpus_size():
    assert len(ACCEPTED) >= 20 and len(REJECTED) >= 20


@pytest.mark.parametrize(("answer_id", "text"), ACCEPTED, ids=[f"{a}-{i}" for i, (a, _) in enumerate(ACCEPTED)])
def test_accepted(checker, answer_id, text):
    reply = check(checker, answer_id, text)
    assert reply["verdict"] == "correct", reply["message"]


@pytest.mark.parametrize(("answer_id", "text", "why"), REJECTED, ids=[w for _, _, w in REJECTED])
def test_rejected(checker, answer_id, text, why):
    reply = check(checker, answer_id, text)
    assert reply["verdict"] == "wrong", reply
    assert reply["message"], "a rejected answer must say why"


@pytest.mark.parametrize(("answer_id", "text", "why"), FOR_A_TA, ids=[w for _, _, w in FOR_A_TA])
def test_undecidable_goes_to_a_ta(checker, answer_id, text, why):
    reply = check(checker, answer_id, text)
    assert reply["verdict"] == "review", reply


def test_rejection_shows_how_the_answer_was_read(checker):
    reply = check(checker, "rnn_recurrence", rf"\sigma\left(999\left({S} + h_0\right)\right)")
    assert "999" in reply["parsed"]
    assert reply["example"].startswith("at T = 4:") and "x_{4}" in reply["example"]
    assert "size about 0.001" in reply["message"], "a 999 only shows at small inputs; say where it differs"


def test_unknown_symbol_names_the_symbols_to_use(checker):
    reply = check(checker, "rnn_recurrence", r"\sigma(1000(\sum_{i=1}^{k} x_{2i}))")
    assert "`k`" in reply["message"] and "h_0" in reply["message"]


# -- what parse_latex alone misreads, and what the normalisation makes of it ------------------------------

RNN_VOCAB = Vocabulary.from_spec(RNN)
VEC_VOCAB = Vocabulary.from_spec(VECTORS)
COST_VOCAB = Vocabulary.from_spec(COST_IN_T_AND_D)


def names(expr) -> set[str]:
    return {str(s) for s in expr.free_symbols}


def test_text_sigmoid_is_one_function_not_a_product_of_letters():
    expr = read(r"\text{sigmoid}(h_0)", RNN_VOCAB).expr
    assert str(expr) == "sigmoid(h_0)"


@pytest.mark.parametrize("text", [r"\mathrm{sigmoid}(h_0)", r"\operatorname{sigmoid}(h_0)", r"\sigma(h_0)",
                                  r"sigmoid(h_0)"])
def test_other_spellings_of_sigmoid(text):
    assert str(read(text, RNN_VOCAB).expr) == "sigmoid(h_0)"


def test_e_and_pi_are_constants():
    expr = read(r"e^{\pi} \beta", VEC_VOCAB).expr
    assert expr == sympy.exp(sympy.pi) * sympy.Symbol("beta", positive=True)


def test_subscripted_sequence_is_indexed_so_sums_expand():
    expr = read(r"\sum_{i=1}^{T/2} X_{2i}", RNN_VOCAB).expr
    assert expr.atoms(sympy.Indexed), "X_{2i} must be an element of x, not one symbol"
    assert expr.xreplace({sympy.Symbol("T", positive=True, integer=True): 4}).doit().atoms(sympy.Indexed) == {
        sympy.IndexedBase("x")[2], sympy.IndexedBase("x")[4]}


def test_d_t_is_a_product_not_a_differential():
    for text in (r"d T", r"d \cdot T", r"dT", r"T d"):
        assert read(text, COST_VOCAB).expr == sympy.Symbol("d", positive=True) * sympy.Symbol("T", positive=True)


def test_symbol_before_brackets_is_a_product_not_a_call():
    expr = read(r"\beta(1+\beta)", VEC_VOCAB).expr
    beta = sympy.Symbol("beta", positive=True)
    assert sympy.expand(expr) == beta + beta**2


def test_max_is_a_maximum():
    assert read(r"\max(a, b)", VEC_VOCAB).expr.func is sympy.Max


def test_dots_is_a_pattern_not_a_variable():
    reading = read(r"x_1 + x_2 + \dots + x_T", RNN_VOCAB)
    assert reading.dots and "dots" not in " ".join(names(reading.expr) - {"gkdotsa"})


def test_norm_left_in_the_answer_is_reported():
    with pytest.raises(UnknownSymbol, match="norm"):
        read(r"\|d\| + \|b\|", VEC_VOCAB)


def test_unreadable_latex_is_reported_not_raised_as_a_crash():
    with pytest.raises(Unreadable):
        read(r"\frac{1}{", RNN_VOCAB)


def test_case_is_folded_only_when_unambiguous():
    both = Vocabulary.from_spec({"symbols": {"a": {}, "A": {}}})
    assert read("A", both).expr == sympy.Symbol("A", real=True)
    with pytest.raises(UnknownSymbol):
        read("B", both)
    assert read("B", VEC_VOCAB).expr == sympy.Symbol("b", real=True)


def test_dots_without_a_pattern_is_ambiguous():
    from gradekit.written.compare import concrete

    reading = read(r"x_T + \dots + x_1", RNN_VOCAB)
    with pytest.raises(Ambiguous):
        concrete(reading, RNN_VOCAB, 8)


# -- complexity classes --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ("2 T d^2 + T d", "T d^2", True),
    ("T d (T + d)", "T^2 d + T d^2", True),
    ("T^2 d", "T d^2", False),
    ("5", "1", True),
    ("T^2 + T d", "T^2", False),
])
def test_dominant_terms(a, b, same):
    ta = dominant_terms(read(a, COST_VOCAB).expr, ["T", "d"])
    tb = dominant_terms(read(b, COST_VOCAB).expr, ["T", "d"])
    assert (ta == tb) is same
