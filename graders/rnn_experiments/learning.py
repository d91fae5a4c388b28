"""The learning check's budget, shared by the grader (the student's classifier class, in the kernel) and by the
reference run behind the threshold (on the host): one snippet, run with either side's names.

Batches are made on the host from the reference vocabulary of the training reviews; the held-out reviews go in
as ids and lengths only, their labels stay here."""

from __future__ import annotations

from pathlib import Path

import torch

import reference.rnn_experiments as ref
from gradekit.datasets.sentiment import Review
from gradekit.shared_checks import RECORD_LOSS
from gradekit.thresholds import learning_threshold

# Runs in the student's kernel (and on the host with the reference's classes): returns held-out logits (N, 2).
TRAIN_AND_PREDICT = """
import torch
""" + RECORD_LOSS + """
torch.manual_seed(seed)
model = globals()[class_name](vocab_size, embedding_dim, hidden_dim, 2, 1, 0.0, 0, False)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
criterion = _RecordedLoss(torch.nn.CrossEntropyLoss())
order = torch.Generator().manual_seed(seed)
for _ in range(epochs):
    model.train()
    for i in torch.randperm(len(batches), generator=order).tolist():
        ids, length, label = batches[i]
        optimizer.zero_grad()
        criterion(model(ids, length), label).backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    result = {"logits": torch.cat([model(ids, length) for ids, length in test_batches]), "losses": criterion.values}
"""


def vocab(train: list[Review]) -> dict[str, int]:
    return ref.build_vocab([r.text for r in train], ref.HyperParams.MIN_FREQ, ref.HyperParams())


def batches(vocab: dict[str, int], reviews: list[Review], batch_size: int, labels: bool = True) -> list[tuple]:
    """(ids (B, T), length (B,)[, label (B,)]) in the notebook's batch-first layout, padded with PAD_INDEX."""
    out = []
    for start in range(0, len(reviews), batch_size):
        chunk = reviews[start : start + batch_size]
        items = [{"ids": ref.tokenize(vocab, ref.HyperParams, r.text)[: ref.HyperParams.MAX_LENGTH] or
                  [ref.HyperParams.UNK_INDEX], "label": r.label} for r in chunk]
        for item in items:
            item["length"] = len(item["ids"])
        batch = ref.collate(items)
        out.append((batch["ids"], batch["length"], batch["label"]) if labels else (batch["ids"], batch["length"]))
    return out


def inputs(class_name: str, train: list[Review], held_out: list[Review], settings: dict) -> dict:
    """Everything the snippet needs: training batches with labels, held-out batches without."""
    reviews = train[: int(settings["learn_train_reviews"])]
    words = vocab(reviews)
    return dict(class_name=class_name, seed=int(settings["learn_seed"]), vocab_size=len(words),
                embedding_dim=int(settings["learn_embedding_dim"]), hidden_dim=int(settings["learn_hidden_dim"]),
                lr=float(settings["learn_lr"]), epochs=int(settings["learn_epochs"]),
                batches=batches(words, reviews, int(settings["learn_batch_size"])),
                test_batches=batches(words, held_out, 200, labels=False))


def accuracy(logits: torch.Tensor, held_out: list[Review]) -> float:
    labels = torch.tensor([r.label for r in held_out])
    return (logits.argmax(dim=-1) == labels).float().mean().item()


def reference_accuracy(class_name: str, train: list[Review], held_out: list[Review], settings: dict) -> float:
    scope = {"LSTMClassifier": ref.LSTMClassifier, "GRUClassifier": ref.GRUClassifier,
             **inputs(class_name, train, held_out, settings)}
    exec(compile(TRAIN_AND_PREDICT, "<learning check>", "exec"), scope)  # our own code, on our own data
    return accuracy(scope["result"]["logits"], held_out)


def threshold_for(data: Path | None, class_name: str, train: list[Review], held_out: list[Review],
                  settings: dict) -> tuple[float, str]:
    """(threshold, how it was set) for `class_name`, see gradekit.thresholds."""
    return learning_threshold("rnn_experiments", data, settings,
                              lambda: reference_accuracy(class_name, train, held_out, settings),
                              bundled="the bundled reviews", cache_key=class_name)
