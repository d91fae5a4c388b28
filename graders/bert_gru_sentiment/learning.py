"""The learning check for bert_gru_sentiment: the student's GRU head trained on frozen BERT features.

BERT is frozen, so its output for a review never changes: it is computed once on the host (cached on disk)
and a stand-in module hands it to the student's model for exactly the ids it was computed for. The student's
BERTGRUSentiment, freeze_bert and train run unchanged on top; a forward pass of BERT per batch would make
the check take minutes on a CPU. The same budget trains the reference for the threshold.

Held-out reviews: each grading run draws `learn_test_reviews` of them, with a seed the kernel never sees, from a
pool the notebook is never given (workspace.held_out_pool). With the bundled data that pool is generated from a
seed derived from the course secret (`pool_secret`), so no one can rebuild it from the public generator, and its
features are computed once, like the training reviews': a run pays for BERT on no review, yet no two runs need
score the same reviews. (Fresh reviews every run would cost a BERT pass over
400 reviews, several seconds with MiniLM and far more with bert-base, on every grading.)
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import os
import random
from pathlib import Path

import torch
from torch import nn

import reference.bert_gru_sentiment as ref
from gradekit import offline
from gradekit.seeds import course_secret
from gradekit.shared_checks import RECORD_LOSS
from gradekit.thresholds import learning_threshold


class GraderStandInError(Exception):
    """Raised by the stand-in when it cannot do what a BertModel would: the graders' limit, not the student's error
    (`test_learning` reports it as the check's own failure, status "error", never as the student's)."""


class FrozenBertFeatures(nn.Module):
    """Stands in for a frozen BERT: returns the features BERT computed for these exact ids (each review alone, so
    padding changes nothing). It is what a BertModel is to the student's code: input_ids by position or by name,
    attention_mask and the rest by name, `config`, a parameter (so next(bert.parameters()), .device and .dtype
    work), and BertModel's output ([0], .last_hidden_state, ["last_hidden_state"]; a tuple with
    return_dict=False). Ids it has no features for go through the kernel's own BERT (`real_bert`), as they would
    through the real one."""

    def __init__(self, hidden_size: int, id_lists: list, features: list, real_bert=None):
        super().__init__()
        from transformers import BertConfig

        self.config = BertConfig(hidden_size=hidden_size)
        self.anchor = nn.Parameter(torch.zeros(1))  # a BertModel has parameters; this one is never used
        self.table = {tuple(ids): f.float() for ids, f in zip(id_lists, features, strict=True)}
        self.__dict__["real_bert"] = real_bert  # not a submodule: its parameters are not the model's

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.anchor.dtype

    def features(self, row: list) -> torch.Tensor:
        found = self.table.get(tuple(row))
        if found is not None:
            return found
        if self.real_bert is None:
            raise GraderStandInError(f"the stand-in for BERT has no features for ids {row[:6]}...")
        with torch.no_grad():
            return self.real_bert(input_ids=torch.tensor([row])).last_hidden_state[0].float()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, return_dict=None, **kwargs):
        from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions

        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            raise GraderStandInError("the stand-in for BERT takes input_ids, a (batch, seq_len) tensor of ids; "
                                     f"it was given {type(input_ids).__name__}")
        rows = []
        for row in input_ids.tolist():  # (batch, seq_len) ids, right-padded with 0
            while row and row[-1] == 0:
                row.pop()
            f = self.features(row)  # (length, hidden)
            rows.append(torch.cat([f, f.new_zeros(input_ids.shape[1] - f.shape[0], f.shape[1])]))
        output = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=torch.stack(rows))  # (B, T, hidden)
        return output.to_tuple() if return_dict is False else output


def cache_dir() -> Path:
    return Path.home() / ".cache" / "gradekit"


def pool_secret() -> int:
    """The seed of the held-out pool: derived from the course secret (gradekit.seeds), which the kernel never sees,
    so that every machine grading for the course draws from the same pool (the same verdicts on a cluster as on one
    machine, and in every run of the test suite, which fixes the secret)."""
    digest = hmac.new(course_secret(), b"bert_gru_sentiment held-out pool", hashlib.sha256).digest()
    return 2**32 + (int.from_bytes(digest[:8], "big") >> 2)


def bert_features(bert_dir: Path, id_lists: list[list[int]]) -> list[torch.Tensor]:
    """BERT's last hidden states for each id list (length, hidden), in float16, cached by content."""
    from safetensors.torch import load_file, save_file

    key = hashlib.sha256(json.dumps([str(bert_dir), id_lists]).encode()).hexdigest()[:20]
    path = cache_dir() / f"bert-features-{key}.safetensors"
    if path.exists():
        stored = load_file(path)
        return [stored[f"f{i}"] for i in range(len(id_lists))]
    bert = offline.load_bert(bert_dir).eval()
    out: dict[str, torch.Tensor] = {}
    order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))  # similar lengths batch together
    with torch.no_grad():
        for start in range(0, len(order), 32):
            chunk = order[start : start + 32]
            width = max(len(id_lists[i]) for i in chunk)
            ids = torch.zeros(len(chunk), width, dtype=torch.long)
            mask = torch.zeros(len(chunk), width, dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, : len(id_lists[i])] = torch.tensor(id_lists[i])
                mask[row, : len(id_lists[i])] = 1
            hidden = bert(input_ids=ids, attention_mask=mask).last_hidden_state
            for row, i in enumerate(chunk):
                out[f"f{i}"] = hidden[row, : len(id_lists[i])].to(torch.float16).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(out, partial)
    os.replace(partial, path)  # atomic: a batch's other worker never reads half a cache file
    return [out[f"f{i}"] for i in range(len(id_lists))]


class Budget:
    """Everything the learning check feeds the student's code, built once per grading run."""

    def __init__(self, bert_dir: Path, tokenizer, splits, pool: list, held_out_seed: int, settings: dict):
        self.settings = settings
        # Bucketed by length, as the seed's BucketIterator did: little padding for the GRU to read through.
        train = sorted(splits.train[: int(settings["learn_train_reviews"])], key=lambda r: len(r.text))
        picked = sorted(random.Random(held_out_seed).sample(range(len(pool)), int(settings["learn_test_reviews"])))
        self.held_out = [pool[i] for i in picked]
        train_ids = [ref.encode(tokenizer, r.text) for r in train]
        pool_ids = [ref.encode(tokenizer, r.text) for r in pool]
        pool_features = bert_features(bert_dir, pool_ids)  # the whole pool's, cached: the same file every run
        test_ids = [pool_ids[i] for i in picked]
        self.id_lists = train_ids + test_ids
        self.features = bert_features(bert_dir, train_ids) + [pool_features[i] for i in picked]
        self.hidden_size = int(self.features[0].shape[1])
        self.train_batches = ref.make_batches(train_ids, [r.label for r in train], int(settings["learn_batch_size"]))
        self.test_texts = [b.text for b in ref.make_batches(test_ids, [0] * len(test_ids), 100)]  # no labels

    def inputs(self) -> dict:
        s = self.settings
        return dict(hidden=self.hidden_size, ids=self.id_lists, feats=self.features, seed=int(s["learn_seed"]),
                    hidden_dim=int(s["learn_hidden_dim"]), n_layers=int(s["n_layers"]), dropout=float(s["dropout"]),
                    lr=float(s["learn_lr"]), epochs=int(s["learn_epochs"]),
                    train_data=[(b.text, b.label) for b in self.train_batches], test_data=self.test_texts)

    def accuracy(self, logits: torch.Tensor) -> float:
        labels = torch.tensor([r.label for r in self.held_out], dtype=torch.float32)
        return ((logits > 0).float() == labels).float().mean().item()


# Runs in the student's kernel (and, with the reference's names, on the host): returns held-out logits.
TRAIN_AND_PREDICT = "import torch\nfrom torch import nn\n\n" + inspect.getsource(GraderStandInError) + \
    inspect.getsource(FrozenBertFeatures) + RECORD_LOSS + """
import collections
_Batch = collections.namedtuple("Batch", ["text", "label"])
torch.manual_seed(seed)
model = BERTGRUSentiment(FrozenBertFeatures(hidden, ids, feats, globals().get("bert")), hidden_dim, 1, n_layers, True,
                         dropout)
freeze_bert(model)
optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
criterion = _RecordedLoss(torch.nn.BCEWithLogitsLoss())
batches = [_Batch(*b) for b in train_data]
order = torch.Generator().manual_seed(seed)
for _ in range(epochs):
    train(model, [batches[i] for i in torch.randperm(len(batches), generator=order).tolist()], optimizer, criterion)
model.eval()
with torch.no_grad():
    result = {"logits": torch.cat([model(text).reshape(-1) for text in test_data]), "losses": criterion.values}
"""


def reference_logits(budget: Budget) -> torch.Tensor:
    scope = {"torch": torch, "nn": nn, "BERTGRUSentiment": ref.BERTGRUSentiment, "freeze_bert": ref.freeze_bert,
             "train": ref.train, **budget.inputs()}
    exec(compile(TRAIN_AND_PREDICT, "<learning check>", "exec"), scope)  # our own code, on our own data
    return scope["result"]["logits"]


def threshold_for(data: Path | None, budget: Budget) -> tuple[float, str]:
    """(threshold, how it was set), see gradekit.thresholds. Not cached: the run is on this grading's held-out
    draw, and BERT's features, the costly part, are cached already."""
    return learning_threshold("bert_gru_sentiment", data, budget.settings,
                              lambda: budget.accuracy(reference_logits(budget)), cached=False)
