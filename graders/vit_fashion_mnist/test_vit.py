"""The ViT: shapes on fresh inputs for both poolings, the class token and positions, the patch-size check,
the seed's parameter count, and, where the state dict has the reference's layout, the outputs themselves, for both
poolings, with weights the graders draw and load into both (never with weights the student's module chose). A
Conv2d patch embedding with kernel = stride = patch size is the Linear on cut patches: it gets the Linear's weights.
When the outputs differ, the tokens given to the transformer are compared too, to say which part is wrong.

Every check of vit_forward builds the ViT around the reference's Transformer (parts.py): it judges the ViT's own
code (patches, class token, positions, pooling, head), whatever the notebook's Transformer does. The parameter
count is the whole model's, the notebook's classes as they are."""

import pytest
import torch
from einops import rearrange

from gradekit import checks
from gradekit.proxy import NotImplementedByStudent, StudentCodeError

from . import parts

Q = "vit_forward"
SMALL = dict(image_size=28, patch_size=7, num_classes=5, channels=1, dim=16, depth=1, heads=2, mlp_dim=32,
             dim_head=8)


@pytest.mark.parametrize("batch", [1, 3, 7])
@pytest.mark.parametrize("pool", ["cls", "mean"])
@pytest.mark.question(Q, points=0.25)
def test_output_shape(submission, batch, pool, gen):
    """ViT maps (batch, channels, 28, 28) images to (batch, num_classes)"""
    vit = parts.vit(submission, **SMALL, pool=pool)
    images = torch.randn(batch, 1, 28, 28, generator=gen)
    checks.shape(vit(images, no_grad=True), (batch, 5), f"ViT(pool={pool!r}) output for {batch} image(s)")


@pytest.mark.question(Q, points=1)
def test_positional_embedding_covers_patches_and_class_token(submission):
    """pos_embedding has one position per patch plus one for the class token"""
    reading = checks.read_module(parts.vit(submission, **SMALL))
    params = {p["name"]: tuple(p["shape"]) for p in reading.rows}
    want = (1, (28 // 7) ** 2 + 1, 16)
    assert params.get("pos_embedding") == want, (
        f"pos_embedding should have shape {want} (16 patches + the class token); it is {params.get('pos_embedding')}")
    reading.assert_agrees()


@pytest.mark.question(Q, points=1)
def test_class_token_is_used(submission, gen):
    """With pool='cls', the output depends on the class token"""
    vit = parts.vit(submission, **SMALL, pool="cls")
    vit.method("eval")
    drawn = checks.load_drawn_weights(submission, vit, gen)
    assert "cls_token" in drawn, (
        f"ViT should have a learned cls_token of shape (1, 1, dim); parameters: {list(drawn)[:8]}")
    images = torch.randn(2, 1, 28, 28, generator=gen)
    before = checks.shape(vit(images, no_grad=True), (2, 5), "ViT output")
    # another random token, not a shift by a constant: every path reads the token through a LayerNorm
    checks.load_weights(submission, vit, {"cls_token": torch.randn(drawn["cls_token"].shape, generator=gen)})
    after = checks.shape(vit(images, no_grad=True), (2, 5), "ViT output")
    assert float((before - after).abs().max()) > 1e-6, (
        "changing cls_token did not change the output: prepend the class token to the patch tokens and, with "
        "pool='cls', classify its final state (x[:, 0])")


@pytest.mark.question(Q, points=1)
def test_image_size_must_be_divisible_by_patch_size(submission):
    """An image size not divisible by the patch size is refused when the ViT is built"""
    parts.vit(submission, **SMALL)  # a ViT that refuses everything refuses nothing in particular
    try:
        parts.vit(submission, **{**SMALL, "image_size": 30})
    except NotImplementedByStudent:
        raise
    except StudentCodeError:  # the student's code refused it: an assert, or a ValueError, with whatever words
        return
    pytest.fail("ViT(image_size=30, patch_size=7) was built without complaint: assert that the image size is "
                "divisible by the patch size, with a message")


LINEAR = ("to_patch_embedding.1.weight", "to_patch_embedding.1.bias")


def conv_patch_embedding(state: dict, config: dict) -> tuple[str, str] | None:
    """(weight, bias) of a patch embedding written as one Conv2d(channels, dim) with kernel = stride = the patch
    size: the patch cut and the Linear in one layer, its weight (dim, c, p1, p2) the Linear's (dim, (p1 p2 c))
    rearranged. None when the ViT has no such layer."""
    want = (config["dim"], config.get("channels", 3), *pair(config["patch_size"]))
    weights = [k for k, v in state.items() if k.startswith("to_patch_embedding") and tuple(v.shape) == want]
    if len(weights) != 1 or not weights[0].endswith("weight"):
        return None
    bias = weights[0].removesuffix("weight") + "bias"
    return (weights[0], bias) if bias in state and tuple(state[bias].shape) == (config["dim"],) else None


def pair(t):
    return t if isinstance(t, tuple) else (t, t)


def reference_and_yours(submission, reference, config: dict, gen: torch.Generator):
    """(your ViT, the reference ViT, the drawn weights), both in eval mode and holding the same drawn weights; or a
    failed check when your ViT's parameters are not laid out like the assignment's. A Conv2d patch embedding (kernel
    = stride = patch size) is given the drawn Linear's weights in its own layout."""
    vit = parts.vit(submission, **config)
    vit.method("eval")
    state = checks.read_module(vit).state
    model = reference.ViT(**config).eval()
    missing = set(model.state_dict()) - set(state)
    conv = conv_patch_embedding(state, config) if missing == set(LINEAR) else None
    if missing and not conv:
        pytest.fail(f"your ViT's parameters are not laid out like the assignment's ({len(missing)} names differ, "
                    f"e.g. {sorted(missing)[0]}), so its outputs could not be compared with the reference; the "
                    "shape and behaviour checks above still apply")
    drawn = checks.draw_like({k: v.shape for k, v in model.state_dict().items()}, gen)
    theirs = dict(drawn)
    if conv:
        p1, p2 = pair(config["patch_size"])
        theirs[conv[0]] = rearrange(theirs.pop(LINEAR[0]), "o (p1 p2 c) -> o c p1 p2", p1=p1, p2=p2)
        theirs[conv[1]] = theirs.pop(LINEAR[1])
    checks.load_weights(submission, vit, theirs)
    model.load_state_dict(drawn)
    return vit, model, drawn


# The tokens the ViT gives its transformer (read to name a mistake made before it; never to award points).
TRANSFORMER_INPUT = """
import torch
seen = []
result = None
t = getattr(vit, "transformer", None)
if isinstance(t, torch.nn.Module):
    hook = t.register_forward_pre_hook(
        lambda mod, args: seen.append(args[0].detach() if args and isinstance(args[0], torch.Tensor) else None))
    try:
        with torch.no_grad():
            vit(images)
    finally:
        hook.remove()
    result = seen[0] if seen else None
"""


def before_the_transformer(submission, vit, model, images: torch.Tensor, drawn: dict) -> str:
    """What is wrong with the tokens your ViT gives its transformer, compared with the reference's on the same
    weights; "" when they agree (the mistake comes after the transformer) or cannot be read."""
    try:
        got = submission.run(TRANSFORMER_INPUT, what="the tokens your ViT gives its transformer", vit=vit,
                             images=images)
    except StudentCodeError:
        return ""
    seen = []
    hook = model.transformer.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        model(images)
    hook.remove()
    want, pos = seen[0], drawn["pos_embedding"]
    n = want.shape[1] - 1
    if not isinstance(got, torch.Tensor):
        return ""
    if got.shape != want.shape:
        if got.dim() == 3 and got.shape[1] == n:
            return (f"your transformer is given {n} tokens, the patches alone: prepend the class token "
                    "(torch.cat((cls_tokens, x), dim=1)), then add pos_embedding")
        return (f"your transformer is given tokens of shape {checks.fmt_shape(got.shape)}, expected "
                f"{checks.fmt_shape(want.shape)} (the class token, then {n} patch tokens)")

    def same(a: torch.Tensor, b: torch.Tensor) -> bool:
        return torch.allclose(a.double(), b.double(), atol=1e-4, rtol=1e-4)

    if same(got, want):
        return ""
    if same(got + pos, want):
        return ("the positional embedding is never added: x = x + pos_embedding[:, : n + 1], once the class token "
                "is first")
    if same(got[:, 1:], want[:, 1:]):
        return ("the class token's row (cls_token + pos_embedding[:, 0]) differs: prepend cls_token to the patch "
                "tokens, then add pos_embedding")
    return ("the patch tokens your transformer is given differ from the reference's: to_patch_embedding cuts the "
            "image into patch_size x patch_size squares, row by row, flattens each as (p1 p2 c) and projects it with "
            "the Linear; then the class token goes first and x + pos_embedding")


@pytest.mark.question(Q, points=1)
def test_outputs_match_reference_with_your_weights(submission, reference, seed_config, gen):
    """With the same weights (drawn by the graders) loaded into yours and the reference ViT, the outputs agree"""
    vit, model, drawn = reference_and_yours(submission, reference, seed_config, gen)
    images = torch.randn(3, 1, 28, 28, generator=gen)
    with torch.no_grad():
        want = model(images)
    got = checks.shape(vit(images, no_grad=True), tuple(want.shape), "ViT output")
    hint = "patch embedding, class token first, + pos_embedding, transformer, pooling, mlp_head"
    if not torch.allclose(got.double(), want.double(), atol=1e-4, rtol=1e-4):
        hint = before_the_transformer(submission, vit, model, images, drawn) or hint
    checks.close(got, want, "ViT output", atol=1e-4, hint=hint)


@pytest.mark.question(Q, points=0.5)
def test_mean_pooling_matches_reference(submission, reference, gen):
    """With pool='mean' and the graders' weights, the output is mlp_head of the tokens' mean"""
    # "The mean over tokens" is read with or without the class token: both are accepted.
    config = {**SMALL, "depth": 2, "pool": "mean"}
    vit, model, drawn = reference_and_yours(submission, reference, config, gen)
    images = torch.randn(3, 1, 28, 28, generator=gen)
    tokens = []
    hook = model.transformer.register_forward_hook(lambda m, i, o: tokens.append(o))
    with torch.no_grad():
        model(images)
        hook.remove()
        every, patches = (model.mlp_head(x.mean(dim=1)) for x in (tokens[0], tokens[0][:, 1:]))
    got = checks.shape(vit(images, no_grad=True), (3, 5), "ViT(pool='mean') output")
    if torch.allclose(got.double(), patches.double(), atol=1e-4, rtol=1e-4):
        return
    hint = before_the_transformer(submission, vit, model, images, drawn) or (
        "with pool='mean', classify the mean of the transformer's output over the tokens (x.mean(dim=1))")
    checks.close(got, every, "ViT(pool='mean') output", atol=1e-4, hint=hint)


@pytest.mark.question("param_count", points=2)
def test_seed_config_parameter_count(submission, reference, seed_config):
    """The seed notebook's ViT has 499,722 trainable parameters"""
    vit = submission.new("ViT", **seed_config)
    reading = checks.read_module(vit)
    count = checks.trainable_count(reading.rows)
    want = reference.count_parameters(reference.ViT(**seed_config))
    if count != want:
        shared = parts.aliases(submission, vit)
        why = f": {parts.describe_aliases(shared)}, so the transformer's layers share their weights" if shared else ""
        pytest.fail(f"ViT(image_size=28, patch_size=4, ..., dim=64, depth=6, heads=4, mlp_dim=128) has {count:,} "
                    f"trainable parameters, expected {want:,}{why}")
    reading.assert_agrees()
