"""Reference solution for the BERT + GRU sentiment assignment (IMDb reviews -> positive/negative).

A pretrained BERT turns WordPiece ids into contextual vectors; only a small GRU head on top is trained:

    text -> WordPiece tokens (cut to fit) -> [CLS] ids [SEP] -> frozen BERT -> GRU -> Linear -> logit

Unlike the RNN assignment everything is batch first, (batch, seq_len, features), as BERT wants it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn as nn

from reference.rnn_sentiment import binary_accuracy

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "MAX_INPUT_LENGTH",
    "BERTGRUSentiment",
    "Batch",
    "binary_accuracy",
    "count_parameters",
    "encode",
    "evaluate",
    "fit",
    "freeze_bert",
    "make_batches",
    "predict_sentiment",
    "tokenize_and_cut",
    "train",
]

# -----------------------------------------------------------------------------
# text -> ids

MAX_INPUT_LENGTH = 512  # bert-base-uncased's position table; tokenizer.model_max_length says the same


def tokenize_and_cut(
    tokenizer: PreTrainedTokenizerBase, sentence: str, max_input_length: int = MAX_INPUT_LENGTH
) -> list[str]:
    """WordPiece tokens of `sentence`, cut so that they still fit once [CLS] and [SEP] are added."""
    return tokenizer.tokenize(sentence)[: max_input_length - 2]


def encode(tokenizer: PreTrainedTokenizerBase, sentence: str) -> list[int]:
    """[CLS] ids [SEP]: the framing BERT was pretrained with, at most MAX_INPUT_LENGTH ids long."""
    ids = tokenizer.convert_tokens_to_ids(tokenize_and_cut(tokenizer, sentence))
    return [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id]


# -----------------------------------------------------------------------------
# the model


class BERTGRUSentiment(nn.Module):
    """BERT as a fixed feature extractor, a (bi)GRU reading its vectors, a linear layer on the final states."""

    def __init__(
        self,
        bert: nn.Module,
        hidden_dim: int,
        output_dim: int,
        n_layers: int,
        bidirectional: bool,
        dropout: float,
    ):
        super().__init__()
        self.bert = bert
        embedding_dim = bert.config.to_dict()["hidden_size"]  # 768 for bert-base, 384 for MiniLM
        self.rnn = nn.GRU(
            embedding_dim,
            hidden_dim,
            num_layers=n_layers,
            bidirectional=bidirectional,
            batch_first=True,
            dropout=0 if n_layers < 2 else dropout,  # GRU dropout acts between layers only
        )
        self.out = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        # text: (B, T) ids -> (B, output_dim) logits
        with torch.no_grad():  # BERT is not trained: no graph through it, whatever requires_grad says
            embedded = self.bert(text)[0]  # (B, T, E) last hidden states
        _, hidden = self.rnn(embedded)  # (n_layers * directions, B, H), last layer's directions last
        if self.rnn.bidirectional:
            # forward direction after the last token, backward direction after the first
            hidden = torch.cat((hidden[-2], hidden[-1]), dim=1)  # (B, 2H)
        else:
            hidden = hidden[-1]  # (B, H)
        return self.out(self.dropout(hidden))  # (B, output_dim)


def freeze_bert(model: nn.Module) -> None:
    """Stop the optimizer from touching BERT: ~110M of the ~112M parameters are its."""
    for name, param in model.named_parameters():
        if name.startswith("bert"):
            param.requires_grad = False


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -----------------------------------------------------------------------------
# batching and the training loop


class Batch(NamedTuple):
    text: torch.Tensor  # (B, T) ids, [CLS] ... [SEP] then padding on the right
    label: torch.Tensor  # (B,) float 0/1


def make_batches(id_lists: list[list[int]], labels: list[int], batch_size: int, pad_index: int = 0) -> list[Batch]:
    """Right-pad encoded reviews (already framed by [CLS]/[SEP]) into batch-first batches, in order."""
    if len(id_lists) != len(labels):
        raise ValueError(f"{len(id_lists)} reviews but {len(labels)} labels")
    batches = []
    for start in range(0, len(id_lists), batch_size):
        reviews = id_lists[start : start + batch_size]
        text = torch.full((len(reviews), max(len(r) for r in reviews)), pad_index, dtype=torch.long)  # (B, T)
        for b, review in enumerate(reviews):
            text[b, : len(review)] = torch.tensor(review, dtype=torch.long)
        label = torch.tensor(labels[start : start + batch_size], dtype=torch.float)  # (B,)
        batches.append(Batch(text, label))
    return batches


def train(
    model: nn.Module, iterator: Iterable[Batch], optimizer: torch.optim.Optimizer, criterion: nn.Module
) -> tuple[float, float]:
    """One epoch of gradient steps; returns (mean loss, mean accuracy) over batches."""
    model.train()
    total_loss, total_acc, n = 0.0, 0.0, 0
    for batch in iterator:
        optimizer.zero_grad()
        predictions = model(batch.text).squeeze(1)  # (B,) logits
        loss = criterion(predictions, batch.label)
        acc = binary_accuracy(predictions.detach(), batch.label)
        loss.backward()
        optimizer.step()
        total_loss, total_acc, n = total_loss + loss.item(), total_acc + acc.item(), n + 1
    if n == 0:
        raise ValueError("iterator yielded no batches")
    return total_loss / n, total_acc / n


def evaluate(model: nn.Module, iterator: Iterable[Batch], criterion: nn.Module) -> tuple[float, float]:
    """Loss and accuracy without dropout, gradients or parameter updates."""
    model.eval()
    total_loss, total_acc, n = 0.0, 0.0, 0
    with torch.no_grad():
        for batch in iterator:
            predictions = model(batch.text).squeeze(1)  # (B,) logits
            loss = criterion(predictions, batch.label)
            acc = binary_accuracy(predictions, batch.label)
            total_loss, total_acc, n = total_loss + loss.item(), total_acc + acc.item(), n + 1
    if n == 0:
        raise ValueError("iterator yielded no batches")
    return total_loss / n, total_acc / n


def fit(
    model: nn.Module,
    train_iterator: Iterable[Batch],
    valid_iterator: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    n_epochs: int,
    path: str = "model.pt",
) -> list[dict]:
    """The epoch loop: checkpoint whenever validation loss is the best so far, end holding that best state
    (the last epoch may already be overfitting)."""
    if n_epochs < 1:
        raise ValueError(f"n_epochs must be at least 1, got {n_epochs}")
    history = []
    best_valid_loss = math.inf
    for epoch in range(1, n_epochs + 1):
        train_loss, train_acc = train(model, train_iterator, optimizer, criterion)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            torch.save(model.state_dict(), path)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_acc": train_acc,
                "valid_loss": valid_loss,
                "valid_acc": valid_acc,
            }
        )
    if math.isinf(best_valid_loss):  # never saved: loading would pick up a stale file or fail
        raise RuntimeError(f"no epoch had a finite validation loss: {[h['valid_loss'] for h in history]}")
    model.load_state_dict(torch.load(path, weights_only=True))
    return history


# -----------------------------------------------------------------------------
# inference


def predict_sentiment(model: nn.Module, tokenizer: PreTrainedTokenizerBase, sentence: str) -> float:
    """Probability that `sentence` is a positive review; any length works, the tokens are cut to fit."""
    model.eval()
    device = next(model.parameters()).device
    tensor = torch.tensor(encode(tokenizer, sentence), dtype=torch.long, device=device).unsqueeze(0)  # (1, T)
    with torch.no_grad():
        prediction = torch.sigmoid(model(tensor))  # (1, 1)
    return prediction.item()
