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
        "os.kill(-1, signal.SIGKILL)"),
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
