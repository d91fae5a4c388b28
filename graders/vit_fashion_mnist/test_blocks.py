"""PreNorm, FeedForward, Attention and Transformer: shapes on inputs drawn at grading time, then the numbers:
weights drawn on the host are loaded into the student's module (by name, in the student's own layout), and its
outputs are compared with the equations computed on the host from those same weights. With weights of its own
choosing (all zeros, say) a module that computes nothing could match.

Attention's projections may be one fused to_qkv (whichever third serves as queries, keys or values: a labelling of
its rows) or one Linear each. An output that differs is compared with what the common mistakes give (another
scale, the softmax over another dimension, heads merged by a bare reshape), so that the message names the one made.
The Transformer is built around the reference's blocks (parts.py), several layers deep, so that it is judged on its
own code: layers of their own, each applied once, with the residuals (their absence named)."""

from itertools import permutations

import pytest
import torch
import torch.nn.functional as F

from gradekit import checks
from gradekit.proxy import SubmissionError, missing_forward_cause

from . import parts

# Tells a module without forward from one whose forward is merely wrong: the seed notebook's Transformer has
# `def forward` indented inside __init__, where it is a local function and the class has none.
HAS_FORWARD = """
nested = [c.co_name for c in Transformer.__init__.__code__.co_consts if hasattr(c, "co_name")]
result = {"own_forward": "forward" in vars(Transformer), "forward_inside_init": "forward" in nested}
"""


AFFINE = """
import torch
class _Affine(torch.nn.Module):
    def forward(self, x):
        return 2 * x + 1
result = _Affine()
"""


def params_by_shape(drawn: dict) -> dict:
    return {tuple(v.shape): v for v in drawn.values()}


@pytest.mark.question("transformer", points=0.5)
def test_transformer_has_its_own_forward(submission, gen):
    """Transformer defines forward at class level, and it runs"""
    transformer = parts.transformer(submission, 16, 1, 2, 8, 32)  # an unwritten __init__ fails here
    found = submission.run(HAS_FORWARD, what="Transformer.forward", name="Transformer")
    if found["forward_inside_init"] and not found["own_forward"]:
        # The mistake the other Transformer checks meet as torch's "missing forward": one cause, said once.
        raise SubmissionError("Transformer has no forward method: `def forward` is indented inside `__init__`, so it "
                              "is only a local function there. Move it out one level, to the same indentation as "
                              "`def __init__`", cause=missing_forward_cause("Transformer"))
    assert found["own_forward"], "Transformer has no forward method"
    checks.shape(transformer(torch.randn(1, 3, 16, generator=gen), no_grad=True), (1, 3, 16), "Transformer output")


@pytest.mark.parametrize("batch, tokens", [(1, 1), (3, 17), (2, 50)])
@pytest.mark.question("prenorm", points=0.5)
def test_prenorm_normalises_then_applies_fn(submission, batch, tokens, gen):
    """PreNorm(dim, fn) returns fn(LayerNorm(x)), with LayerNorm weights the graders load"""
    # fn doubles and shifts: fn(LayerNorm(x)) and LayerNorm(fn(x)) then differ (with fn = Identity they would not).
    inner = submission.run(AFFINE, what="a probe module")
    block = submission.new("PreNorm", 12, inner)
    drawn = checks.load_drawn_weights(submission, block, gen)
    norm = [next((v for k, v in drawn.items() if k.endswith(end)), None) for end in ("weight", "bias")]
    x = torch.randn(batch, tokens, 12, generator=gen) * 3 + 1
    want = 2 * F.layer_norm(x, (12,), *norm) + 1
    checks.close(block(x, no_grad=True), want, f"PreNorm(12, fn)(x) for x of shape {tuple(x.shape)}, fn(y) = 2 y + 1",
                 atol=1e-4, hint="normalise x with nn.LayerNorm(dim), then apply fn to the result")


@pytest.mark.question("prenorm", points=0.5)
def test_prenorm_passes_keyword_arguments(submission, gen):
    """PreNorm forwards keyword arguments to fn: judged by what fn received, so that a PreNorm that normalises
    in the wrong place is charged by the test above, not here."""
    # Named `fn`, as the assignment calls PreNorm's second argument: messages show the module as "PreNorm(6, fn)".
    probe = submission.run("import torch\nclass fn(torch.nn.Module):\n    seen = None\n"
                           "    def forward(self, x, scale=1.0):\n        self.seen = scale\n        return x * scale\n"
                           "    def last_scale(self):\n        return self.seen\nresult = fn()", what="a probe module")
    block = submission.new("PreNorm", 6, probe)
    block(torch.randn(2, 3, 6, generator=gen), scale=2.0, no_grad=True)
    seen = probe.method("last_scale")
    assert seen == 2.0, (f"PreNorm(6, fn)(x, scale=2.0) called fn with scale={seen!r}: pass **kwargs through to "
                         "fn, as in `self.fn(self.norm(x), **kwargs)`")


@pytest.mark.parametrize("batch, tokens", [(1, 1), (4, 9)])
@pytest.mark.question("feedforward", points=0.5)
def test_feedforward_shape(submission, batch, tokens, gen):
    """FeedForward keeps the token shape"""
    ff = submission.new("FeedForward", 10, 24)
    x = torch.randn(batch, tokens, 10, generator=gen)
    checks.shape(ff(x, no_grad=True), (batch, tokens, 10), "FeedForward(10, 24) output")


@pytest.mark.question("feedforward", points=1)
def test_feedforward_is_linear_relu_linear(submission, gen):
    """FeedForward computes Linear, ReLU, Linear, with weights the graders load"""
    ff = submission.new("FeedForward", 10, 24)
    ff.method("eval")
    p = params_by_shape(checks.load_drawn_weights(submission, ff, gen))
    if not {(24, 10), (24,), (10, 24), (10,)} <= set(p):
        pytest.fail(f"FeedForward(10, 24) should hold Linear(10, 24) and Linear(24, 10); its parameters have shapes "
                    f"{sorted(p)}")
    x = torch.randn(3, 5, 10, generator=gen)
    want = F.linear(F.relu(F.linear(x, p[(24, 10)], p[(24,)])), p[(10, 24)], p[(10,)])
    checks.close(ff(x, no_grad=True), want, "FeedForward output", atol=1e-5,
                 hint="Linear(dim, hidden_dim), ReLU, Dropout, Linear(hidden_dim, dim), Dropout")


NAMED_ORDER = ("q", "k", "v")


def attention_weights(params: dict, heads: int, dim_head: int, dim: int) -> tuple[list[tuple[str, torch.Tensor]], ...]:
    """([(how, w_qkv)] in every assignment of the student's projections to queries, keys and values, rows in the
    reference's q, k, v order; to_out's weight or None; its bias or None), or a failed check naming the layout."""
    inner = heads * dim_head
    out_w = [v for k, v in params.items() if "to_out" in k and k.endswith("weight")]
    out_b = [v for k, v in params.items() if "to_out" in k and k.endswith("bias")]
    if not out_w and not (heads == 1 and dim_head == dim):
        pytest.fail(f"Attention({dim}, heads={heads}, dim_head={dim_head}) has no to_out projection: the heads "
                    "must be mixed back into the model's width by to_out = nn.Sequential(nn.Linear(heads * dim_head, "
                    "dim), nn.Dropout(dropout)); only one head of width dim needs none")
    projections = {k: v for k, v in params.items() if "to_out" not in k}
    if any(v.dim() == 1 for v in projections.values()):
        pytest.fail("Attention's projections to queries, keys and values should have no bias "
                    f"(nn.Linear(dim, {3 * inner}, bias=False)); its parameters are {sorted(params)}")
    weights = list(projections.values())
    widths = {tuple(v.shape[1:]) for v in weights}
    shapes = sorted(tuple(v.shape[:1]) for v in weights) if len(widths) == 1 and all(v.dim() == 2 for v in weights) \
        else None
    if shapes == [(3 * inner,)]:
        thirds = weights[0].chunk(3)
    elif shapes == [(inner,)] * 3:
        thirds = tuple(weights)
    elif shapes == [(inner,), (2 * inner,)]:
        one, two = sorted(weights, key=len)
        thirds = (one, *two.chunk(2))
    else:
        pytest.fail(f"Attention should have one to_qkv Linear(dim, 3 * heads * dim_head, bias=False) (or one Linear "
                    f"per query, key and value); its parameters are {[(k, tuple(v.shape)) for k, v in params.items()]}")
    layouts = [(" ".join(NAMED_ORDER[i] for i in order), torch.cat([thirds[i] for i in order]))
               for order in permutations(range(3))]
    return layouts, out_w[0] if out_w else None, out_b[0] if out_b else None


def attention_with(x: torch.Tensor, w_qkv: torch.Tensor, w_out, b_out, heads: int, dim_head: int, *, scale: float,
                   softmax_dim: int = -1, merge_by_reshape: bool = False) -> torch.Tensor:
    """The attention equations with one of the mistakes students make: another scale, the softmax over another
    dimension, or the heads merged by a reshape of (b, h, n, d) that skips moving the heads next to dim_head."""
    b, n, _ = x.shape
    q, k, v = (t.reshape(b, n, heads, dim_head).transpose(1, 2) for t in F.linear(x, w_qkv).chunk(3, dim=-1))
    attn = (q @ k.transpose(-1, -2) * scale).softmax(dim=softmax_dim)
    out = attn @ v  # (b, h, n, d)
    out = out.reshape(b, n, heads * dim_head) if merge_by_reshape else out.transpose(1, 2).reshape(b, n, -1)
    return F.linear(out, w_out, b_out) if w_out is not None else out


def attention_mistakes(x: torch.Tensor, w_out, b_out, heads: int, dim_head: int, dim: int) -> list:
    """[(what the student did, w_qkv -> the output it gives)], for naming the mistake when the output differs."""
    right = dim_head ** -0.5
    inner = heads * dim_head
    widths = {dim: "dim, the model width", inner: "heads * dim_head"}
    if dim == inner:
        widths = {dim: "dim, the model width, here also heads * dim_head"}
    found = [(f"the dot products are scaled by {w} ** -0.5 ({what}); scale them by dim_head ** -0.5 = "
              f"{dim_head} ** -0.5", {"scale": w ** -0.5}) for w, what in widths.items() if w != dim_head]
    found += [
        ("the dot products are not scaled; the weights are softmax(q k^T * dim_head ** -0.5)", {"scale": 1.0}),
        ("the softmax runs over the queries (dim=-2); it must run over the keys, the last dimension",
         {"scale": right, "softmax_dim": -2}),
        ("the softmax runs over the heads (dim=1); it must run over the keys, the last dimension",
         {"scale": right, "softmax_dim": 1}),
        ("the heads are merged by reshaping (b, heads, n, dim_head) to (b, n, heads * dim_head) without moving the "
         "heads next to dim_head first, which mixes the tokens' rows: transpose(1, 2) before the reshape (or "
         "rearrange(out, \"b h n d -> b n (h d)\"))", {"scale": right, "merge_by_reshape": True}),
    ]
    return [(why, lambda w, how=how: attention_with(x, w, w_out, b_out, heads, dim_head, **how)) for why, how in found]


def matches_one_layout(got: torch.Tensor, layouts: list, compute, what: str, hint: str, record_property,
                       mistakes: list = ()) -> None:
    """Pass when the output is the one some assignment of the projections gives (named, if not the first); when it
    is not, name the mistake whose output it is, if it is one of `mistakes`."""
    got = checks.tensor(got, what)

    def same(want: torch.Tensor) -> bool:
        return got.shape == want.shape and torch.allclose(got.double(), want.double(), atol=1e-4, rtol=1e-4)

    wants = [(how, compute(w_qkv)) for how, w_qkv in layouts]
    for i, (how, want) in enumerate(wants):
        if same(want):
            if i:
                record_property("info", f"the projections' parts serve as queries, keys and values in the order {how}")
            return
    why = next((why for why, wrong in mistakes for _, w_qkv in layouts if same(wrong(w_qkv))), "")
    checks.close(got, wants[0][1], what, atol=1e-4, hint=why or hint)


@pytest.mark.parametrize("batch, tokens, heads, dim_head", [(1, 5, 4, 8), (3, 17, 2, 16), (2, 50, 4, 64)])
@pytest.mark.question("attention", points=0.5)
def test_attention_matches_reference(submission, reference, batch, tokens, heads, dim_head, gen, record_property):
    """With weights the graders load, the output equals the attention equations"""
    attn = submission.new("Attention", 32, heads=heads, dim_head=dim_head)
    attn.method("eval")
    layouts, w_out, b_out = attention_weights(checks.load_drawn_weights(submission, attn, gen), heads, dim_head, 32)
    x = torch.randn(batch, tokens, 32, generator=gen)
    matches_one_layout(attn(x, no_grad=True),
                       layouts, lambda w: reference.attention_from_weights(x, w, w_out, b_out, heads, dim_head)[0],
                       f"Attention(32, heads={heads}, dim_head={dim_head}) output",
                       "softmax(q k^T * dim_head ** -0.5) over the keys, times v, heads merged, then to_out",
                       record_property, attention_mistakes(x, w_out, b_out, heads, dim_head, 32))


@pytest.mark.question("attention", points=1)
def test_attention_matches_torch_sdpa(submission, gen, record_property):
    """The output equals torch's scaled_dot_product_attention on the projections the graders load"""
    heads, dim_head = 4, 8
    attn = submission.new("Attention", 16, heads=heads, dim_head=dim_head)
    attn.method("eval")
    layouts, w_out, b_out = attention_weights(checks.load_drawn_weights(submission, attn, gen), heads, dim_head, 16)
    x = torch.randn(2, 7, 16, generator=gen)

    def sdpa(w_qkv: torch.Tensor) -> torch.Tensor:
        q, k, v = (t.reshape(2, 7, heads, dim_head).transpose(1, 2) for t in F.linear(x, w_qkv).chunk(3, dim=-1))
        mixed = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 7, heads * dim_head)
        return F.linear(mixed, w_out, b_out)

    matches_one_layout(attn(x, no_grad=True), layouts, sdpa, "Attention output", "", record_property,
                       attention_mistakes(x, w_out, b_out, heads, dim_head, 16))


@pytest.mark.question("attention", points=0.5)
def test_attention_rows_sum_to_one(submission, gen):
    """Each row of the attention weights sums to 1"""
    m = submission.new("Attention", 16, heads=2, dim_head=8)
    m.method("eval")
    checks.load_drawn_weights(submission, m, gen)
    rows = submission.run("""
import torch
seen = []
hook = m.attend.register_forward_hook(lambda mod, i, o: seen.append(o.detach()))
with torch.no_grad():
    m(x)
hook.remove()
result = seen[0] if seen else None
""", what="Attention's attention weights (self.attend)", name="Attention", m=m, x=torch.randn(3, 6, 16, generator=gen))
    if rows is None:
        pytest.fail("self.attend was never called: compute the attention weights with self.attend(dots), the "
                    "nn.Softmax(dim=-1) the notebook keeps, so that they can be read")
    weights = checks.shape(rows, (3, 2, 6, 6), "the attention weights from self.attend")
    checks.close(weights.sum(-1), torch.ones(3, 2, 6), "the sums of the attention weights over the keys",
                 hint="the softmax must run over the last dimension (the keys)")
    assert float(weights.std(-1).max()) > 1e-4, (
        "with the graders' random weights loaded, every query gives every key the same attention weight: the "
        "weights must come from softmax(q k^T * scale), which differ from key to key")


@pytest.mark.question("attention", points=0.5)
def test_single_full_width_head_needs_no_projection(submission, gen):
    """With heads=1 and dim_head=dim, to_out is the identity"""
    attn = submission.new("Attention", 16, heads=1, dim_head=16)
    reading = checks.read_module(attn)
    extra = [p["name"] for p in reading.rows if "to_out" in p["name"]]
    assert not extra, f"with one head of width dim, to_out should be nn.Identity(); it has parameters {extra}"
    reading.assert_agrees()
    x = torch.randn(2, 5, 16, generator=gen)
    checks.shape(attn(x, no_grad=True), (2, 5, 16), "Attention(16, heads=1, dim_head=16) output")


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.question("transformer", points=0.5)
def test_transformer_shape(submission, depth, gen):
    """Transformer keeps the token shape"""
    t = parts.transformer(submission, 16, depth, 2, 8, 32)
    x = torch.randn(2, 9, 16, generator=gen)
    checks.shape(t(x, no_grad=True), (2, 9, 16), f"Transformer(depth={depth}) output")


@pytest.mark.question("transformer", points=0.5)
def test_transformer_layers_own_their_weights(submission, gen):
    """Each of the depth layers has weights of its own, in a Transformer that runs"""
    t = parts.transformer(submission, 16, 3, 2, 8, 32)
    # Layers of their own earn the point only in a Transformer that does its job (issue 11, class 4).
    checks.shape(t(torch.randn(2, 9, 16, generator=gen), no_grad=True), (2, 9, 16), "Transformer(depth=3) output")
    shared = parts.aliases(submission, t)
    assert not shared, (
        f"Transformer(depth=3)'s layers share their weights: {parts.describe_aliases(shared)}. One block appended "
        "depth times is one layer applied depth times; build a new nn.ModuleList([PreNorm(dim, Attention(...)), "
        "PreNorm(dim, FeedForward(...))]) in each turn of the loop")


@pytest.mark.question("transformer", points=1)
def test_transformer_matches_reference(submission, reference, gen):
    """With the same weights (drawn by the graders) loaded into yours and the reference, the outputs agree"""
    t = parts.transformer(submission, 16, 3, 2, 8, 32)
    t.method("eval")
    state = checks.read_module(t).state
    ref = reference.Transformer(16, 3, 2, 8, 32).eval()
    if set(state) != set(ref.state_dict()):
        pytest.fail("Transformer's parameters are not laid out as layers.<i>.0 (PreNorm(Attention)) and "
                    f"layers.<i>.1 (PreNorm(FeedForward)); found {sorted(state)[:6]}...")
    drawn = checks.draw_like({k: v.shape for k, v in state.items()}, gen)
    checks.load_weights(submission, t, drawn)
    ref.load_state_dict(drawn)
    x = torch.randn(2, 9, 16, generator=gen)
    with torch.no_grad():
        want = ref(x)
    got = checks.shape(t(x, no_grad=True), tuple(want.shape), "Transformer(depth=3) output")
    with torch.no_grad():
        plain = x
        for attn, ff in ref.layers:
            plain = ff(attn(plain))
    hint = "each layer once, in order: x = attn(x) + x, then x = ff(x) + x"
    if torch.allclose(got.double(), plain.double(), atol=1e-4, rtol=1e-4):
        hint = ("the residual connections are missing: each block adds its input back, x = attn(x) + x, then "
                "x = ff(x) + x")
    checks.close(got, want, "Transformer(depth=3) output", atol=1e-4, hint=hint)
