"""Reference solution for the ViT assignment (FashionMNIST, after an early lucidrains/vit-pytorch).

    image (b, c, H, W) -> patches (b, n, p*p*c) -> Linear -> prepend [cls] -> + pos_embedding
        -> depth x [x + Attention(LN(x)), x + FeedForward(LN(x))] -> cls token or mean -> LN -> Linear

Names, signatures and the module tree match the course notebook, so a student's state_dict loads with
strict=True (transformer.layers.0.0.fn.to_qkv.weight, to_patch_embedding.1.weight, mlp_head.1.weight, ...).
The attention math lives in one function, `attention_from_weights`, which the Attention module calls and
the graders can feed a student's raw to_qkv / to_out weights.

Shapes: b batch, n tokens (patches, +1 with the class token), h heads, d dim_head, dim model width.
"""

import math
from collections.abc import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat
from einops.layers.torch import Rearrange
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

# -----------------------------------------------------------------------------
# helpers


def pair(t: int | tuple[int, int]) -> tuple[int, int]:
    """Sizes may be given as one int for square images/patches or as (height, width)."""
    return t if isinstance(t, tuple) else (t, t)


# -----------------------------------------------------------------------------
# attention: the math, then the module that owns the weights


def attention_from_weights(
    x: Tensor,
    w_qkv: Tensor,
    w_out: Tensor | None,
    b_out: Tensor | None,
    heads: int,
    dim_head: int,
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Multi-head self-attention from raw weights, e.g. a student's, mapped in.

    x: (b, n, dim); w_qkv: (3 * heads * dim_head, dim), rows in q, k, v order, each split head-major;
    w_out: (dim, heads * dim_head), or None for the identity the notebook uses when heads == 1 and
    dim_head == dim; b_out: (dim,) or None. Returns (output (b, n, dim), attention weights (b, h, n, n)).
    """
    scale = dim_head**-0.5 if scale is None else scale
    qkv = F.linear(x, w_qkv).chunk(3, dim=-1)  # 3 x (b, n, h*d)
    q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=heads, d=dim_head) for t in qkv)  # each (b, h, n, d)
    dots = torch.einsum("b h i d, b h j d -> b h i j", q, k) * scale  # (b, h, n, n) similarity of i to j
    attn = dots.softmax(dim=-1)  # (b, h, n, n) each query's weights over keys sum to 1
    out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)  # (b, h, n, d) weighted mix of values
    out = rearrange(out, "b h n d -> b n (h d)")  # (b, n, h*d) heads side by side
    if w_out is not None:
        out = F.linear(out, w_out, b_out)  # (b, n, dim) mix the heads back into the model width
    elif b_out is not None:
        out = out + b_out
    return out, attn


class Attention(nn.Module):
    """Every token looks at every token; `heads` independent looks of width `dim_head` each."""

    def __init__(self, dim: int, heads: int = 8, dim_head: int = 64, dropout: float = 0.0):
        super().__init__()
        inner_dim = dim_head * heads
        # one head already as wide as the model needs no output projection
        project_out = not (heads == 1 and dim_head == dim)

        self.heads = heads
        self.dim_head = dim_head
        self.scale = dim_head**-0.5

        # parameter-free; kept so the module tree (and its repr) matches the notebook's
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)

        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # x: (b, n, dim) -> (b, n, dim); the projection stays a module call so dropout and hooks apply
        out, _ = attention_from_weights(x, self.to_qkv.weight, None, None, self.heads, self.dim_head, self.scale)
        return self.to_out(out)  # (b, n, h*d) -> (b, n, dim)


# -----------------------------------------------------------------------------
# the transformer block's other pieces


class PreNorm(nn.Module):
    """LayerNorm before the sublayer (not after): the residual path stays an untouched identity."""

    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: Tensor, **kwargs) -> Tensor:
        return self.fn(self.norm(x), **kwargs)  # (b, n, dim) -> (b, n, dim)


class FeedForward(nn.Module):
    """Per-token MLP: where tokens think on their own after attention let them talk."""

    def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.ReLU(),  # the notebook's choice; the ViT paper uses GELU
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (b, n, dim) -> (b, n, hidden_dim) -> (b, n, dim)


class Transformer(nn.Module):
    """`depth` pre-norm blocks, each sublayer added onto the residual stream."""

    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(
                nn.ModuleList(
                    [
                        PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                        PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
                    ]
                )
            )

    def forward(self, x: Tensor) -> Tensor:
        # x: (b, n, dim) -> (b, n, dim). (The notebook indented this inside __init__, so it never ran.)
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


# -----------------------------------------------------------------------------
# the vision transformer


class ViT(nn.Module):
    """Cut the image into patches, treat them as a sequence of tokens, classify from a learned [cls] token."""

    def __init__(
        self,
        *,
        image_size: int | tuple[int, int],
        patch_size: int | tuple[int, int],
        num_classes: int,
        dim: int,
        depth: int,
        heads: int,
        mlp_dim: int,
        pool: str = "cls",
        channels: int = 3,
        dim_head: int = 64,
        dropout: float = 0.0,
        emb_dropout: float = 0.0,
    ):
        super().__init__()
        image_height, image_width = pair(image_size)
        patch_height, patch_width = pair(patch_size)

        assert image_height % patch_height == 0 and image_width % patch_width == 0, (
            "Image dimensions must be divisible by the patch size."
        )

        num_patches = (image_height // patch_height) * (image_width // patch_width)
        patch_dim = channels * patch_height * patch_width
        assert pool in {"cls", "mean"}, "pool type must be either cls (cls token) or mean (mean pooling)"

        # (b, c, H, W) -> (b, n, p1*p2*c) -> (b, n, dim): a patch is one flattened token, projected
        self.to_patch_embedding = nn.Sequential(
            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_height, p2=patch_width),
            nn.Linear(patch_dim, dim),
        )

        # attention is order-blind, so each position (cls first, then patches row-major) gets a learned offset
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))  # (1, n+1, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))  # (1, 1, dim) summary token, no image content
        self.dropout = nn.Dropout(emb_dropout)

        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)

        self.pool = pool
        self.to_latent = nn.Identity()

        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img: Tensor) -> Tensor:
        x = self.to_patch_embedding(img)  # (b, n, dim)
        b, n, _ = x.shape

        cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=b)  # (b, 1, dim)
        x = torch.cat((cls_tokens, x), dim=1)  # (b, n+1, dim)
        x = x + self.pos_embedding[:, : (n + 1)]
        x = self.dropout(x)

        x = self.transformer(x)  # (b, n+1, dim)

        x = x.mean(dim=1) if self.pool == "mean" else x[:, 0]  # (b, dim)

        x = self.to_latent(x)
        return self.mlp_head(x)  # (b, num_classes) logits


# -----------------------------------------------------------------------------
# data: a DataLoader-shaped iterable that needs nothing but torch


class ImageBatches:
    """(images, labels) in batches, shaped like the DataLoader the notebook loops over: iterable,
    len() = number of batches, `.dataset` with len() = number of examples. With `shuffle`, each pass
    draws a new order from a generator seeded once, so a run of epochs is reproducible."""

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int = 100,
        shuffle: bool = False,
        seed: int | None = None,
    ):
        # images: (N, c, H, W) float, labels: (N,) long
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset = TensorDataset(images, labels)
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.images[idx], self.labels[idx]  # (B, c, H, W), (B,)


# -----------------------------------------------------------------------------
# training and evaluation, as in the notebook

Loader = ImageBatches | DataLoader  # anything iterable over (data, target) with len() and .dataset


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data_loader: Loader,
    loss_history: list[float],
    verbose: bool = False,
) -> None:
    """One pass of gradient steps; every 100th batch's loss (from batch 0) is appended to `loss_history`."""
    total_samples = len(data_loader.dataset)
    model.train()

    for i, (data, target) in enumerate(data_loader):
        optimizer.zero_grad()
        output = F.log_softmax(model(data), dim=1)  # (B, num_classes)
        loss = F.nll_loss(output, target)  # mean over the batch
        loss.backward()
        optimizer.step()

        if i % 100 == 0:
            if verbose:
                print(
                    f"[{i * len(data):5}/{total_samples:5} ({100 * i / len(data_loader):3.0f}%)]"
                    f"\tLoss: {loss.item():6.4f}"
                )
            loss_history.append(loss.item())


def evaluate(
    model: nn.Module,
    data_loader: Loader,
    loss_history: list[float],
    verbose: bool = False,
) -> tuple[float, float]:
    """Average per-example loss (also appended to `loss_history`) and accuracy in [0, 1]; no updates."""
    model.eval()

    total_samples = len(data_loader.dataset)
    correct_samples = 0
    total_loss = 0.0

    with torch.no_grad():
        for data, target in data_loader:
            output = F.log_softmax(model(data), dim=1)  # (B, num_classes)
            loss = F.nll_loss(output, target, reduction="sum")
            pred = output.argmax(dim=1)  # (B,)

            total_loss += loss.item()
            correct_samples += int(pred.eq(target).sum().item())

    avg_loss = total_loss / total_samples
    accuracy = correct_samples / total_samples
    loss_history.append(avg_loss)
    if verbose:
        print(
            f"\nAverage test loss: {avg_loss:.4f}  Accuracy: {correct_samples:5}/{total_samples:5}"
            f" ({100.0 * accuracy:4.2f}%)\n"
        )
    return avg_loss, accuracy


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
