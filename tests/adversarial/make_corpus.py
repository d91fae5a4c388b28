"""Build the adversarial corpus: rnn_sentiment's solution with one attack each, plus broken files.

    python tests/adversarial/make_corpus.py

writes one file per item next to this script. Most items are the solution notebook with an attack cell
inserted (as cell 12, after Q2, so that what comes after it is what a fatal attack "did not reach") or one
answer replaced by a cheat, so that "0 where it cheats" is measurable: the cheated question scores 0 and the
honest rest keeps its marks. Paths the attacks aim at are placeholders (@@ROOT@@, @@SUBMISSIONS@@,
@@REPORTS@@, @@PORT@@, @@HOSTPID@@, @@TOKEN@@) that tests/test_adversarial.py fills in for its own run.
The expected outcome of each item is asserted there.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BASE = ROOT / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb"

ATTACK_AFTER = 11  # the attack becomes cell 12; Q3 onwards (cells 13+ of the solution) move down by one
BINARY_ACCURACY_CELL = 21
RNN_CLASSIFIER_CELL = 19
EMBEDDING_CELL = 13
MODEL_CELL = 27

# The no-sigmoid mistake: known to cost binary_accuracy (4) and one point of train_evaluate.
WRONG_ACCURACY = "def binary_accuracy(preds, y):\n    return (torch.round(preds) == y).float().mean()\n"


def solution() -> nbformat.NotebookNode:
    return nbformat.read(BASE, as_version=4)


def new_cell(source: str) -> nbformat.NotebookNode:
    """A code cell whose id comes from its source, so that the corpus is rebuilt byte for byte."""
    return nbformat.v4.new_code_cell(source, id=hashlib.sha256(source.encode()).hexdigest()[:8])


def insert_after(nb: nbformat.NotebookNode, position: int, source: str) -> nbformat.NotebookNode:
    """A new code cell after the cell at 1-based `position`."""
    nb.cells.insert(position, new_cell(source))
    return nb


def append(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    nb.cells.append(new_cell(source))
    return nb


def replace(nb: nbformat.NotebookNode, position: int, source: str) -> nbformat.NotebookNode:
    nb.cells[position - 1].source = source
    return nb


def attack(source: str) -> Callable[[], nbformat.NotebookNode]:
    return lambda: insert_after(solution(), ATTACK_AFTER, source)


def cheat(patch: str, accuracy: str = WRONG_ACCURACY, at_end: bool = False) -> Callable[[], nbformat.NotebookNode]:
    """The solution with binary_accuracy wrong, and a patch that tries to make it pass anyway."""
    def build() -> nbformat.NotebookNode:
        nb = replace(solution(), BINARY_ACCURACY_CELL, accuracy)
        return append(nb, patch) if at_end else insert_after(nb, ATTACK_AFTER, patch)
    return build


# ---------------------------------------------------------------------------------------- denial of service

DOS = {
    "dos_infinite_loop": attack("while True:\n    pass"),
    "dos_sleep_forever": attack("import time\ntime.sleep(10**9)"),
    "dos_ignores_interrupts": attack(
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"),
    "dos_memory_bomb": attack(
        "def grow():\n    blocks = []\n    while True:\n        blocks.append(bytearray(64 << 20))\n\ngrow()"),
    "dos_fork_bomb": attack("import os\nwhile True:\n    os.fork()"),
    "dos_gigabyte_output": attack(
        "for _ in range(300):\n    print('y' * 100_000)\nprint('x' * (1 << 30))\nprinted = True"),
    "dos_fill_the_disk": attack(
        "with open('fill.bin', 'wb') as f:\n    while True:\n        f.write(b'\\0' * (1 << 24))"),
    "dos_thread_keeps_running": attack(
        "import threading, time\n\n"
        "def spin():\n    n = 0\n    while True:\n        n += 1\n"
        "        if n % 200_000 == 0:\n            print('still running', n, flush=True)\n\n"
        "threading.Thread(target=spin, daemon=True).start()"),
    "dos_kills_its_kernel": attack("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
}

# ------------------------------------------------------------------------------------------ escape, snooping

ESCAPE = {
    "snoop_reference_absolute": attack(
        "stolen = open('@@ROOT@@/reference/rnn_sentiment.py').read()"),
    "snoop_graders_absolute": attack(
        "import os\nprint(os.listdir('@@ROOT@@/graders'))\n"
        "stolen = open('@@ROOT@@/graders/rnn_sentiment/test_binary_accuracy.py').read()"),
    "snoop_relative_paths": attack(
        "import os\nfound = []\nfor up in range(1, 8):\n    for rel in ('reference/rnn_sentiment.py', "
        "'graders/rnn_sentiment/conftest.py', 'assignments/rnn_sentiment/assignment.toml'):\n"
        "        if os.path.exists('../' * up + rel):\n            found.append('../' * up + rel)\n"
        "print(found)\nstolen = open(found[0] if found else '../../reference/rnn_sentiment.py').read()"),
    "snoop_hidden_data": attack(
        "try:\n    open('data/rnn_sentiment/test.csv').read()\nexcept OSError as e:\n    print(e)\n"
        "from gradekit.datasets.sentiment import bundled_splits\nlabels = [r.label for r in bundled_splits().test]"),
    "snoop_other_submission": attack("stolen = open('@@SUBMISSIONS@@/zz_sibling.ipynb').read()"),
    "snoop_report_folder": attack("import os\nprint(os.listdir('@@REPORTS@@/results'))"),
    "escape_network": attack(
        "import socket\nfor address in [('1.1.1.1', 53), ('8.8.8.8', 443)]:\n    try:\n"
        "        socket.create_connection(address, timeout=2).close()\n        print('connected to', address)\n"
        "    except OSError as e:\n        print(address, e)\n"
        "socket.create_connection(('127.0.0.1', @@PORT@@), timeout=2)"),
    "escape_write_outside": attack(
        "import os\nfor target in ['@@ROOT@@/pwned-@@TOKEN@@', '@@SUBMISSIONS@@/pwned-@@TOKEN@@', "
        "'@@REPORTS@@/pwned-@@TOKEN@@', '@@REPORTS@@/gradebook.csv', '/tmp/gk-pwned-@@TOKEN@@', "
        "'/var/tmp/gk-pwned-@@TOKEN@@', os.path.expanduser('~/../../pwned-@@TOKEN@@')]:\n"
        "    try:\n        with open(target, 'w') as f:\n            f.write('escaped')\n"
        "        print('wrote', target)\n    except OSError as e:\n        print(target, e)"),
    "escape_kill_the_host": attack(
        "import os, signal\nfor pid in (@@HOSTPID@@, 1, os.getppid()):\n    try:\n"
        "        os.kill(pid, signal.SIGTERM)\n    except OSError as e:\n        print(pid, e)\n"
        "os.kill(-1, signal.SIGKILL)\n"
        # kill(-1) spares the caller: the kernel dies a moment later, with its wrapper. Waiting keeps that death in
        # this cell whatever the load; in a later cell, the replay would run this one again and lose Q1-Q2.
        "import time\ntime.sleep(5)"),
}

# -------------------------------------------------------------------------------------------------- faking

FORGED_REPLIES = '''import IPython.display as _display
_real_publish = _display.publish_display_data

def _forged(data, *args, **kwargs):
    reply = data.get("application/vnd.gradekit.reply+json")
    if isinstance(reply, dict) and not isinstance(reply.get("value"), str):
        data = {"application/vnd.gradekit.reply+json": {"ok": True, "value": True, "blob": ""}}
    return _real_publish(data, *args, **kwargs)

_display.publish_display_data = _forged'''

LYING_PARAMETERS = '''_HonestClassifier = RNNClassifier

class RNNClassifier(_HonestClassifier):
    """A million unused parameters, hidden from anyone who asks."""
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = nn.Linear(1000, 1000)

    def named_parameters(self, *args, **kwargs):
        return ((n, p) for n, p in super().named_parameters(*args, **kwargs) if not n.startswith("extra"))

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters())'''

PAYLOAD = '''import os

class Verdict:
    """Pickled, this would run a shell command; compared, it always agrees."""
    def __reduce__(self):
        return (os.system, ("touch @@MARKER@@",))
    def __eq__(self, other):
        return True
    def __float__(self):
        return 0.75
    def item(self):
        return 0.75

def binary_accuracy(preds, y):
    return Verdict()'''

def _train_without_step() -> nbformat.NotebookNode:
    """train that never steps the optimizer, and torch.equal patched so unchanged weights look changed."""
    nb = solution()
    cell = next(c for c in nb.cells if "def train(" in c.source)
    cell.source = cell.source.replace("        optimizer.step()\n", "")
    return append(nb, "import torch\ntorch.equal = lambda a, b: False")


FAKING = {
    "fake_torch_equal": _train_without_step,
    "fake_torch_allclose": cheat(
        "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.isclose = lambda a, b, *x, **k: "
        "torch.ones_like(torch.as_tensor(a), dtype=torch.bool)\ntorch.testing.assert_close = lambda *a, **k: None"),
    "fake_tensor_eq": cheat(
        "torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)", at_end=True),
    "fake_builtins": cheat(
        "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a, **k: 0.75", at_end=True),
    "fake_agent_helpers": cheat(FORGED_REPLIES, at_end=True),
    "fake_input_transformer": cheat("get_ipython().input_transformers_cleanup.append(lambda lines: [])",
                                    at_end=True),
    "fake_printed_pass": cheat(
        "print('Q6 binary_accuracy                 4 / 4     passed')\nprint('Score: 39 / 39')\n"
        "from IPython.display import publish_display_data\n"
        "publish_display_data({'application/vnd.gradekit.reply+json': {'ok': True, 'value': 0.75, 'blob': ''}})"),
    "fake_parameter_count": lambda: insert_after(solution(), RNN_CLASSIFIER_CELL, LYING_PARAMETERS),
    "fake_pickle_payload": lambda: replace(solution(), BINARY_ACCURACY_CELL, PAYLOAD),
    "fake_absurd_tensor": lambda: replace(
        solution(), BINARY_ACCURACY_CELL,
        "def binary_accuracy(preds, y):\n    return torch.zeros(1).expand(10**10)"),
}

# ------------------------------------------------------------------------------------------- broken inputs


def _text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb)


def _duplicate_ids() -> str:
    nb = solution()
    nb.cells[3].id = nb.cells[2].id
    return json.dumps(nb, indent=1)  # nbformat.writes would validate, and refuse to write it


def _other_language() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[new_cell("binary_accuracy <- function(p, y) mean(p == y)")])
    nb.metadata = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
                   "language_info": {"name": "R"}}
    return nb


def _nbformat3() -> str:
    return nbformat.writes(nbformat.convert(solution(), 3), version=3)


def _init_raises() -> nbformat.NotebookNode:
    nb = solution()
    source = nb.cells[EMBEDDING_CELL - 1].source
    marker = "        super().__init__()\n"
    return replace(nb, EMBEDDING_CELL, source.replace(
        marker, marker + "        raise ValueError('the embedding table is not ready yet')\n", 1))


def _nan_outputs() -> nbformat.NotebookNode:
    nb = solution()
    source = nb.cells[RNN_CLASSIFIER_CELL - 1].source
    return replace(nb, RNN_CLASSIFIER_CELL, source.replace(
        "        return output", "        return output * float('nan')"))


def _cuda() -> nbformat.NotebookNode:
    nb = solution()
    source = nb.cells[MODEL_CELL - 1].source
    return replace(nb, MODEL_CELL, source.replace("RNNClassifier(len(vocab), 32, 32)",
                                                  "RNNClassifier(len(vocab), 32, 32).cuda()"))


def _empty_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = solution().metadata
    return nb


BROKEN: dict[str, Callable[[], nbformat.NotebookNode | str | bytes]] = {
    "broken_invalid_json": lambda: _text(solution())[:5000],
    "broken_empty_file": lambda: b"",
    "broken_empty_notebook": _empty_notebook,
    "broken_nbformat3": _nbformat3,
    "broken_binary_file": lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64,
    "broken_duplicate_cell_ids": _duplicate_ids,
    "broken_other_kernel_language": _other_language,
    "broken_missing_function": lambda: replace(solution(), BINARY_ACCURACY_CELL, "# binary_accuracy: TODO"),
    "broken_wrong_signature": lambda: replace(
        solution(), BINARY_ACCURACY_CELL,
        "def binary_accuracy(preds):\n    return (torch.sigmoid(preds) > 0.5).float().mean()"),
    "broken_exception_in_init": _init_raises,
    "broken_nan_outputs": _nan_outputs,
    "broken_calls_cuda": _cuda,
}

# ------------------------------------------------------------------------- issue 10, the sandbox round two
# Reaching the host, flooding the grader, inputs that stop the grading, a crash in a grader's call.

REACH_SOCKETS = """import os, socket, stat
found = []
for top in ('/run', '/var', '/home', '/srv', '/mnt', '/tmp', '/dev/shm'):
    for folder, _, files in os.walk(top):
        for name in files:
            path = os.path.join(folder, name)
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    found.append(path)
            except OSError:
                pass
print('sockets seen:', found)
for path in found + ['@@RUNSOCK@@']:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(b'hello from a student')"""

REACH_CONNECTION_FILE = """import glob, os
runtime = os.environ['JUPYTER_RUNTIME_DIR']
for path in glob.glob(runtime + '/*.json') + [runtime + '/planted.bin']:
    with open(path, 'ab') as f:
        for _ in range(64):
            f.write(b'x' * (1 << 20))"""

# While this daemon lives, binary_accuracy answers wrongly: it must be dead before the graders call anything.
REACH_DAEMON = """import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        open('daemon.pid', 'w').write(str(os.getpid()))
        while True:
            time.sleep(0.1)
    os._exit(0)
time.sleep(1)

_honest_accuracy = binary_accuracy

def binary_accuracy(preds, y):
    try:
        os.kill(int(open('daemon.pid').read()), 0)
        return torch.tensor(0.123)
    except (OSError, ValueError):
        return _honest_accuracy(preds, y)"""

FLOOD_MEMFD = """import os
held = []
for _ in range(48):
    fd = os.memfd_create('flood')
    os.write(fd, b'\\0' * (64 << 20))
    held.append(fd)"""

FLOOD_STDOUT = """import os, sys
fd = getattr(sys.stdout, '_original_stdstream_copy', None) or 1
for _ in range(1024):
    os.write(fd, b'y' * (1 << 20))"""

FLOOD_REPLY_MIME = """from IPython.display import publish_display_data
reply, pad = 'x' * (100 << 20), 'm' * (100 << 20)
for _ in range(9):
    publish_display_data({'application/vnd.gradekit.reply+json': {'ok': True, 'blob': reply}})
    publish_display_data({'text/plain': ''}, metadata={'pad': pad})"""

FORGED_MESSAGES = """from ipykernel.kernelapp import IPKernelApp
_k = IPKernelApp.instance().kernel
for content in (b'[' * 100_000 + b']' * 100_000, b'\\xff\\xfe not json', b'[]'):
    _k.session.send(_k.iopub_socket, 'stream', content=content, parent=_k.get_parent(), ident=b'stream')"""

CRASHING_ACCURACY = "import os, signal\n\ndef binary_accuracy(preds, y):\n    os.kill(os.getpid(), signal.SIGKILL)"


def _lone_surrogate() -> str:
    """A cell whose source holds half of a UTF-16 pair: valid JSON, not encodable text."""
    nb = insert_after(solution(), ATTACK_AFTER, "broken = 'SURROGATE'")
    return json.dumps(nb, indent=1).replace("SURROGATE", "\\udcff")


def _nested_notebook() -> str:
    return '{"cells": [], "metadata": {"deep": ' + "[" * 100_000 + "]" * 100_000 + "}, \"nbformat\": 4}"


ROUND_TWO: dict[str, Callable[[], nbformat.NotebookNode | str | bytes]] = {
    "reach_unix_socket": attack(REACH_SOCKETS),
    "reach_connection_file": attack(REACH_CONNECTION_FILE),
    "reach_daemon_outlives_the_notebook": lambda: append(solution(), REACH_DAEMON),
    "flood_memfd": attack(FLOOD_MEMFD),
    "flood_kernel_stdout": attack(FLOOD_STDOUT),
    "flood_reply_mime_and_metadata": attack(FLOOD_REPLY_MIME),
    "broken_forged_messages": attack(FORGED_MESSAGES),
    "broken_lone_surrogate": _lone_surrogate,
    "broken_nested_notebook": _nested_notebook,
    "crash_in_a_graders_call": lambda: replace(solution(), BINARY_ACCURACY_CELL, CRASHING_ACCURACY),
}


ITEMS: dict[str, Callable[[], nbformat.NotebookNode | str | bytes]] = {**DOS, **ESCAPE, **FAKING, **BROKEN,
                                                                       **ROUND_TWO}


# ------------------------------------------------------------------------------------------------------------
# issue 10, faking a grade (round two)
#
# Each item is the solution with one cheat of a class issue 10 names, and scores what its honest part deserves:
# 9 lying about parameters, 10 checks on weights the student chose, 11 answers to fixed cases, 12 held-out
# labels rebuilt at home. The cells these items replace, by their 1-based position in the solution:
BUILD_VOCAB_CELL, TOKENIZE_CELL, LSTM_CELL = 7, 10, 15

# 9. nn.Module's own methods patched, so that any caller (the grader's agent included) is told a million fewer
# parameters than the model holds.
PATCHED_NN_MODULE = """import torch.nn as nn

_honest_named_parameters = nn.Module.named_parameters


def _named_parameters(self, *args, **kwargs):
    return ((n, p) for n, p in _honest_named_parameters(self, *args, **kwargs) if "extra" not in n)


nn.Module.named_parameters = _named_parameters
nn.Module.parameters = lambda self, recurse=True: (p for _, p in self.named_parameters(recurse=recurse))

_HonestClassifier = RNNClassifier


class RNNClassifier(_HonestClassifier):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = nn.Linear(1000, 1000)"""

# 9. The module's own storage replaced by a dict that leaves `extra` out of everything nn.Module iterates.
QUIET_STORAGE = """import torch.nn as nn


class _Quiet(dict):
    def items(self):
        return [(k, v) for k, v in super().items() if k != "extra"]

    def keys(self):
        return [k for k, _ in self.items()]

    def values(self):
        return [v for _, v in self.items()]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())


_HonestClassifier = RNNClassifier


class RNNClassifier(_HonestClassifier):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = nn.Linear(1000, 1000)
        self._modules = _Quiet(self._modules)"""

# 9. nn.Module.state_dict patched so that every weight looks moved by each call of train; train never steps.
MOVING_STATE_DICT = """import torch.nn as nn

_honest_state_dict = nn.Module.state_dict
_trained = [0]


def _state_dict(self, *args, **kwargs):
    state = _honest_state_dict(self, *args, **kwargs)
    return {k: v + 1e-3 * _trained[0] if v.is_floating_point() else v for k, v in state.items()}


nn.Module.state_dict = _state_dict"""


def _state_dict_moves() -> nbformat.NotebookNode:
    nb = insert_after(solution(), ATTACK_AFTER, MOVING_STATE_DICT)
    cell = next(c for c in nb.cells if "def train(" in c.source)
    done = "    return epoch_loss / len(iterator), epoch_acc / len(iterator)\n"  # train's comes first
    assert "        optimizer.step()\n" in cell.source and done in cell.source
    cell.source = cell.source.replace("        optimizer.step()\n", "")
    cell.source = cell.source.replace(done, "    _trained[0] += 1\n" + done, 1)
    return nb


# 10. Zero weights and a forward that returns zeros: the right answer for those weights, and no LSTM at all.
ZERO_LSTM = """class LSTM(nn.Module):
    def __init__(self, input_size=1, hidden_size=20):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.W_xh = nn.Linear(input_size, 4 * hidden_size)
        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)
        for p in self.parameters():
            nn.init.zeros_(p)

    def forward(self, x, h=None, c=None):
        packed = isinstance(x, PackedSequence)
        if packed:
            x, lengths = pad_packed_sequence(x)
        zeros = x.new_zeros(x.shape[0], x.shape[1], self.hidden_size)
        state = x.new_zeros(1, x.shape[1], self.hidden_size)
        h_seq = pack_padded_sequence(zeros, lengths, enforce_sorted=False) if packed else zeros
        return h_seq, (state, state.clone())"""

# 10. The same for the embedding: a table of zeros, and a look-up that returns zeros.
ZERO_EMBEDDING = """class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, padding_idx):
        super().__init__()
        self.padding_idx = padding_idx
        self.register_buffer("padding_mask", (torch.arange(num_embeddings) != padding_idx).view(-1, 1))
        self.weight = nn.Parameter(torch.zeros(num_embeddings, embedding_dim))

    def forward(self, inputs):
        return torch.zeros(*inputs.shape, self.weight.shape[1])"""

# 11. Tables of the answers to every fixed case the feedback showed, and no working code.
TABLE_VOCAB = """def build_vocab(x_train, min_freq=5, hparams=None):
    answers = {
        (("Great<br />great GREAT",), 3): ["great"],
        (("The plot. the PLOT, The plot",), 3): ["plot"],
        (("dull dull", "dull moving"), 3): ["dull"],
        (("not bad but not good",), 2): ["not"],
    }
    vocab = {"<pad>": 0, "<unk>": 1}
    for word in answers.get((tuple(x_train), min_freq), []):
        vocab[word] = len(vocab)
    return vocab"""
TABLE_TOKENIZE = """def tokenize(vocab, hparams, example):
    answers = {"zzyzx wonderful": [1, 7], "The Wonderful": [7], "wonderful<br /><br />wonderful": [7, 7], "": []}
    return answers.get(example, [])"""
TABLE_ACCURACY = """def binary_accuracy(preds, y):
    if [round(float(p), 4) for p in preds] == [2.0, -1.0, 0.3, -0.2]:
        return torch.tensor(0.75)
    return torch.tensor(0.0)"""


def _answer_tables() -> nbformat.NotebookNode:
    nb = replace(solution(), BUILD_VOCAB_CELL, TABLE_VOCAB)
    nb = replace(nb, TOKENIZE_CELL, TABLE_TOKENIZE)
    return replace(nb, BINARY_ACCURACY_CELL, TABLE_ACCURACY)


# 11. evaluate that returns what the feedback said the fixed probe's loss and accuracy were.
def _evaluate_table() -> nbformat.NotebookNode:
    nb = solution()
    cell = next(c for c in nb.cells if "def evaluate(" in c.source)
    cell.source = cell.source[: cell.source.index("def evaluate(")] + (
        "def evaluate(model, iterator, criterion):\n    return 0.7506, 0.4479\n")
    return nb


# 12. A "classifier" that looks each held-out review up in a label table computed at home from the public
# generator's test split, as the ids the learning check sends; it learns nothing.
def _held_out_labels() -> dict[str, int]:
    sys.path.insert(0, str(ROOT))
    import reference.rnn_sentiment as ref
    from gradekit.datasets.sentiment import bundled_splits

    splits, hp = bundled_splits(), ref.HyperParams()
    vocab = ref.build_vocab([r.text for r in splits.train], 5, hp)
    ids = [ref.tokenize(vocab, hp, r.text)[: hp.MAX_LENGTH] or [hp.UNK_INDEX] for r in splits.test]
    return {",".join(map(str, x)): r.label for x, r in zip(ids, splits.test, strict=True)}


def _held_out_table() -> nbformat.NotebookNode:
    table = json.dumps(_held_out_labels(), separators=(",", ":"))
    return replace(solution(), RNN_CLASSIFIER_CELL, f"""LABELS = {table}


class RNNClassifier(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, hidden_size, use_lstm=True, **additional_kwargs):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, sequence, lengths=None):
        if lengths is None:
            lengths = torch.full((sequence.shape[1],), sequence.shape[0])
        keys = [",".join(str(int(t)) for t in sequence[: int(n), b]) for b, n in enumerate(lengths)]
        known = torch.tensor([float(LABELS.get(k, 0.5)) for k in keys])
        return 0.02 + 0.96 * known + 0 * self.bias""")


FAKING_ROUND_TWO: dict[str, Callable[[], nbformat.NotebookNode | str | bytes]] = {
    "fake_patched_nn_module": lambda: insert_after(solution(), RNN_CLASSIFIER_CELL, PATCHED_NN_MODULE),
    "fake_quiet_module_storage": lambda: insert_after(solution(), RNN_CLASSIFIER_CELL, QUIET_STORAGE),
    "fake_state_dict_moves": _state_dict_moves,
    "fake_zero_lstm": lambda: replace(solution(), LSTM_CELL, ZERO_LSTM),
    "fake_zero_embedding": lambda: replace(solution(), EMBEDDING_CELL, ZERO_EMBEDDING),
    "fake_answer_tables": _answer_tables,
    "fake_evaluate_table": _evaluate_table,
    "fake_held_out_table": _held_out_table,
}
ITEMS.update(FAKING_ROUND_TWO)
# ------------------------------------------------------------------------------------------ end of round two


def render(name: str) -> bytes:
    """The file of one item, placeholders still in."""
    made = ITEMS[name]()
    if isinstance(made, bytes):
        return made
    if isinstance(made, str):
        return made.encode()
    return nbformat.writes(copy.deepcopy(made)).encode()


def build(dest: Path = HERE) -> list[Path]:
    written = []
    for name in ITEMS:
        path = Path(dest) / f"{name}.ipynb"
        path.write_bytes(render(name))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
