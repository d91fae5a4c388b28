"""Tests for the reference solution of the ViT assignment (reference/vit_fashion_mnist.py)."""

import time

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat
from einops.layers.torch import Rearrange

from reference.vit_fashion_mnist import (
    Attention,
    FeedForward,
    ImageBatches,
    PreNorm,
    Transformer,
    ViT,
    attention_from_weights,
    count_parameters,
    evaluate,
    train_epoch,
)

SEED_CONFIG = dict(image_size=28, patch_size=4, num_classes=10, channels=1, dim=64, depth=6, heads=4, mlp_dim=128)
# small enough that a test runs in milliseconds, with every part (projection, several heads) present
TINY_CONFIG = dict(
    image_size=8, patch_size=4, num_classes=3, channels=1, dim=16, depth=2, heads=2, dim_head=8, mlp_dim=32
)
BATCH_SIZES = [1, 3, 7]
# (dim, heads, dim_head): projected several heads, the seed's block, and the identity-output single head
ATTENTION_CONFIGS = [(16, 2, 8), (64, 4, 64), (16, 1, 16)]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_images(n: int, size: int = 8, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n, 1, size, size), torch.randint(0, classes, (n,))


def params_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


# -----------------------------------------------------------------------------
# the notebook's own classes (forward un-indented), to check that its state_dict loads and computes the same


class SeedAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner_dim = dim_head * heads
        project_out = not (heads == 1 and dim_head == dim)
        self.heads = heads
        self.scale = dim_head**-0.5
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()

    def forward(self, x):
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in qkv)
        attn = self.attend(torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale)
        out = rearrange(torch.einsum("b h i j, b h j d -> b h i d", attn, v), "b h n d -> b n (h d)")
        return self.to_out(out)


class SeedViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, channels, dim_head=64):
        super().__init__()
        num_patches = (image_size // patch_size) ** 2
        self.to_patch_embedding = nn.Sequential(
            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size),
            nn.Linear(channels * patch_size**2, dim),
        )
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(0.0)
        self.transformer = nn.Module()
        self.transformer.layers = nn.ModuleList(
            nn.ModuleList([PreNorm(dim, SeedAttention(dim, heads, dim_head)), PreNorm(dim, FeedForward(dim, mlp_dim))])
            for _ in range(depth)
        )
        self.to_latent = nn.Identity()
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img):
        x = self.to_patch_embedding(img)
        x = torch.cat((repeat(self.cls_token, "() n d -> b n d", b=x.shape[0]), x), dim=1) + self.pos_embedding
        for attn, ff in self.transformer.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.mlp_head(self.to_latent(x[:, 0]))


# -----------------------------------------------------------------------------
# parameters and state_dict layout


def test_seed_config_parameter_count():
    assert count_parameters(ViT(**SEED_CONFIG)) == 499_722


def test_count_parameters_skips_frozen():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert count_parameters(model) == 6


@pytest.mark.parametrize(
    "key",
    [
        "transformer.layers.0.0.norm.weight",
        "transformer.layers.0.0.fn.to_qkv.weight",
        "transformer.layers.0.0.fn.to_out.0.weight",
        "transformer.layers.0.1.fn.net.0.weight",
        "transformer.layers.5.1.fn.net.3.bias",
        "to_patch_embedding.1.weight",
        "pos_embedding",
        "cls_token",
        "mlp_head.0.weight",
        "mlp_head.1.weight",
    ],
)
def test_state_dict_has_seed_key(key):
    assert key in ViT(**SEED_CONFIG).state_dict()


def test_seed_state_dict_loads_strictly():
    ViT(**SEED_CONFIG).load_state_dict(SeedViT(**SEED_CONFIG).state_dict(), strict=True)


def test_seed_weights_give_seed_logits():
    seed_model = SeedViT(**SEED_CONFIG).eval()
    model = ViT(**SEED_CONFIG).eval()
    model.load_state_dict(seed_model.state_dict())
    images = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(model(images), seed_model(images), atol=1e-5, rtol=1e-5)


# -----------------------------------------------------------------------------
# shapes through every module


@pytest.mark.parametrize("b", BATCH_SIZES)
def test_patch_embedding_shape(b):
    model = ViT(**SEED_CONFIG)
    assert model.to_patch_embedding(torch.randn(b, 1, 28, 28)).shape == (b, 49, 64)


@pytest.mark.parametrize("b", BATCH_SIZES)
@pytest.mark.parametrize(("dim", "heads", "dim_head"), ATTENTION_CONFIGS)
def test_attention_shape(b, dim, heads, dim_head):
    assert Attention(dim, heads, dim_head)(torch.randn(b, 5, dim)).shape == (b, 5, dim)


@pytest.mark.parametrize("b", BATCH_SIZES)
def test_feedforward_shape(b):
    assert FeedForward(16, 32)(torch.randn(b, 5, 16)).shape == (b, 5, 16)


@pytest.mark.parametrize("b", BATCH_SIZES)
def test_prenorm_shape(b):
    assert PreNorm(16, FeedForward(16, 32))(torch.randn(b, 5, 16)).shape == (b, 5, 16)


@pytest.mark.parametrize("b", BATCH_SIZES)
def test_transformer_shape(b):
    assert Transformer(16, depth=2, heads=2, dim_head=8, mlp_dim=32)(torch.randn(b, 5, 16)).shape == (b, 5, 16)


@pytest.mark.parametrize("b", BATCH_SIZES)
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_vit_output_shape(b, pool):
    assert ViT(**SEED_CONFIG, pool=pool)(torch.randn(b, 1, 28, 28)).shape == (b, 10)


def test_non_square_image_and_patch():
    model = ViT(**{**TINY_CONFIG, "image_size": (8, 12), "patch_size": (4, 3)})
    assert model(torch.randn(2, 1, 8, 12)).shape == (2, 3)


# -----------------------------------------------------------------------------
# attention


@pytest.mark.parametrize(("dim", "heads", "dim_head"), ATTENTION_CONFIGS)
def test_attention_matches_scaled_dot_product_attention(dim, heads, dim_head):
    attn = Attention(dim, heads, dim_head).eval()
    x = torch.randn(3, 7, dim)
    q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=heads) for t in attn.to_qkv(x).chunk(3, dim=-1))
    expected = attn.to_out(rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)"))
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("dim", "heads", "dim_head"), ATTENTION_CONFIGS)
def test_attention_rows_sum_to_one(dim, heads, dim_head):
    attn = Attention(dim, heads, dim_head)
    _, weights = attention_from_weights(torch.randn(3, 7, dim), attn.to_qkv.weight, None, None, heads, dim_head)
    assert weights.shape == (3, heads, 7, 7)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(3, heads, 7))


@pytest.mark.parametrize(
    ("dim", "heads", "dim_head", "identity"),
    [(16, 1, 16, True), (16, 1, 8, False), (16, 2, 8, False), (16, 2, 16, False)],
)
def test_output_projection_only_when_needed(dim, heads, dim_head, identity):
    assert isinstance(Attention(dim, heads, dim_head).to_out, nn.Identity) == identity


@pytest.mark.parametrize(("dim", "heads", "dim_head"), ATTENTION_CONFIGS)
def test_attention_from_weights_matches_module(dim, heads, dim_head):
    attn = Attention(dim, heads, dim_head).eval()
    x = torch.randn(3, 7, dim)
    proj = attn.to_out[0] if isinstance(attn.to_out, nn.Sequential) else None
    out, _ = attention_from_weights(
        x,
        attn.to_qkv.weight,
        None if proj is None else proj.weight,
        None if proj is None else proj.bias,
        heads,
        dim_head,
    )
    torch.testing.assert_close(out, attn(x), atol=1e-6, rtol=1e-6)


def test_attention_from_weights_honours_scale():
    attn = Attention(16, 2, 8)
    x = torch.randn(2, 5, 16)
    _, default = attention_from_weights(x, attn.to_qkv.weight, None, None, 2, 8)
    _, flat = attention_from_weights(x, attn.to_qkv.weight, None, None, 2, 8, scale=0.0)
    assert not torch.allclose(default, flat)
    torch.testing.assert_close(flat, torch.full_like(flat, 1 / 5))


# -----------------------------------------------------------------------------
# patches, positions and the class token


@pytest.mark.parametrize(("image_size", "patch_size"), [(29, 4), ((28, 30), 4), (28, (4, 3))])
def test_indivisible_image_size_raises(image_size, patch_size):
    with pytest.raises(AssertionError, match="divisible"):
        ViT(**{**SEED_CONFIG, "image_size": image_size, "patch_size": patch_size})


def test_unknown_pool_raises():
    with pytest.raises(AssertionError, match="pool"):
        ViT(**SEED_CONFIG, pool="max")


@pytest.mark.parametrize(
    ("image_size", "patch_size", "num_patches"), [(28, 4, 49), (28, 7, 16), (28, 14, 4), ((8, 12), (4, 3), 8)]
)
def test_pos_embedding_has_one_position_per_patch_plus_cls(image_size, patch_size, num_patches):
    model = ViT(**{**TINY_CONFIG, "image_size": image_size, "patch_size": patch_size})
    assert model.pos_embedding.shape == (1, num_patches + 1, TINY_CONFIG["dim"])


def test_cls_token_is_prepended():
    model = ViT(**TINY_CONFIG).eval()
    images = torch.randn(3, 1, 8, 8)
    seen = {}
    model.transformer.register_forward_hook(lambda m, args, out: seen.setdefault("x", args[0]))
    model(images)
    patches = model.to_patch_embedding(images)  # (3, 4, dim)
    expected = torch.cat([model.cls_token.expand(3, 1, -1), patches], dim=1) + model.pos_embedding
    torch.testing.assert_close(seen["x"], expected)


def test_cls_pool_output_depends_on_cls_token():
    model = ViT(**TINY_CONFIG, pool="cls").eval()
    images = torch.randn(3, 1, 8, 8)
    before = model(images)
    with torch.no_grad():
        # a random nudge: a constant shift would be invisible, as every LayerNorm removes the mean
        model.cls_token.add_(torch.randn_like(model.cls_token))
    assert not torch.allclose(model(images), before)


# -----------------------------------------------------------------------------
# training, evaluation and batching


def test_train_epoch_changes_parameters():
    model = ViT(**TINY_CONFIG)
    before = params_copy(model)
    train_epoch(model, torch.optim.Adam(model.parameters(), lr=1e-3), ImageBatches(*random_images(20), 5), [])
    assert all(not torch.equal(before[k], v) for k, v in model.named_parameters())


@pytest.mark.parametrize(("n_batches", "logged"), [(1, 1), (100, 1), (101, 2), (201, 3)])
def test_train_epoch_logs_every_hundredth_batch(n_batches, logged):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))  # the logging does not need a ViT, only many batches
    history: list[float] = []
    train_epoch(
        model, torch.optim.SGD(model.parameters(), lr=1e-3), ImageBatches(*random_images(n_batches), 1), history
    )
    assert len(history) == logged


def test_evaluate_leaves_parameters_unchanged():
    model = ViT(**TINY_CONFIG, dropout=0.5, emb_dropout=0.5)
    before = params_copy(model)
    evaluate(model, ImageBatches(*random_images(20), 6), [])
    assert all(torch.equal(before[k], v) for k, v in model.named_parameters())


def test_evaluate_returns_average_loss_and_accuracy():
    model = ViT(**TINY_CONFIG)
    history: list[float] = []
    avg_loss, accuracy = evaluate(model, ImageBatches(*random_images(20), 6), history)
    assert 0.0 <= accuracy <= 1.0
    assert history == [avg_loss]


def test_evaluate_accuracy_and_loss_values():
    class ConstantLogits(nn.Module):  # always says class 0, with probability 1/2
        def forward(self, x):
            return torch.log(torch.tensor([[2.0, 1.0, 1.0]])).expand(len(x), 3)

    labels = torch.tensor([0, 0, 0, 1, 2])
    avg_loss, accuracy = evaluate(ConstantLogits(), ImageBatches(torch.zeros(5, 1, 8, 8), labels, 2), [])
    assert accuracy == pytest.approx(3 / 5)
    assert avg_loss == pytest.approx((3 * 0.6931472 + 2 * 1.3862944) / 5)


def test_train_and_evaluate_accept_a_torch_dataloader():
    model = ViT(**TINY_CONFIG)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*random_images(10)), batch_size=4)
    train_epoch(model, torch.optim.Adam(model.parameters()), loader, [])
    assert 0.0 <= evaluate(model, loader, [])[1] <= 1.0


@pytest.mark.parametrize(("n", "batch_size", "n_batches"), [(10, 3, 4), (9, 3, 3), (2, 5, 1), (2000, 100, 20)])
def test_image_batches_counts(n, batch_size, n_batches):
    batches = ImageBatches(*random_images(n), batch_size)
    assert (len(batches), len(batches.dataset), len(list(batches))) == (n_batches, n, n_batches)


def test_image_batches_keep_order_without_shuffle():
    images, labels = random_images(10)
    got_images, got_labels = (torch.cat(t) for t in zip(*ImageBatches(images, labels, 3), strict=True))
    assert torch.equal(got_images, images) and torch.equal(got_labels, labels)


def test_image_batches_shuffle_is_a_seeded_permutation():
    labels = torch.arange(50)
    images = labels.float().view(50, 1, 1, 1).expand(50, 1, 2, 2)

    def epoch_order(batches):
        return torch.cat([y for _, y in batches])

    first = ImageBatches(images, labels, 8, shuffle=True, seed=1)
    order = epoch_order(first)
    assert not torch.equal(order, labels)
    assert torch.equal(order.sort().values, labels)
    assert torch.equal(epoch_order(ImageBatches(images, labels, 8, shuffle=True, seed=1)), order)
    assert not torch.equal(epoch_order(first), order)  # a new order each epoch
    assert all(torch.equal(x[:, 0, 0, 0].long(), y) for x, y in first)  # images stay with their labels


def test_image_batches_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="labels"):
        ImageBatches(torch.zeros(3, 1, 8, 8), torch.zeros(4, dtype=torch.long))


# -----------------------------------------------------------------------------
# timing figures for the grading budget (printed, not asserted)


@pytest.mark.parametrize("depth", [6, 2])
def test_report_train_epoch_time(depth):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = ViT(**{**SEED_CONFIG, "depth": depth})
        data = ImageBatches(torch.randn(2000, 1, 28, 28), torch.randint(0, 10, (2000,)), 100)
        history: list[float] = []
        start = time.perf_counter()
        train_epoch(model, torch.optim.Adam(model.parameters(), lr=0.003), data, history)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    print(f"\ntrain_epoch, 2000 images of 28x28, batch 100, 1 thread, depth={depth}: {seconds:.2f} s")
    assert len(history) == 1
