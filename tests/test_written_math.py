"""The written-answer reader and checker against a corpus of real and plausible student answers.

Every answer goes through the real math worker process (gradekit.written.client), as in grading. The
accepted forms include the seeds' own answers as written (seed 000's \\text{sigmoid} with X_{2i} and H_0, its
split sums and its \\dots expansion; seed 001's O(n)); the rejected ones are the mistakes students make (a
missing 1000, a 999, flipped signs, a sum to T instead of T/2, seed 000's 2 beta, seed 001's tanh).
"""

from collections.abc import Iterator
from dataclasses import dataclass

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
    ("cost_in_T_and_d", r"O(T d \log d)", "a log where d^2 belongs: T d log d is not T d^2"),
]

FOR_A_TA = [
    ("rnn_recurrence", r"$Y_T = \text{sigmoid}(1000(X_T - (X_{T-1} - (X_{T-2} \dots - (X_1 - H_0)))))$",
     "seed 000's nested expansion: one term before the dots shows no pattern"),
    ("rnn_recurrence", r"$$y_n = \begin{cases} 1, & \text{if } \sum_{i=1}^k x_{2i} - \sum_{j=1}^k x_{2j-1} > 0 "
                       r"\\ -1, & \text{otherwise} \end{cases}$$", "seed 001's cases"),
    ("rnn_recurrence", r"\sigma(1000(x_2 - x_1 + \dots + h_0))", "nothing after the dots to say where it ends"),
    ("rnn_recurrence", r"\sigma(1000(x_T - x_{T-1} + \dots + x_1 + h_0))", "the last term breaks the pattern"),
]


# -- issue 11: the written-form corpus --------------------------------------------------------------------
# Each form: the question, the text as a student would type it, the verdict a careful TA would give, and the
# words its message must hold: for a wrong answer, the mistake named; for a TA, the reason; for a correct one
# with a note (a decimal approximation), the note. Classes 8 and 9 of the issue are marked in the reason.

@dataclass(frozen=True)
class Form:
    question: str
    text: str
    verdict: str  # "correct" | "wrong" | "review"
    says: str  # words the message must contain ("" for a plain correct answer)
    why: str


def ok(question: str, text: str, why: str, says: str = "") -> Form:
    return Form(question, text, "correct", says, why)


def wrong(question: str, text: str, says: str, why: str) -> Form:
    return Form(question, text, "wrong", says, why)


def ta(question: str, text: str, says: str, why: str) -> Form:
    return Form(question, text, "review", says, why)


P = r"\left(x_{2i}-x_{2i-1}\right)"  # one pair of the recurrence's sum

FORMS = [
    # rnn_recurrence: sigma(1000 (sum_{i=1}^{T/2} (x_{2i} - x_{2i-1}) + h_0))
    ok("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{0.5T}}{P} + h_0\right)\right)",
       "class 9: a decimal upper bound, 0.5T, is T/2 and the sum expands"),
    ok("rnn_recurrence", rf"\sigma\left(1000\left(h_0+\sum_{{i=1}}^{{\frac T2}}{P}\right)\right)",
       "class 8: \\frac T2 without braces is T/2, as TeX reads it"),
    ok("rnn_recurrence", rf"\sigma\left(1000\left(\sum^{{T/2}}_{{i=1}}{P} + h_0\right)\right)",
       "the sum's limits in the other order"),
    ok("rnn_recurrence", rf"\sigma\left(10^3\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right)", "10^3 for 1000"),
    ok("rnn_recurrence", rf"\sigma\left(1000.0\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right)",
       "a decimal that is exactly 1000"),
    ok("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=0}^{T/2-1}\left(x_{2i+2}-x_{2i+1}\right) + h_0\right)\right)",
       "the index shifted by one"),
    ok("rnn_recurrence", r"\sigma\left(1000\left(h_0 + \sum_{i=1}^{T} \cos(\pi i)\, x_i\right)\right)",
       "cos(pi i) is (-1)^i for whole i"),
    ok("rnn_recurrence", r"\sigma\left(1000 h_0 + 1000\sum_{t=1}^{T} (-1)^{t} x_t\right)", "1000 multiplied out"),
    ok("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/2}}{P} + (-1)^T h_0\right)\right)",
       "(-1)^T h_0 is h_0 for even T"),
    ok("rnn_recurrence", r"Y_T = \text{sigmoid}(1000 * (H_0 + \sum_{i=1}^{T/2} (X_{2i} - X_{2i-1})))",
       "seed 000's `*` for the product"),
    ok("rnn_recurrence", r"\sigma(1000(h_0 − x_1 + x_2 − x_3 + x_4 − \dots + x_T))",
       "class 8: a Unicode minus sign (pasted from a PDF) is a minus"),
    ok("rnn_recurrence", r"\sigma(1000(x_2 - x_1 + x_4 - x_3 + \dots + x_T - x_{T-1} + h_0))",
       "the pattern written pair by pair"),
    ok("rnn_recurrence", r"\sigma(1000(x_T - x_{T-1} + \dots + x_2 - x_1 + h_0))", "the pattern written backwards"),
    ok("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right).",
       "class 8: a full stop after the formula ends the sentence; it is not part of the answer"),
    ok("rnn_recurrence",
       r"\frac{1}{1 + e^{-1000\left(h_0 + \sum_{i=1}^{T/2} x_{2i} - \sum_{i=1}^{T/2} x_{2i-1}\right)}}",
       "the sigmoid written out, split sums"),
    wrong("rnn_recurrence", r"\sigma(1000(\sum_{i=1}^{T} x_{2i} - \sum_{i=1}^{T} x_{2i-1} + h_0))",
          "past the last input", "sums to T instead of T/2 read inputs that do not exist"),
    wrong("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i+1}\right) + h_0\right)\right)",
          "past the last input", "x_{2i+1}: the odd input after, not before"),
    wrong("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i-2}\right) + h_0\right)\right)",
          "x_0", "x_{2i-2} reaches x_0, which does not exist"),
    wrong("rnn_recurrence", rf"\sigma\left(1000\sum_{{i=1}}^{{T/2}}{P} + h_0\right)", "multiplied by 1000",
          "h_0 left outside the factor 1000"),
    wrong("rnn_recurrence", rf"\sum_{{i=1}}^{{T/2}}{P} + h_0", "hidden state", "h_T given for y_T"),
    wrong("rnn_recurrence", rf"\sigma\left(-1000\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right)",
          "sign of every input", "every sign flipped"),
    wrong("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/2-1}}{P} + h_0\right)\right)",
          "does not depend on x_7, x_8", "the sum stops one pair early"),
    wrong("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T} x_i + h_0\right)\right)", "alternate",
          "signs not alternating"),
    wrong("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/3}}{P} + h_0\right)\right)", "whole number",
          "an upper limit that is not a whole number"),
    ta("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{T/2} x_{2i} - x_{2i-1} + h_0\right)\right)",
       "outside the sum", "the sum's index used after the sum ends: a TA reads the intended brackets"),
    ta("rnn_recurrence", r"\sigma\left(1000\left(h_0+\sum_{i=1}^{T/2}\left(x_2i-x_2i-1\right)\right)\right)", "_{2i",
       "class 8: x_2i is typeset as x_2 times i; the student meant x_{2i}"),
    ta("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right) \text{{ for even }} T",
       "words", "prose inside the formula"),
    ta("rnn_recurrence", rf"\sigma\left(1,000\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)\right)", "1,000",
       "a comma in a number is also a list separator"),
    ta("rnn_recurrence",
       r"\sigma\left(1000\left(\sum_{i \text{ even}} x_i - \sum_{i \text{ odd}} x_i + h_0\right)\right)",
       "words", "sums written with words"),
    ta("rnn_recurrence", rf"\sigma 1000\left(\sum_{{i=1}}^{{T/2}}{P} + h_0\right)", "brackets",
       "sigma without brackets: where its argument ends is a guess"),
    # norm_x1 and norm_x3: sqrt(2) beta; norm_x2: beta
    ok("norm_x1", r"\beta\sqrt 2", "class 8: \\sqrt 2 without braces is sqrt(2)"),
    ok("norm_x1", r"\beta\cdot\sqrt 2", "class 8: the issue's example, rejected before"),
    ok("norm_x1", r"\sqrt2\beta", "class 8"),
    ok("norm_x1", r"\|x_1\| = \sqrt 2 \, \beta", "class 8, with a space"),
    ok("norm_x1", r"\frac{2\beta}{\sqrt 2}", "class 8: unbraced sqrt in a denominator"),
    ok("norm_x1", r"\sqrt[2]{2}\beta", "class 8: an explicit square root index"),
    ok("norm_x1", r"\sqrt[4]{4}\,\beta", "class 8: the fourth root of 4 is sqrt(2)"),
    ok("norm_x1", r"√2β", "Unicode root and beta"),
    ok("norm_x1", r"\sqrt{2}\left|\beta\right|", "|beta| = beta, beta is a norm"),
    ok("norm_x1", r"1.41421356\beta", "class 9: a close decimal approximation, as a TA reads it",
       says="decimal approximation"),
    ok("norm_x1", r"1.414\beta", "class 9: four significant digits", says="decimal approximation"),
    ok("norm_x1", r"\sqrt{2}\beta \approx 1.414...\beta", "class 9: a truncated decimal with dots",
       says="decimal approximation"),
    ta("norm_x1", r"1.4\beta", "significant digit", "class 9: two digits: close, but a TA decides"),
    wrong("norm_x1", r"1.42\beta", "differs", "class 9: not a rounding of sqrt(2) to the digits written"),
    wrong("norm_x1", r"\sqrt[3]{2}\beta", "differs", "class 8: the cube root read as a cube root"),
    wrong("norm_x1", r"\|x_1\| = \|d\| + \|b\| = 2\beta", "orthogonal", "seed 000's reasoning: norms added"),
    wrong("norm_x1", r"\sqrt{2\beta}", "square root", "the root taken of 2 beta"),
    wrong("norm_x1", r"\sqrt{2}", "does not depend on beta", "beta dropped"),
    wrong("norm_x1", r"2\beta^2", "square of the expected", "the squared norm"),
    wrong("norm_x1", r"\sqrt{2}\,a", "does not depend on beta", "a vector in a norm"),
    ok("norm_x3", r"2^{0.5}\beta", "class 9: the issue's example: 2^{0.5} is sqrt(2)"),
    ok("norm_x3", r"\sqrt{2}\beta^{1.0}", "class 9: a decimal exponent that is exactly 1"),
    ok("norm_x3", r"\left(2\beta^2\right)^{1/2}", "the squared norm's square root"),
    wrong("norm_x3", r"2^{0.4}\beta", "differs", "class 9: 0.4 is not 0.5"),
    wrong("norm_x3", r"\frac{\beta}{\sqrt2}", "1/2 times", "divided instead of multiplied"),
    ta("norm_x3", r"2^0.5\beta", "^{0.", "class 8: 2^0.5 is typeset as 2^0 followed by .5"),
    wrong("norm_x2", r"\|x_2\| = \beta\sqrt 2", "one vector", "class 8: the issue's example, accepted before"),
    ok("norm_x2", r"\sqrt{\beta\cdot\beta}", "a product under the root"),
    ok("norm_x2", r"1.0\beta", "class 9: a decimal that is exactly 1"),
    wrong("norm_x2", r"\beta^2", "square of the expected", "the squared norm"),
    ta("norm_x2", r"\beta = \|x_2\|", "left", "the equation written the other way round"),
    # y2_exact: (e^{beta^2} a + b + c + 2d) / (e^{beta^2} + 2)
    ok("y2_exact", r"\frac{e^{\beta^2}a + (d+b) + (c+d)}{e^{\beta^2}+2}", "x_1 and x_3 expanded, d twice"),
    ok("y2_exact", r"\frac{e^{\beta^2}}{e^{\beta^2}+2}a + \frac{b+c}{e^{\beta^2}+2} + \frac{2}{e^{\beta^2}+2}d",
       "coefficient by coefficient"),
    ok("y2_exact", r"\frac{\exp{\beta^2} a + b + c + 2d}{\exp{\beta^2}+2}",
       "class 8: \\exp{...} with braces is exp of the group, then a product, as a TA reads it"),
    ok("y2_exact", r"\frac{1}{e^{\beta^2}+2}\left[e^{\beta^2}\cdot a + b + c + 2\cdot d\right]", "\\cdot, brackets"),
    ok("y2_exact", r"\frac{e^{\beta \cdot \beta} a + b + c + 2 d}{2 + e^{\beta^{2}}}", "beta times beta"),
    wrong("y2_exact", r"\frac{e^{\beta^2} x_2 + x_1 + x_3}{e^{\beta^2}+2}", "not a symbol this question defines",
          "in x_i where the question asks for a combination of a, b, c, d"),
    ta("y2_exact", r"\frac{2.718^{\beta^2}a + b + c + 2d}{2.718^{\beta^2}+2}", "exact",
       "class 9: e approximated where the question asks for y_2 exactly"),
    ta("y2_exact", r"\text{softmax}(0, \beta^2, 0) \cdot (x_1, x_2, x_3)", "softmax", "a softmax in words"),
    wrong("y2_exact", r"\frac{e^{\beta^2}a + b + c + d}{e^{\beta^2}+2}", "coefficient of d", "d counted once"),
    wrong("y2_exact", r"e^{\beta^2}a + b + c + 2d", "divides", "the softmax's normaliser forgotten"),
    wrong("y2_exact", r"\frac{e^{2\beta^2}a + b + c + 2d}{e^{2\beta^2}+2}", "x_2 \\cdot x_2", "the score 2 beta^2"),
    wrong("y2_exact", r"\frac{a + b + c + 2d}{3}", "equal weights", "every score taken as equal"),
    wrong("y2_exact", r"\frac{e^{\beta^2}a + b\cdot c + 2d}{e^{\beta^2}+2}", "multiplies two of the vectors",
          "a product of two vectors"),
    # the limits: y_1 -> b + d, y_2 -> a, y_3 -> c + d
    ok("y1_limit", r"\lim_{\beta\to\infty} y_1 = b + d", "the limit written out before the value"),
    ok("y1_limit", r"1.0 b + 1.0 d", "class 9: exact decimals"),
    wrong("y1_limit", r"x_1", "not a symbol this question defines",
          "x_1 where the question asks for a combination of a, b, c, d"),
    wrong("y1_limit", r"\frac{e^{2\beta^2}(b+d) + c + d}{e^{2\beta^2}+1}", "depends on",
          "the exact y_1, not its limit"),
    wrong("y1_limit", r"a", "does not depend on b, d", "another token's value"),
    ok("y2_limit", r"\frac{a}{1}", "a written as a fraction"),
    wrong("y2_limit", r"\frac{a + b + c + 2d}{3}", "depends on b, c, d", "the limit as beta goes to 0"),
    wrong("y2_limit", r"0", "does not depend on a", "the output vanishing"),
    ok("y3_limit", r"d + c", "terms reordered"),
    wrong("y3_limit", r"c", "does not depend on d", "d dropped"),
    # the costs: O(T) in T, O(T d^2) in T and d
    ok("cost_in_T", r"\Theta(T)", "class 9: Theta is the tight class, which is what the cost asks"),
    ok("cost_in_T", r"O(0.5T)", "class 9: a decimal constant factor"),
    ok("cost_in_T", r"O(T^{1.0})", "class 9: a decimal exponent that is exactly 1"),
    ok("cost_in_T", r"\mathcal{O}\left(N\right)", "N for T"),
    ta("cost_in_T", r"\Omega(T)", "lower bound", "class 9: Omega is only a lower bound: a TA decides"),
    wrong("cost_in_T", r"\Omega(T^2)", "lower bound", "class 9: a wrong lower bound"),
    wrong("cost_in_T", r"O(T\log T)", "O(T log(T))", "a log factor the computation does not have"),
    wrong("cost_in_T", r"O(T^2)", "T × T", "the cost with the T x T matrix, message named"),
    ta("cost_in_T", r"o(T)", "little", "little o is a strict bound: a TA decides if it was meant as O"),
    ta("cost_in_T", r"linear", "words", "a word for a formula, outside math: a TA reads it"),
    ok("cost_in_T_and_d", r"\Theta(T d^2)", "class 9: Theta"),
    ok("cost_in_T_and_d", r"O(T \cdot d \cdot d) \text{.}", "a full stop in text"),
    ok("cost_in_T_and_d", r"O(2Td^2 + Td + d^2)", "lower-order terms"),
    ta("cost_in_T_and_d", r"\Omega(T d^2)", "lower bound", "class 9: Omega"),
    wrong("cost_in_T_and_d", r"O(T^2 d)", "T × T", "the cost with the T x T matrix"),
    wrong("cost_in_T_and_d", r"O(T)", "grows with d", "d left out where the question asks for it"),
    wrong("cost_in_T_and_d", r"O(T d \log d)", "O(T d log(d))", "a log where d^2 belongs"),
    ta("cost_in_T_and_d", r"O(T \log T d)", "brackets", "class 8: where the log's argument ends is a guess"),
    # more of each class, written after the fixes: forms the fixes were not built on
    ok("norm_x1", r"1.41\beta", "class 9: three significant digits, the least accepted",
       says="decimal approximation"),
    ok("norm_x3", r"1.41421356...\,\beta", "class 9: a truncated decimal", says="decimal approximation"),
    wrong("norm_x3", r"1.415\beta", "differs", "class 9: 1.415 is not a rounding of sqrt(2) = 1.41421..."),
    ok("norm_x3", r"0.5 \cdot 2\sqrt 2\beta", "class 8 and 9: exact decimals times an unbraced root"),
    ok("norm_x2", r"\sqrt{\beta^2}", "the root of the squared norm"),
    ok("norm_x2", r"\sqrt[2]{\beta^{2.0}}", "class 9: an exponent that is exactly 2"),
    wrong("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=1}}^{{T/2+1}}{P} + h_0\right)\right)",
          "past the last input", "one pair too many"),
    wrong("rnn_recurrence", rf"\sigma\left(1000\left(\sum_{{i=0}}^{{T/2}}{P} + h_0\right)\right)",
          "before the first input", "the sum starts at 0"),
    ok("rnn_recurrence", r"\sigma\left(10^{3}\left(\sum_{i=1}^{0.5\cdot T} x_{2i} - \sum_{i=1}^{0.5\cdot T} x_{2i-1}"
       r" + h_0\right)\right)", "class 9: 0.5 times T as the upper limit of split sums"),
    wrong("rnn_recurrence", r"\sigma\left(1000\left(\sum_{i=1}^{0.25T}\left(x_{4i}-x_{4i-1}\right) + h_0\right)\right)",
          "not a whole number", "class 9: a decimal limit, read exactly (T/4), that is not whole at T = 10"),
    ok("cost_in_T", r"\Theta\left(2T + 1\right)", "class 9: Theta with lower-order terms"),
    wrong("cost_in_T", r"\Theta(T^2)", "T × T", "class 9: a tight class that is wrong, with the known mistake"),
    ta("cost_in_T", r"\Omega(1)", "lower bound", "class 9: a true but empty lower bound"),
    wrong("cost_in_T", r"O(\sqrt{T})", "O(T^(1/2))", "a fractional power: below the cost"),
    wrong("cost_in_T_and_d", r"\Theta(T d)", "not the cost", "class 9: Theta, d^2 missing"),
    ok("cost_in_T_and_d", r"O(d^{2.0} T)", "class 9: an exponent that is exactly 2"),
    ok("y2_exact", r"\frac{b + c + 2d + e^{\beta^2}a}{2 + e^{\beta^2}}", "terms in another order"),
    ok("y3_limit", r"1.0c + d", "class 9: an exact decimal coefficient"),
    wrong("y3_limit", r"0.5(c + d)", "1/2 times", "class 9: 0.5 read exactly, a halved answer"),
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


# -- the corpus, checked -----------------------------------------------------------------------------------

def test_form_corpus_size():
    """Issue 11: at least 60 new written forms, across every math question."""
    assert len(FORMS) >= 60
    assert {f.question for f in FORMS} == set(MATH)
    assert {f.verdict for f in FORMS} == {"correct", "wrong", "review"}


@pytest.mark.parametrize("form", FORMS, ids=[f"{f.question}-{f.verdict}-{i}" for i, f in enumerate(FORMS)])
def test_form(checker, form):
    reply = check(checker, form.question, form.text)
    assert reply["verdict"] == form.verdict, (form.why, reply)
    if form.verdict != "correct":
        assert reply["message"], "a rejected or queued answer must say why"
    assert form.says in reply["message"], (form.why, reply["message"])
