"""Reference answers for the written assignment on RNN recurrences and self-attention.

Math answers are stated once, in LaTeX, with the symbols a student may use; graders check a student's
formula against them numerically (gradekit.written). Two small torch functions compute the same quantities
from first principles, so tests/test_reference_theory_rnn_attention.py can show the key itself is right:
`rnn_output` runs the recurrence, `self_attention` is the layer the answers describe.
"""

import torch
from torch import Tensor

# -----------------------------------------------------------------------------
# the layers the questions are about


def rnn_output(x: Tensor, h0: float) -> Tensor:
    """y_T for h_t = x_t - h_{t-1}, y_t = sigmoid(1000 h_t). x: (T,)"""
    h = torch.tensor(h0, dtype=x.dtype)
    for x_t in x:
        h = x_t - h
    return torch.sigmoid(1000 * h)


def self_attention(x: Tensor) -> Tensor:
    """Unscaled self-attention with q = k = v = x. x: (T, d) -> (T, d)"""
    scores = x @ x.T                      # (T, T): scores[i, j] = <x_i, x_j>
    weights = scores.softmax(dim=-1)      # each row sums to 1 over the keys j
    return weights @ x                    # (T, d): y_i = sum_j w_ij x_j


def linear_attention(x: Tensor) -> Tensor:
    """Attention without the softmax, computed right to left: x (x^T x) costs O(T d^2), no (T, T) matrix."""
    return x @ (x.T @ x)                  # (T, d) @ (d, d)


# -----------------------------------------------------------------------------
# the vocabulary of each question: what a formula may mention

RNN = {
    "symbols": {"h_0": {"description": "the initial hidden state"},
                "T": {"length": True, "aliases": ["n"], "description": "the (even) number of inputs"}},
    "sequences": {"x": "the inputs x_1, ..., x_T"},
}
VECTORS = {
    "symbols": {"a": {"vector": True}, "b": {"vector": True}, "c": {"vector": True}, "d": {"vector": True},
                "beta": {"positive": True}},
}
COST_IN_T = {
    "symbols": {"T": {"positive": True, "aliases": ["n", "N"]}, "d": {"positive": True}},
    "variables": ["T"],
}
COST_IN_T_AND_D = {**COST_IN_T, "variables": ["T", "d"]}

# Mistakes students make, each as the value it gives and what a TA would say about it: a wrong answer equal
# to one of them gets that message (the checker's generic diagnosis covers the rest).
NORM_MISTAKES = [
    [r"2\beta", "the norms of orthogonal vectors do not add: ‖d + b‖² = ‖d‖² + ‖b‖² = 2β², so ‖d + b‖ = √2 β"],
    [r"\sqrt{2\beta}", "the square root covers β² too: ‖d + b‖ = √(β² + β²) = √(2β²)"],
]
QUADRATIC_COST = [r"O(T^2)", "that is the cost of standard attention, which forms the T × T matrix of scores; "
                  "linear attention never forms it"]

# answer id -> (kind, spec). A spec is plain data: it crosses to the math worker as JSON.
MATH: dict[str, tuple[str, dict]] = {
    "rnn_recurrence": ("expression", {**RNN, "expected": (
        r"\sigma\left(1000\left(\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i-1}\right) + h_0\right)\right)"), "mistakes": [
        [r"\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i-1}\right) + h_0",
         "that is the hidden state h_T; the output is y_T = σ(1000 h_T)"],
        [r"\sigma\left(1000\sum_{i=1}^{T/2}\left(x_{2i}-x_{2i-1}\right) + h_0\right)",
         "h_0 must be multiplied by 1000 too: y_T = σ(1000 h_T) with h_T = h_0 + the sum of the inputs' steps"],
        [r"\sigma\left(1000\left(\sum_{i=1}^{T} x_i + h_0\right)\right)",
         "the inputs' signs must alternate: an even step adds its input, an odd step subtracts it"],
    ]}),
    # x_1 = d + b, x_2 = a, x_3 = c + d with a, b, c, d orthogonal, each of norm beta.
    "norm_x1": ("expression", {**VECTORS, "expected": r"\sqrt{2}\beta", "mistakes": NORM_MISTAKES}),
    "norm_x2": ("expression", {**VECTORS, "expected": r"\beta", "mistakes": [
        [r"\sqrt{2}\beta", "x_2 = a is one vector, of norm β (it is x_1 and x_3 that are sums of two)"]]}),
    "norm_x3": ("expression", {**VECTORS, "expected": r"\sqrt{2}\beta", "mistakes": NORM_MISTAKES}),
    # Row 2 of the scores is (0, beta^2, 0): y_2 = (x_1 + e^{beta^2} x_2 + x_3) / (e^{beta^2} + 2).
    # "exactly": an answer right only as a decimal approximation (2.718 for e) goes to a TA.
    "y2_exact": ("expression", {**VECTORS, "exact": True,
                                "expected": r"\frac{e^{\beta^2} a + b + c + 2d}{e^{\beta^2} + 2}", "mistakes": [
        [r"e^{\beta^2} a + b + c + 2d", "the softmax divides by the sum of the exponentials, e^{β²} + 2"],
        [r"\frac{e^{2\beta^2} a + b + c + 2d}{e^{2\beta^2} + 2}",
         "the score of x_2 with itself is x_2 \\cdot x_2 = ‖a‖² = β², not 2β²"],
        [r"\frac{a + b + c + 2d}{3}", "that gives the three tokens equal weights; the softmax of the scores "
         "(0, β², 0) does not"],
    ]}),
    # As beta grows each token's score with itself dominates its row: the layer copies its input.
    "y1_limit": ("expression", {**VECTORS, "expected": r"d + b"}),
    "y2_limit": ("expression", {**VECTORS, "expected": r"a"}),
    "y3_limit": ("expression", {**VECTORS, "expected": r"c + d"}),
    "cost_in_T": ("big_o", {**COST_IN_T, "expected": r"O(T)", "mistakes": [QUADRATIC_COST]}),
    "cost_in_T_and_d": ("big_o", {**COST_IN_T_AND_D, "expected": r"O(T d^2)", "mistakes": [
        [r"O(T^2 d)", QUADRATIC_COST[1]]]}),
}

# -----------------------------------------------------------------------------
# true or false: the statement, the key, and the one line that defends it

TRUE_FALSE: list[tuple[str, bool, str]] = [
    ("A self-attention layer computes its queries, keys and values from the same input sequence.", True,
     "q_i = W_q x_i, k_i = W_k x_i, v_i = W_v x_i: all three are projections of the input."),
    ("Self-attention weights are the cosine similarities between queries and keys.", False,
     "They are softmax-normalised (scaled) dot products; nothing divides by the vectors' norms."),
    ("After the softmax, the attention matrix must go through a layer normalization before it multiplies "
     "the values.", False,
     "The softmax already makes each row a distribution; LayerNorm acts on the block's output, not the weights."),
    ("A Transformer encoder produces its output one token at a time, feeding each output back in.", False,
     "The encoder attends over all positions at once; autoregressive generation is the decoder's job."),
    ("BERT is a stack of Transformer decoders and GPT a stack of Transformer encoders.", False,
     "The other way round: BERT is an encoder, GPT a decoder."),
    ("BERT is pre-trained with masked language modelling and next-sentence prediction.", True,
     "Both objectives are in the BERT paper's pre-training."),
    ("GPT-3 can perform a new task from a few examples given in its prompt, without any weight update.", True,
     "In-context (few-shot) learning: the examples are only in the input."),
    ("Gradient clipping is the standard remedy for vanishing gradients.", False,
     "Clipping caps large gradients, so it addresses exploding gradients; it cannot enlarge small ones."),
    ("The entries of a learned word embedding can be negative.", True,
     "Embeddings are unconstrained real vectors."),
    ("An LSTM's new cell state is a weighted average of the previous cell state and the candidate, with "
     "weights summing to one.", False,
     "c_t = f_t * c_{t-1} + i_t * g_t with independent sigmoid gates; f_t + i_t need not be 1."),
]

# -----------------------------------------------------------------------------
# rubrics for the answers a TA grades

RUBRICS = {
    "cnn_vs_rnn": (
        "2 points: one sound advantage in each direction. CNN over RNN: all positions computed in parallel, "
        "short gradient paths, local/translation-equivariant features. RNN over CNN: any input length, a "
        "state that can carry the whole past, parameters independent of the length. 1 point for one direction."),
    "rnn_meaning": (
        "1 point: y_T is close to 1 when the even-step inputs (plus h_0) sum to more than the odd-step inputs "
        "and close to 0 when less; the 1000 makes the sigmoid a near step, so it compares the two sums."),
    "attention_meaning": (
        "1 point: for large beta each token attends almost only to itself, so the layer copies its input "
        "(y_i tends to x_i)."),
    "linear_attention_why": (
        "1 point: without the softmax, (Q K^T) V = Q (K^T V); computing K^T V first costs O(T d^2) and never "
        "forms the T x T matrix, so the cost is linear in T."),
}
