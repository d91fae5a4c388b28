"""How far the rnn_sentiment learning check's threshold sits from what the reference reaches, and from what the two
example mistakes that depend on it reach (issue 12 item 6), across training seeds and held-out sets. The student's
model starts from its own initial weights, so a training seed stands for another way of writing the same model.

- `reference`: the reference classifier (its LSTM masks padding).
- `no_masking`: the LSTM runs over the padding (examples/.../lstm_ignores_padding).
- `over_padded_steps`: the output layer reads every padded time step (examples/.../classifier_over_padded_steps).

Trained on the host with the reference's own `train` under the learning check's budget (graders/rnn_sentiment/
learning.py), scored on held-out sets drawn as grading runs draw them. Prints figures, asserts nothing.

Run: `python benchmarks/bench_learning_margins.py [--seeds N] [--set learn_batch_size=64 ...]`
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import reference.rnn_sentiment as ref  # noqa: E402
from gradekit.config import graders_module, load_assignment  # noqa: E402
from gradekit.datasets.sentiment import bundled_splits  # noqa: E402

HELD_OUT_SEEDS = [2**32 + k for k in range(4)]  # as tests/test_learning_threshold.py draws them


def learning_module():
    return graders_module(load_assignment("rnn_sentiment"), "learning")


class NoMasking(ref.RNNClassifier):
    """The LSTM runs over each review's padding: its final state is read after the batch's longest review."""

    def forward(self, sequence: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(sequence, None)


class OverPaddedSteps(ref.RNNClassifier):
    """One output weight per time step and hidden unit, over the sequence padded to MAX_LENGTH."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output = nn.Linear(self.hparams["hidden_size"] * ref.HyperParams.MAX_LENGTH, 1)

    def forward(self, sequence: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = pack_padded_sequence(self.embedding(sequence), lengths.cpu(), enforce_sorted=False)
        h_seq, _ = pad_packed_sequence(self.rnn(x)[0], total_length=ref.HyperParams.MAX_LENGTH)  # (T, B, H)
        flat = h_seq.permute(1, 0, 2).reshape(h_seq.shape[1], -1)  # (B, T * H)
        return torch.sigmoid(self.output(flat)).view(-1)


MODELS = {"reference": ref.RNNClassifier, "no_masking": NoMasking, "over_padded_steps": OverPaddedSteps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="training seeds 0..N-1")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a learning budget setting of assignment.toml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    learning = learning_module()
    settings = dict(load_assignment("rnn_sentiment").settings)
    settings.update(kv.split("=", 1) for kv in args.set)
    splits = bundled_splits()
    vocab = ref.build_vocab([r.text for r in splits.train], 5, ref.HyperParams())
    held_outs = [learning.held_out(splits, settings, s, None) for s in HELD_OUT_SEEDS]
    threshold = float(settings["accuracy_threshold"])
    budget = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()) if k.startswith("learn_"))
    print(f"threshold {threshold:.2f}; budget: {budget}")
    for name, model_class in MODELS.items():
        worst, best = 1.0, 0.0
        for seed in range(args.seeds):
            start = time.monotonic()
            row = learning.reference_accuracies(vocab, splits, settings, seed, held_outs, model_class)
            worst, best = min(worst, *row), max(best, *row)
            print(f"  {name:18} seed {seed}: {' '.join(f'{a:.3f}' for a in row)}  ({time.monotonic() - start:.1f} s)")
        print(f"{name}: {worst:.3f}-{best:.3f}, {100 * (worst - threshold):+.1f} to {100 * (best - threshold):+.1f} "
              "points from the threshold")


if __name__ == "__main__":
    main()
