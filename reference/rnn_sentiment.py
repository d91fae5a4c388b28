"""Reference solution for the RNN sentiment assignment (IMDb-style reviews -> positive/negative).

Everything the lecture builds from framework layers is written out here as plain tensor math, so the
graders can compare a student's modules against one readable source of the equations:

    text -> words -> vocabulary ids -> Embedding -> LSTM/RNN (length aware) -> Linear -> sigmoid

Shapes follow PyTorch's RNN convention: time first, (seq_len, batch, features).
"""

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

# -----------------------------------------------------------------------------
# text -> ids


class HyperParams:
    """Constants shared by the vocabulary, the tokenizer and the batching code."""

    PAD_TOKEN = "<pad>"
    UNK_TOKEN = "<unk>"
    PAD_INDEX = 0
    UNK_INDEX = 1
    MAX_LENGTH = 64
    # Negations and contrast words (not, no, never, nor, but, yet, although, though) are deliberately
    # kept: they flip the sentiment of a review.
    STOP_WORDS = frozenset(
        """
        a an the and or of to in on at for with by from as is are was were be been being it its this that
        these those i me my we our you your he she they them his her their there here am do does did has
        have had so than then just very too also about into over after before while which who whom what
        when where why how all any both each few more most other some such own same s t can will should
        now film movie
        """.split()
    )


WORD_RE = re.compile(r"[a-zA-Z]+")
TAG_RE = re.compile(r"<[^>]*>")


def words(text: str) -> list[str]:
    """Lower-cased letter runs of `text`; HTML tags (reviews are full of <br />) become spaces."""
    return [w.lower() for w in WORD_RE.findall(TAG_RE.sub(" ", text))]


def build_vocab(x_train: list[str], min_freq: int = 5, hparams: HyperParams | None = None) -> dict[str, int]:
    """word -> id for words seen at least `min_freq` times; ids by decreasing count, ties alphabetical."""
    hparams = hparams if hparams is not None else HyperParams()
    counts = Counter(w for text in x_train for w in words(text) if w not in hparams.STOP_WORDS)
    kept = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
    vocab = {hparams.PAD_TOKEN: hparams.PAD_INDEX, hparams.UNK_TOKEN: hparams.UNK_INDEX}
    vocab.update((w, i) for i, w in enumerate(kept, start=2))
    return vocab


def tokenize(vocab: dict[str, int], hparams: HyperParams, example: str) -> list[int]:
    """Ids of the non-stop words of `example`; out-of-vocabulary words map to UNK."""
    return [vocab.get(w, hparams.UNK_INDEX) for w in words(example) if w not in hparams.STOP_WORDS]


# -----------------------------------------------------------------------------
# embedding


class Embedding(nn.Module):
    """A lookup table whose padding row is always zero, so padding carries no signal and learns nothing."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None):
        super().__init__()
        self.padding_idx = padding_idx
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))  # (V, E), N(0, 1)
        padding_mask = torch.ones(num_embeddings, 1)  # (V, 1)
        if padding_idx is not None:
            padding_mask[padding_idx] = 0.0
        self.register_buffer("padding_mask", padding_mask)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # inputs: (*shape) integer ids -> (*shape, E); the mask also zeroes the padding row's gradient
        return (self.weight * self.padding_mask)[inputs]


# -----------------------------------------------------------------------------
# recurrences: one step function per cell, one scan shared by both


def lstm_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step; the 4H gate rows are in PyTorch's order i, f, g, o."""
    # x_t: (B, I), h, c: (B, H), W_ih: (4H, I), W_hh: (4H, H), b_ih, b_hh: (4H,)
    gates = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g  # forget part of the old memory, write the gated candidate
    h = o * torch.tanh(c)  # expose a gated view of the memory
    return h, c


def rnn_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> torch.Tensor:
    """One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    # x_t: (B, I), h: (B, H), W_ih: (H, I), W_hh: (H, H), b_ih, b_hh: (H,)
    return torch.tanh(x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


def _scan(
    cell: Callable[..., tuple[torch.Tensor, ...]],
    x: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    lengths: torch.Tensor | None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run `cell` over time. With `lengths`, a sequence's state freezes after its own last real step
    (so padding cannot leak into it) and its outputs past that step are zero, as pad_packed_sequence gives."""
    # x: (T, B, I), state: tuple of (B, H), lengths: (B,) or None
    T = x.shape[0]
    mask = None
    if lengths is not None:
        mask = torch.arange(T, device=x.device)[:, None] < lengths.to(x.device)[None, :]  # (T, B)
    outputs = []
    for t in range(T):
        new_state = cell(x[t], *state)
        out = new_state[0]  # (B, H)
        if mask is not None:
            real = mask[t, :, None]  # (B, 1)
            new_state = tuple(torch.where(real, n, s) for n, s in zip(new_state, state, strict=True))
            out = torch.where(real, out, torch.zeros_like(out))
        state = new_state
        outputs.append(out)
    return torch.stack(outputs), state  # (T, B, H), tuple of (B, H)


def _initial_state(s: torch.Tensor | None, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """(1, B, H) or (B, H) state -> (B, H); zeros when not given."""
    batch = x.shape[1]
    return x.new_zeros(batch, hidden_size) if s is None else s.reshape(batch, hidden_size)


def lstm_sequence(
    x: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The LSTM recurrence over a padded (T, B, I) tensor with raw weights, e.g. a student's, mapped in.
    Returns h_seq (T, B, H) and h_n, c_n (1, B, H) like nn.LSTM; `lengths` (B,) enables masking."""
    H = W_hh.shape[1]
    h, c = _initial_state(h0, x, H), _initial_state(c0, x, H)

    def cell(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return lstm_step(x_t, h, c, W_ih, W_hh, b_ih, b_hh)

    h_seq, (h, c) = _scan(cell, x, (h, c), lengths)
    return h_seq, h[None], c[None]


def rnn_sequence(
    x: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    h0: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Elman recurrence over a padded (T, B, I) tensor; returns h_seq (T, B, H) and h_n (1, B, H)."""
    h = _initial_state(h0, x, W_hh.shape[1])

    def cell(x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor]:
        return (rnn_step(x_t, h, W_ih, W_hh, b_ih, b_hh),)

    h_seq, (h,) = _scan(cell, x, (h,), lengths)
    return h_seq, h[None]


def _unpack(x: torch.Tensor | PackedSequence) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Padded (T, B, I) tensor and per-sequence lengths (B,) in original batch order (None if unpacked)."""
    if isinstance(x, PackedSequence):
        return pad_packed_sequence(x)
    return x, None


def _repack(h_seq: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | PackedSequence:
    """Give outputs back in the form the input came in."""
    return h_seq if lengths is None else pack_padded_sequence(h_seq, lengths, enforce_sorted=False)


class LSTM(nn.Module):
    """Single-layer LSTM with nn.LSTM's parameter count and call convention (tensor or PackedSequence)."""

    def __init__(self, input_size: int = 1, hidden_size: int = 20):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.W_xh = nn.Linear(input_size, 4 * hidden_size)  # input -> gates i, f, g, o
        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)  # previous hidden -> gates

    def forward(
        self,
        x: torch.Tensor | PackedSequence,
        h: torch.Tensor | None = None,
        c: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | PackedSequence, tuple[torch.Tensor, torch.Tensor]]:
        # x: (T, B, I) or packed; h, c: (1, B, H) -> h_seq like x with H features, (h, c) each (1, B, H)
        x, lengths = _unpack(x)
        h_seq, h, c = lstm_sequence(
            x, self.W_xh.weight, self.W_hh.weight, self.W_xh.bias, self.W_hh.bias, h, c, lengths=lengths
        )
        return _repack(h_seq, lengths), (h, c)


class RNN(nn.Module):
    """Single-layer Elman RNN (tanh) with nn.RNN's parameter count and call convention."""

    def __init__(self, input_size: int = 1, hidden_size: int = 20):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.W_xh = nn.Linear(input_size, hidden_size)
        self.W_hh = nn.Linear(hidden_size, hidden_size)

    def forward(
        self, x: torch.Tensor | PackedSequence, h: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | PackedSequence, torch.Tensor]:
        # x: (T, B, I) or packed; h: (1, B, H) -> h_seq like x with H features, h (1, B, H)
        x, lengths = _unpack(x)
        h_seq, h = rnn_sequence(
            x, self.W_xh.weight, self.W_hh.weight, self.W_xh.bias, self.W_hh.bias, h, lengths=lengths
        )
        return _repack(h_seq, lengths), h


# -----------------------------------------------------------------------------
# the assignment's classifier


class RNNClassifier(nn.Module):
    """Review ids -> probability that the review is positive, read off the final hidden state."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        hidden_size: int,
        use_lstm: bool = True,
        **additional_kwargs,
    ):
        super().__init__()
        self.hparams = {
            "num_embeddings": num_embeddings,
            "embedding_dim": embedding_dim,
            "hidden_size": hidden_size,
            "use_lstm": use_lstm,
            **additional_kwargs,
        }
        padding_idx = additional_kwargs.get("padding_idx", 0)
        self.embedding = Embedding(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.rnn = LSTM(embedding_dim, hidden_size) if use_lstm else RNN(embedding_dim, hidden_size)
        self.output = nn.Linear(hidden_size, 1)

    def forward(self, sequence: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        # sequence: (T, B) ids, lengths: (B,) -> (B,) probabilities
        x = self.embedding(sequence)  # (T, B, E)
        if lengths is not None:  # packing makes the final state each review's own, whatever the padding
            x = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # (1, B, H); LSTM returns (h, c)
        return torch.sigmoid(self.output(h[0])).squeeze(-1)  # (B,)


def binary_accuracy(preds: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of logits `preds` whose rounded probability equals the 0/1 label `y` (0-dim tensor)."""
    correct = (torch.round(torch.sigmoid(preds)) == y).float()
    return correct.mean()


# -----------------------------------------------------------------------------
# batching and the training loop


class Batch(NamedTuple):
    text: torch.Tensor  # (T, B) ids, padded with PAD_INDEX
    lengths: torch.Tensor  # (B,) real lengths, all >= 1
    label: torch.Tensor  # (B,) float 0/1


def make_batches(
    token_lists: list[list[int]],
    labels: list[int],
    batch_size: int,
    pad_index: int = 0,
    shuffle_seed: int | None = None,
) -> list[Batch]:
    """Pad reviews into time-first batches; empty reviews become a single UNK so packing never sees 0."""
    if len(token_lists) != len(labels):
        raise ValueError(f"{len(token_lists)} reviews but {len(labels)} labels")
    order = list(range(len(token_lists)))
    if shuffle_seed is not None:
        generator = torch.Generator().manual_seed(shuffle_seed)
        order = torch.randperm(len(order), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        reviews = [token_lists[i] or [HyperParams.UNK_INDEX] for i in idx]
        lengths = torch.tensor([len(r) for r in reviews], dtype=torch.long)  # (B,)
        text = torch.full((int(lengths.max()), len(reviews)), pad_index, dtype=torch.long)  # (T, B)
        for b, review in enumerate(reviews):
            text[: len(review), b] = torch.tensor(review, dtype=torch.long)
        label = torch.tensor([labels[i] for i in idx], dtype=torch.float)  # (B,)
        batches.append(Batch(text, lengths, label))
    return batches


def train(
    model: nn.Module, iterator: Iterable[Batch], optimizer: torch.optim.Optimizer, criterion: nn.Module
) -> tuple[float, float]:
    """One epoch of gradient steps; returns (mean loss, mean accuracy) over batches."""
    model.train()
    total_loss, total_acc, n = 0.0, 0.0, 0
    for batch in iterator:
        optimizer.zero_grad()
        predictions = model(batch.text, batch.lengths)  # (B,) probabilities
        loss = criterion(predictions, batch.label)
        loss.backward()
        optimizer.step()
        # binary_accuracy takes logits (as in the lecture); the classifier returns probabilities
        acc = binary_accuracy(torch.logit(predictions.detach(), eps=1e-6), batch.label)
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
            predictions = model(batch.text, batch.lengths)  # (B,) probabilities
            loss = criterion(predictions, batch.label)
            acc = binary_accuracy(torch.logit(predictions, eps=1e-6), batch.label)
            total_loss, total_acc, n = total_loss + loss.item(), total_acc + acc.item(), n + 1
    if n == 0:
        raise ValueError("iterator yielded no batches")
    return total_loss / n, total_acc / n


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -----------------------------------------------------------------------------
# the lecture's models, rebuilt from the pieces above for its parameter-count figures


class LectureRNN(nn.Module):
    """The lecture's simple sentiment RNN: embedding -> Elman RNN -> linear on the final hidden state."""

    def __init__(self, input_dim: int, embedding_dim: int, hidden_dim: int, output_dim: int):
        super().__init__()
        self.embedding = Embedding(input_dim, embedding_dim, padding_idx=0)
        self.rnn = RNN(embedding_dim, hidden_dim)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        # text: (T, B) -> (B, output_dim)
        embedded = self.embedding(text)  # (T, B, E)
        _, hidden = self.rnn(embedded)  # (1, B, H)
        return self.fc(hidden[0])


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Flip each sequence over its own real steps only, leaving padding where it is (self-inverse)."""
    # x: (T, B, F), lengths: (B,)
    T = x.shape[0]
    t = torch.arange(T, device=x.device)[:, None]  # (T, 1)
    L = lengths.to(x.device)[None, :]  # (1, B)
    idx = torch.where(t < L, L - 1 - t, t)  # (T, B) source step for each target step
    return x.gather(0, idx[:, :, None].expand_as(x))


class LectureBiLSTM(nn.Module):
    """The lecture's upgraded model: stacked, optionally bidirectional LSTM with dropout, length aware."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_dim: int,
        output_dim: int,
        n_layers: int,
        bidirectional: bool,
        dropout: float,
        pad_idx: int,
    ):
        super().__init__()
        self.n_layers = n_layers
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        in_sizes = [embedding_dim] + [directions * hidden_dim] * (n_layers - 1)
        self.embedding = Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.forward_lstms = nn.ModuleList(LSTM(i, hidden_dim) for i in in_sizes)
        self.backward_lstms = nn.ModuleList(LSTM(i, hidden_dim) for i in in_sizes) if bidirectional else None
        self.fc = nn.Linear(directions * hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def _run(lstm: LSTM, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded (T, B, F) in, padded (T, B, H) outputs and final hidden (B, H) out."""
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, (h, _) = lstm(packed)
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
        return out, h[0]

    def forward(self, text: torch.Tensor, text_lengths: torch.Tensor | None = None) -> torch.Tensor:
        # text: (T, B), text_lengths: (B,) -> (B, output_dim)
        T, B = text.shape
        lengths = torch.full((B,), T, dtype=torch.long) if text_lengths is None else text_lengths.cpu()
        x = self.dropout(self.embedding(text))  # (T, B, E)
        for layer in range(self.n_layers):
            out, h = self._run(self.forward_lstms[layer], x, lengths)
            outs, finals = [out], [h]
            if self.backward_lstms is not None:
                out, h = self._run(self.backward_lstms[layer], reverse_padded(x, lengths), lengths)
                outs.append(reverse_padded(out, lengths))  # back to original time order
                finals.append(h)  # state after reading the review backwards down to its first word
            x = torch.cat(outs, dim=-1)  # (T, B, directions * H)
            if layer < self.n_layers - 1:
                x = self.dropout(x)
        hidden = self.dropout(torch.cat(finals, dim=-1))  # (B, directions * H)
        return self.fc(hidden)
