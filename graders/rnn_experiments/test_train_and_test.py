"""Q7 train_and_test_model_with_hparams: the optimizer it picks by name with hparams' learning rate, the model it
builds from hparams, the history it returns, and that it trains: Adam at the study's base configuration learns.

The optimizer and the model are observed when the optimizer is built: torch.optim.Optimizer's __init__ (which
every torch optimizer runs, however it was imported) records the class, the learning rate and the parameters it
was given, then stops the run, so these checks cost no training. The history and the learning are measured with
the graders' own classifier and collate put in place of the notebook's for the run (as rnn_sentiment's probe
model does), so a mistake in Q3-Q5 cannot fail them; the report's re-run (Q12) uses the notebook's code as it is."""

import pytest
import torch

from gradekit import checks

from . import rerun

Q = "train_and_test"
WHAT = "train_and_test_model_with_hparams(hparams, name)"
LABEL = "train_and_test_model_with_hparams()"  # one label for every request: one line for an unwritten function

SETTINGS = """
hp = HyperParams()
for key, value in settings.items():
    setattr(hp, key, value)
"""

SPY = SETTINGS + """
import torch
class _Stop(Exception):
    pass
made = []
_init = torch.optim.Optimizer.__init__
def _spy(self, params, defaults, *args, **kwargs):
    _init(self, params, defaults, *args, **kwargs)
    made.append({"type": type(self).__name__, "module": type(self).__module__,
                 "lr": [float(g["lr"]) for g in self.param_groups],
                 "shapes": [list(p.shape) for g in self.param_groups for p in g["params"]]})
    raise _Stop()
torch.optim.Optimizer.__init__ = _spy
try:
    train_and_test_model_with_hparams(hp, "spy")
except _Stop:
    pass
finally:
    torch.optim.Optimizer.__init__ = _init
own = globals()[class_name](len(vocab), hp.EMBEDDING_DIM, hp.HIDDEN_DIM, hp.OUTPUT_DIM, hp.N_LAYERS,
                            hp.DROPOUT_RATE, hp.PAD_INDEX, hp.BIDIRECTIONAL)
result = {"made": made, "own": [list(p.shape) for p in own.parameters() if p.requires_grad]}
"""

# The graders' classifier and collate, in place of the notebook's while the function runs (in its own globals,
# which is where it looks them up), put back afterwards.
PROBE = SETTINGS + """
import random
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence as _pack

class _ProbeClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, dropout_rate, pad_index,
                 bidirectional, **kwargs):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, n_layers, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_dim * (2 if bidirectional else 1), output_dim)
        _made.append((self, {k: v.clone() for k, v in gk_state_dict(self).items()}))

    def forward(self, ids, length):
        if self.training and torch.is_grad_enabled():
            _trained_calls.append(1)
        packed = _pack(self.embedding(ids), torch.as_tensor(length).cpu().clamp(min=1), batch_first=True,
                       enforce_sorted=False)
        h = self.rnn(packed)[1][0]
        return self.fc(torch.cat((h[-2], h[-1]), 1) if self.rnn.bidirectional else h[-1])

def _probe_collate(batch):
    lengths = torch.tensor([len(item["ids"]) for item in batch])
    ids = torch.full((len(batch), max(int(lengths.max()), 1)), hp.PAD_INDEX, dtype=torch.long)
    for row, item in enumerate(batch):
        ids[row, : len(item["ids"])] = torch.as_tensor(list(item["ids"]), dtype=torch.long)
    if not all(isinstance(item["label"], int) or torch.is_tensor(item["label"]) for item in batch):
        raise TypeError("the dataset's items have a 'label' that is not an integer (see Q2)")
    return {"ids": ids, "length": lengths, "label": torch.tensor([int(item["label"]) for item in batch])}

_made, _trained_calls = [], []
space = train_and_test_model_with_hparams.__globals__
names = ("LSTMClassifier", "GRUClassifier", "collate")
saved = {name: space[name] for name in names if name in space}
space.update(LSTMClassifier=_ProbeClassifier, GRUClassifier=_ProbeClassifier, collate=_probe_collate)
try:
    random.seed(seed)
    torch.manual_seed(seed)
    history = train_and_test_model_with_hparams(hp, "probe")
finally:
    for name in names:
        space.pop(name, None)
    space.update(saved)
# Evidence that the call trained (issue 11: doing nothing earns nothing): a classifier it built changed its weights,
# and the classifiers were called in training mode with gradients. Compared on the host.
result = {"history": history, "trained_calls": len(_trained_calls),
          "moved": [[before, dict(gk_state_dict(m))] for m, before in _made]}
"""


def spy(submission, class_name="LSTMClassifier", **changes):
    settings = {**rerun.base_settings(), "N_EPOCHS": 1, **changes}
    out = submission.run(SPY, what=LABEL, name="train_and_test_model_with_hparams", settings=settings,
                         class_name=class_name)
    if not out["made"]:
        pytest.fail(f"{WHAT} built no torch.optim optimizer")
    return out["made"][0], out["own"]


def probe_run(submission, assignment, **changes):
    settings = {**rerun.base_settings(), **changes}
    value = submission.run(PROBE, what=LABEL, name="train_and_test_model_with_hparams", settings=settings,
                           seed=int(assignment.settings["rerun_seed"]),
                           timeout=float(assignment.settings["learn_timeout"]))
    if not (isinstance(value, dict) and {"history", "trained_calls", "moved"} <= value.keys()):
        pytest.fail(f"the graders' record of {WHAT}'s run could not be read back from your kernel; run your notebook "
                    "from the top and check that it does not change torch")
    history = rerun.read_history(value["history"], int(settings["N_EPOCHS"]), WHAT)
    moved = any(isinstance(after, dict) and isinstance(before, dict) and before.keys() == after.keys()
                and any(not torch.equal(before[k], after[k]) for k in before) for before, after in value["moved"])
    assert moved and value["trained_calls"], (
        f"{WHAT} returned figures, but no classifier it built was trained during the call: build the model, then "
        "for each epoch call train_epoch(model, train_loader, optimizer, criterion) and evaluate(...)")
    return history


@pytest.mark.parametrize("optimizer", ["SGD", "Adagrad", "RMSprop", "Adam"])
@pytest.mark.question(Q, points=0.5)
def test_optimizer_chosen_by_name(submission, pyrng, optimizer):
    """hparams.OPTIM picks the torch.optim optimizer, with hparams.LR"""
    lr = round(10 ** pyrng.uniform(-3, -1.3), 5)
    made, _ = spy(submission, OPTIM=optimizer, LR=lr)
    assert made["type"] == optimizer and made["module"].startswith("torch.optim"), (
        f"with hparams.OPTIM = {optimizer!r}, {WHAT} built a {made['type']} optimizer; build torch.optim.{optimizer} "
        "(read hparams.OPTIM from the hparams you are given, not a global)")
    assert all(abs(v - lr) < 1e-12 for v in made["lr"]), (
        f"with hparams.LR = {lr}, the optimizer's learning rate is {made['lr'][0]}; pass lr=hparams.LR")


@pytest.mark.parametrize("model, n_layers, bidirectional", [("gru", 2, True), ("lstm", 3, False)])
@pytest.mark.question(Q, points=0.5)
def test_model_follows_hparams(submission, pyrng, model, n_layers, bidirectional):
    """The model trained is your classifier as hparams describes it"""
    changes = {"MODEL": model, "N_LAYERS": n_layers, "BIDIRECTIONAL": bidirectional,
               "HIDDEN_DIM": pyrng.randint(9, 14), "EMBEDDING_DIM": pyrng.randint(5, 8)}
    class_name = "GRUClassifier" if model == "gru" else "LSTMClassifier"
    made, own = spy(submission, class_name, **changes)
    got, want = sorted(made["shapes"]), sorted(own)
    described = ", ".join(f"{k}={v!r}" for k, v in changes.items())
    assert got == want, (
        f"with {described}, {WHAT} trained a model of {sum(torch.Size(s).numel() for s in got):,} parameters; your "
        f"{class_name}(len(vocab), ...) built from those hparams has {sum(torch.Size(s).numel() for s in want):,}: "
        "pick the class by hparams.MODEL and build it from the hparams you are given")


@pytest.mark.question(Q, points=1)
def test_returns_the_history(submission, assignment):
    """Returns per-epoch train and validation figures and the test figures"""
    probe_run(submission, assignment, N_EPOCHS=2, HIDDEN_DIM=8, EMBEDDING_DIM=8, BATCH_SIZE=64)


@pytest.mark.question(Q, points=1)
def test_adam_learns(submission, assignment, record_property):
    """With Adam at the study's base configuration, the test accuracy clears the threshold"""
    threshold = float(assignment.settings["rerun_adam_threshold"])
    adam = probe_run(submission, assignment, OPTIM="Adam")
    record_property("info", f"test accuracy {adam.test_acc:.3f} with Adam (threshold {threshold:.2f})")
    assert adam.test_acc >= threshold, (
        f"with Adam at the study's base configuration (and the graders' own classifier and collate), {WHAT} "
        f"reports a test accuracy of {adam.test_acc:.3f}; the reference reaches more than {threshold:.2f} under the "
        "same budget. Check that each epoch trains on train_data (zero_grad, backward, step per batch) and that "
        "the test figures come from the best validation epoch")
    checks.number(adam.test_loss, "the test loss")
