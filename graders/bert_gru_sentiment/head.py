"""BERTGRUSentiment judged by what it computes: the student's class around a small real BertModel, every weight
drawn on the host and loaded by name, and the reference holding the same weights on the host.

The GRU's parameters are found by nn.GRU's own names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...) whatever the
attribute is called, BERT's under `bert.` (the notebook keeps it as `self.bert`), the output layer by what is
left. When the logits differ, the usual wrong readings of the GRU's result are computed from the same weights, so
that the message can say which one the forward took (the first layer's final states, the output at the first
time step, ...). Both orders of the two directions are accepted: which half of the linear layer reads which
direction is a labelling of its weights, as in rnn_experiments' classifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import torch

import reference.bert_gru_sentiment as ref
from gradekit import checks
from gradekit.proxy import Remote, Submission

RNN_PARAM = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<suffix>(?:weight|bias)_(?:ih|hh)_l\d+(?:_reverse)?)$")

# A real BertModel, small enough to build and run in milliseconds: the student's code gets everything a BertModel
# has (keyword arguments, .config, [0] and .last_hidden_state, parameters()). No dropout inside it, so that the
# only randomness in train mode is the student's.
BERT_CONFIG = dict(vocab_size=1000, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                   max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)

BUILD = """
import torch
from transformers import BertConfig, BertModel
torch.manual_seed(0)
_bert = BertModel(BertConfig(**bert_config))
result = BERTGRUSentiment(_bert, *args)
"""


@dataclass(frozen=True)
class Head:
    """BERTGRUSentiment's arguments after `bert`, in the notebook's order."""

    hidden_dim: int
    output_dim: int
    n_layers: int
    bidirectional: bool
    dropout: float = 0.3

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def state(self) -> int:
        return self.hidden_dim * self.directions

    def args(self) -> list:
        return [self.hidden_dim, self.output_dim, self.n_layers, self.bidirectional, self.dropout]

    @property
    def label(self) -> str:
        return (f"BERTGRUSentiment(bert, {self.hidden_dim}, {self.output_dim}, n_layers={self.n_layers}, "
                f"bidirectional={self.bidirectional}, dropout={self.dropout})")

    def __str__(self) -> str:
        return f"{self.n_layers} layer(s), {'bidirectional' if self.bidirectional else 'one direction'}"


def build(submission: Submission, head: Head, mode: str = "eval") -> Remote:
    model = submission.run(BUILD, what=head.label, name="BERTGRUSentiment", bert_config=BERT_CONFIG, args=head.args())
    if not isinstance(model, Remote):
        pytest.fail(f"{head.label} did not build a model")
    model.label = head.label
    model.method(mode)
    return model


def ids(gen: torch.Generator, batch: int, length: int) -> torch.Tensor:
    """(batch, length) ids without padding: a forward that passes an attention mask computes the same."""
    return torch.randint(1, BERT_CONFIG["vocab_size"], (batch, length), generator=gen)


def split(drawn: dict[str, torch.Tensor], head: Head) -> tuple[dict, dict, tuple[str, str]]:
    """(BERT's weights, the GRU's by nn.GRU's names, (the output layer's weight name, its bias name)), or a failed
    check naming what does not fit the notebook's model."""
    bert, recurrent, others = {}, {}, {}
    for name, value in drawn.items():
        m = RNN_PARAM.match(name)
        if name.startswith("bert."):
            bert[name] = value
        elif m:
            recurrent.setdefault(m.group("prefix"), {})[m.group("suffix")] = value
        else:
            others[name] = value
    expected = {k: v.shape for k, v in torch.nn.GRU(BERT_CONFIG["hidden_size"], head.hidden_dim, head.n_layers,
                                                     bidirectional=head.bidirectional).named_parameters()}
    if len(recurrent) != 1:
        found = ", ".join(p.rstrip(".") for p in recurrent) or "none"
        pytest.fail(f"{head.label} should hold one nn.GRU with all {head.n_layers} layers; its recurrent layers "
                    f"are {found}")
    (prefix, gru), = recurrent.items()
    if {k: v.shape for k, v in gru.items()} != expected:
        found = sorted((k, checks.fmt_shape(v.shape)) for k, v in gru.items())
        want = sorted((k, checks.fmt_shape(v)) for k, v in expected.items())
        pytest.fail(f"{head.label}: the GRU {prefix.rstrip('.')} has parameters {found[:4]}...; "
                    f"nn.GRU(embedding_dim, {head.hidden_dim}, num_layers={head.n_layers}, "
                    f"bidirectional={head.bidirectional}) reading BERT's {BERT_CONFIG['hidden_size']}-wide vectors "
                    f"has {want[:4]}...")
    weights = [k for k, v in others.items() if v.dim() == 2]
    biases = [k for k, v in others.items() if v.dim() == 1]
    if len(weights) != 1 or len(biases) != 1 or len(others) != 2:
        pytest.fail(f"{head.label}: expected one nn.Linear after the GRU; the parameters besides BERT's and the "
                    f"GRU's are {[(k, checks.fmt_shape(v.shape)) for k, v in others.items()]}")
    shape = tuple(others[weights[0]].shape)
    if shape != (head.output_dim, head.state):
        pytest.fail(f"{head.label}: the linear layer {weights[0].removesuffix('.weight')} has weight "
                    f"{checks.fmt_shape(shape)}; it should map the final state ({head.state} features: the last "
                    f"layer's {'forward and backward states' if head.bidirectional else 'state'}) to "
                    f"{head.output_dim} output(s), weight {checks.fmt_shape((head.output_dim, head.state))}")
    return bert, gru, (weights[0], biases[0])


def reference_with(drawn: dict[str, torch.Tensor], head: Head) -> ref.BERTGRUSentiment:
    """The reference model, around a BertModel of the same configuration, holding the drawn weights."""
    from transformers import BertConfig, BertModel

    bert, gru, (w, b) = split(drawn, head)
    target = ref.BERTGRUSentiment(BertModel(BertConfig(**BERT_CONFIG)), *head.args()).eval()
    state = {**bert, **{f"rnn.{k}": v for k, v in gru.items()}, "out.weight": drawn[w], "out.bias": drawn[b]}
    missing = sorted(k for k, _ in target.named_parameters() if k not in state)
    if missing:  # a BERT whose parameters did not come back under bert.*: the student's class changed it
        pytest.fail(f"{head.label}: BERT's parameters should be the model's `bert.*` (keep `self.bert = bert`); "
                    f"{missing[0]} is not there")
    target.load_state_dict(state, strict=False)  # BERT's buffers (position ids) keep their values
    return target


def readings(target: ref.BERTGRUSentiment, text: torch.Tensor, head: Head) -> tuple[dict, dict]:
    """({how: logits} of the right readings of the GRU's result, {mistake: logits} of the usual wrong ones), all
    with the target's weights."""
    with torch.no_grad():
        output, h = target.rnn(target.bert(text)[0])  # (B, T, D*H), (L*D, B, H)
        out = target.out
        if head.bidirectional:
            right = {"": out(torch.cat((h[-2], h[-1]), 1)),
                     "the backward direction first": out(torch.cat((h[-1], h[-2]), 1))}
        else:
            right = {"": out(h[-1])}
        wrong = {}
        if head.n_layers > 1:
            first = "hidden[0] and hidden[1]" if head.bidirectional else "hidden[0]"
            last = "hidden[-2] and hidden[-1]" if head.bidirectional else "hidden[-1]"
            state = torch.cat((h[0], h[1]), 1) if head.bidirectional else h[0]
            wrong[f"the first layer's final states ({first}); the last layer's are {last}"] = out(state)
        wrong["the GRU's output at the first time step (output[:, 0]), where the forward direction has read one "
              "token; take the final hidden state instead"] = out(output[:, 0])
        if head.bidirectional:
            wrong["the GRU's output at the last time step (output[:, -1]), where the backward direction has read "
                  "only the last token; take the final hidden state instead"] = out(output[:, -1])
        wrong["the mean of the GRU's outputs over time; take the final hidden state instead"] = out(output.mean(1))
    return right, wrong


def output_layer(drawn: dict[str, torch.Tensor], head: Head) -> tuple[str, str]:
    return split(drawn, head)[2]
