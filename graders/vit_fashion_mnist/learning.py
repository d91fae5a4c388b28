"""The learning check's budget for vit_fashion_mnist, shared by the grader (the student's ViT and train_epoch,
in the kernel) and by the reference run behind the threshold (on the host)."""

from __future__ import annotations

from pathlib import Path

import torch

import reference.vit_fashion_mnist as ref
from gradekit.datasets.images import ImageSet, to_float
from gradekit.thresholds import learning_threshold

# Runs in the student's kernel (and, with the reference's names, on the host): returns held-out logits.
TRAIN_AND_PREDICT = """
import torch
torch.manual_seed(seed)
model = ViT(image_size=28, patch_size=4, num_classes=10, channels=1, dim=dim, depth=depth, heads=heads,
            mlp_dim=mlp_dim)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
order = torch.Generator().manual_seed(seed)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch_size,
                                     shuffle=True, generator=order)
for _ in range(epochs):
    train_epoch(model, optimizer, loader, [])
model.eval()
with torch.no_grad():
    result = torch.cat([model(test_images[i : i + 200]) for i in range(0, len(test_images), 200)])
"""


def inputs(train: ImageSet, held_out: ImageSet, settings: dict) -> dict:
    """Training images with labels, held-out images without: their labels stay on the host."""
    n = int(settings["learn_train_images"])
    return dict(seed=int(settings["learn_seed"]), dim=int(settings["learn_dim"]), depth=int(settings["learn_depth"]),
                heads=int(settings["learn_heads"]), mlp_dim=int(settings["learn_mlp_dim"]),
                lr=float(settings["learn_lr"]), epochs=int(settings["learn_epochs"]),
                batch_size=int(settings["learn_batch_size"]), images=to_float(train.images[:n]),
                labels=train.labels[:n], test_images=to_float(held_out.images))


def accuracy(logits: torch.Tensor, held_out: ImageSet) -> float:
    return (logits.argmax(1) == held_out.labels).float().mean().item()


def reference_accuracy(train: ImageSet, held_out: ImageSet, settings: dict) -> float:
    return reference_accuracies(train, [held_out], settings)[0]


def reference_accuracies(train: ImageSet, held_outs: list[ImageSet], settings: dict) -> list[float]:
    """The reference's accuracy on each of several held-out sets, for one training run (the costly part)."""
    together = ImageSet(torch.cat([h.images for h in held_outs]), torch.cat([h.labels for h in held_outs]))
    scope = {"ViT": ref.ViT, "train_epoch": ref.train_epoch, **inputs(train, together, settings)}
    exec(compile(TRAIN_AND_PREDICT, "<learning check>", "exec"), scope)  # our own code, on our own data
    logits = scope["result"].split([len(h) for h in held_outs])
    return [accuracy(part, h) for part, h in zip(logits, held_outs, strict=True)]


def threshold_for(data: Path | None, train: ImageSet, held_out: ImageSet, settings: dict) -> tuple[float, str]:
    """(threshold, how it was set), see gradekit.thresholds."""
    return learning_threshold("vit", data, settings, lambda: reference_accuracy(train, held_out, settings),
                              bundled="the bundled images")
