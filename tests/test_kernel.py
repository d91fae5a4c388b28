"""What a kernel may send or do that must never stop the grading (gradekit.kernel, gradekit.proxy), each tried
for real in a sandboxed kernel: unreadable and oversize messages, the grader's reply type from a cell, output
written to the kernel's own stdout, processes that outlive their cell, memory outside the address space, and a
student function that kills its kernel while a grader calls it.

The kernels here share nothing; each test that may cost its kernel has one of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
from pathlib import Path

import pytest

from gradekit import procs
from gradekit.channels import message_size, trimmed_error
from gradekit.codec import REPLY_MIME
from gradekit.kernel import KernelSession
from gradekit.proxy import KernelCrashed, Submission, Unavailable
from gradekit.sandbox import GIB, Limits, Sandbox, bwrap_available

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap (bwrap) cannot create namespaces here")

# A validly signed message built in the kernel, with the kernel's own session key: `content` is sent as raw
# bytes, so it can be anything (Session.serialize passes bytes through unpacked).
FORGE = """
from ipykernel.kernelapp import IPKernelApp
_k = IPKernelApp.instance().kernel
_k.session.send(_k.iopub_socket, {msg_type!r}, content={content}, parent=_k.get_parent(), ident=b"x")
"""


@contextlib.contextmanager
def kernel(tmp_path: Path, **sandbox):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    with Sandbox(scratch=scratch, **sandbox) as box, KernelSession(scratch, box, cell_timeout=30) as session:
        yield session


def stdout(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


# ------------------------------------------------------------------------------------------ unit: the budget


def test_message_size_counts_metadata_and_buffers():
    small = {"content": {"data": {"text/plain": "x"}}, "metadata": {}, "buffers": []}
    fat = {"content": {"data": {"text/plain": "x"}}, "metadata": {"junk": "y" * 10_000}, "buffers": [b"z" * 5000]}
    assert message_size(fat) - message_size(small) >= 15_000


def test_message_size_survives_any_nesting():
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    assert message_size({"content": {"data": deep}, "metadata": {}}) > 200_000


def test_an_error_output_is_cut_to_a_bounded_size():
    error = trimmed_error({"ename": "E" * 10_000, "evalue": "v" * 10**6, "traceback": ["t" * 10**5] * 1000})
    assert len(json.dumps(error)) < 200_000
    assert error["evalue"].startswith("vvv")


# ------------------------------------------------------------------------------------ messages from a kernel


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with kernel(tmp_path_factory.mktemp("messages"), mode="auto") as session:
        yield session


def test_a_message_nested_too_deep_to_decode_is_dropped(shared):
    content = "b'[' * 100_000 + b']' * 100_000"
    report = shared.run_notebook([(1, FORGE.format(msg_type="stream", content=content)), (2, "after = 2")])
    assert report.errors == [] and report.aborted is None
    assert any("could not read" in n and "cell 1" in n for n in report.notes), report.notes
    assert stdout(shared.execute("print(after)")[0]).strip() == "2"


def test_junk_frames_are_dropped(shared):
    report = shared.run_notebook([(1, FORGE.format(msg_type="stream", content="b'\\xff\\xfe not json'")),
                                  (2, FORGE.format(msg_type="display_data", content="b'[1, 2, 3]'"))])
    assert report.errors == [] and report.aborted is None
    assert sum("could not read" in n for n in report.notes) == 2


def test_the_graders_reply_type_from_a_cell_is_never_kept(shared):
    reply = f"{{{REPLY_MIME!r}: {{'ok': True, 'blob': 'x' * (8 << 20)}}}}"
    cell = f"from IPython.display import publish_display_data\nfor _ in range(4):\n    publish_display_data({reply})"
    outputs, error = shared.execute(cell)
    assert error is None and outputs == []


def test_metadata_counts_against_the_output_cap(shared):
    cell = ("from IPython.display import publish_display_data\n"
            "for _ in range(40):\n    publish_display_data({'text/plain': 'x'}, metadata={'pad': 'y' * (1 << 20)})")
    report = shared.run_notebook([(5, cell)])
    assert any("cell 5 printed more than 2 MiB" in n for n in report.notes), report.notes
    kept = shared._client.nb.cells[-1].outputs
    assert sum(message_size({"content": dict(o), "metadata": {}}) for o in kept) <= 3 << 20


def test_a_cell_with_a_lone_surrogate_costs_that_cell_only(shared):
    report = shared.run_notebook([(3, "broken = '\udcff'"), (4, "fine = 4")])
    assert [(e.cell, e.ename) for e in report.errors] == [(3, "InvalidText")]
    assert "line 1, column 11" in report.errors[0].evalue
    assert stdout(shared.execute("print(fine)")[0]).strip() == "4"


def test_each_cell_is_announced_as_it_starts(shared):
    """What `grade check` shows while a student waits: the course's set-up, then each cell by its position."""
    steps = []
    shared.run_notebook([(0, "setup = 1"), (2, "a = 1"), (5, "b = a + 1")], on_step=steps.append)
    assert [(s.phase, s.index, s.total, s.label) for s in steps] == [
        ("cell", 1, 3, "the course's set-up"), ("cell", 2, 3, "cell 2"), ("cell", 3, 3, "cell 5")]
    assert steps[1].describe() == "running cell 2 (2 of 3)"


def test_output_to_the_kernels_own_stdout_goes_to_a_bounded_tail(shared):
    """File descriptors 1 and 2 bypass Jupyter's messages; the grader keeps only their last 64 KiB."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cell = ("import os, sys\nfd = getattr(sys.stdout, '_original_stdstream_copy', None) or 1\n"
            "for _ in range(512):\n    os.write(fd, b'x' * (1 << 20))\nos.write(fd, b'the end')")
    shared.run_notebook([(6, cell)])
    assert shared._stdio is not None and shared._stdio.total >= 512 << 20
    assert len(shared.stdio_tail()) <= 64 << 10 and shared.stdio_tail().endswith("the end")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 256, f"the host's peak memory grew by {grown_mib:.0f} MiB for 512 MiB written"


# ------------------------------------------------------------------------------------ processes and memory


@needs_bwrap
def test_a_double_forked_daemon_does_not_outlive_the_notebook(shared):
    daemon = ("import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "        open('daemon.pid', 'w').write(str(os.getpid()))\n"
              "        while True:\n            time.sleep(0.1)\n    os._exit(0)\ntime.sleep(0.5)")
    shared.run_notebook([(7, daemon)])
    out = stdout(shared.execute("import os\npid = int(open('daemon.pid').read())\ntry:\n    os.kill(pid, 0)\n"
                                "    print('alive')\nexcept ProcessLookupError:\n    print('gone')")[0])
    assert out.strip() == "gone"
    assert shared.strays() == []


def test_a_closed_session_gives_back_its_file_descriptors(tmp_path):
    """A batch's worker grades one notebook, but tests and `grade check` grade many in one process: each session
    used to keep about 16 descriptors (zeromq contexts), and a long run hit select()'s limit of 1024."""
    def opened() -> int:
        return len(os.listdir("/proc/self/fd"))

    counts = []
    for _ in range(3):
        with kernel(tmp_path) as session:
            session.execute("x = 1")
        counts.append(opened())
    assert counts[2] <= counts[0], counts


@needs_bwrap
def test_a_fork_loop_that_swallows_interrupts_is_stopped_and_the_next_cell_runs(tmp_path):
    """Python swallows a KeyboardInterrupt that lands in its after-fork hooks, so a fork loop can outlive every
    interrupt (here it also catches them): what stops it is a fork that fails (`cgroups.no_forks`).

    Not asserted: that the kernel can fork again afterwards. Its dead children stay zombies until it reaps
    them, which no IPython kernel does, and they keep their slots under RLIMIT_NPROC."""
    # Ten forks a second: far from the process limit when the cell times out, as a kernel with torch loaded
    # forks on a busy machine.
    loop = ("import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(60)\n"
            "            os._exit(0)\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Sandbox(scratch=scratch, mode="on") as box, KernelSession(scratch, box, cell_timeout=5) as session:
        report = session.run_notebook([(1, loop), (2, "after = 6 * 7")])
        assert report.aborted is None and report.fatal_cell is None, report.aborted
        assert [(e.cell, e.ename) for e in report.errors] == [(1, "Timeout")]
        assert stdout(session.execute("print(after)")[0]).strip() == "42"
        assert session.strays() == []


@needs_bwrap
def test_memory_outside_the_address_space_is_bounded(tmp_path):
    """memfds are in no address space: only the kernel's memory cgroup (or, without one, seccomp) bounds them."""
    memfd = ("import os\nfds = []\nfor _ in range(64):\n    fd = os.memfd_create('x')\n"
             "    os.write(fd, b'\\0' * (64 << 20))\n    fds.append(fd)")
    with kernel(tmp_path, mode="on", limits=Limits(memory=2 * GIB)) as session:
        report = session.run_notebook([(1, "before = 1"), (2, memfd)])
        if session.sandbox.protections.memory.startswith("cgroup"):
            assert report.fatal_cell == 2 and "ran out of memory while running cell 2" in report.aborted
            assert "the limit is 2 GiB" in report.aborted
        else:
            assert [(e.cell, e.ename) for e in report.errors] == [(2, "PermissionError")]


@needs_bwrap
def test_without_a_cgroup_shared_memory_is_refused(tmp_path):
    calls = ("import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
             "print(libc.shmget(0, 1 << 20, 0o1000 | 0o600), ctypes.get_errno())\n"
             "try:\n    os.memfd_create('x')\nexcept OSError as e:\n    print(e.errno)")
    with kernel(tmp_path, mode="on", memory_guard="seccomp") as session:
        assert session.sandbox.protections.memory == "seccomp"
        outputs, error = session.execute(calls)
        assert error is None and stdout(outputs).split() == ["-1", "1", "1"]  # EPERM for both


def test_the_protections_in_force_are_recorded(tmp_path):
    with kernel(tmp_path, mode="auto") as session:
        record = session.sandbox.protections.to_dict()
    assert set(record) == {"isolation", "memory", "memory_limit"}
    assert record["memory"] in ("cgroup v1", "cgroup v2", "seccomp", "address space only")


# --------------------------------------------------------------------------- a crash in a grader's call


CRASHY = "import os, signal\nclass Box:\n    def __init__(self, n):\n        self.n = n\n\ndef crash():\n" \
         "    os.kill(os.getpid(), signal.SIGKILL)\n\ndef double(x):\n    return 2 * x"


def test_a_call_that_kills_the_kernel_costs_that_check_and_the_next_call_works(tmp_path):
    with kernel(tmp_path, mode="auto") as session:
        session.run_notebook([(1, CRASHY)])
        submission = Submission(session)
        box = submission.new("Box", 7)
        before = submission.generation
        with pytest.raises(KernelCrashed, match="Calling crash\\(\\) stopped your kernel; a fresh kernel re-ran"):
            submission.call("crash")
        assert submission.generation == before + 1
        assert submission.call("double", 21) == 42  # the notebook was re-run in the fresh kernel
        assert submission.run("result = box.n", box=box) == 7  # a handle from the old kernel, rebuilt


def test_a_call_that_hangs_past_the_interrupt_gets_a_fresh_kernel(tmp_path):
    hang = ("import time\ndef hang():\n    while True:\n        try:\n            time.sleep(0.05)\n"
            "        except KeyboardInterrupt:\n            pass\n\ndef one():\n    return 1")
    with kernel(tmp_path, mode="auto") as session:
        session.run_notebook([(1, hang)])
        submission = Submission(session)
        with pytest.raises(KernelCrashed, match="did not stop when interrupted"):
            submission.call("hang", timeout=2)
        assert submission.call("one") == 1


def test_after_too_many_crashes_the_rest_is_unavailable(tmp_path):
    with kernel(tmp_path, mode="auto") as session:
        session.run_notebook([(1, CRASHY)])
        submission = Submission(session)
        submission.MAX_REVIVALS = 1
        with pytest.raises(KernelCrashed):
            submission.call("crash")
        with pytest.raises(Unavailable, match="crashed the kernel 2 times"):
            submission.call("crash")
        with pytest.raises(Unavailable):
            submission.call("double", 1)


def test_no_process_outlives_its_session(tmp_path):
    with kernel(tmp_path, mode="auto") as session:
        session.run_notebook([(1, "import subprocess\np = subprocess.Popen(['sleep', '600'])")])
        cgroup = session.sandbox.cgroup
        members = cgroup.pids() if cgroup else []
    assert not [p for p in members if procs.alive(p)]
    if cgroup is not None:
        assert not cgroup.path.exists()


def test_a_kernel_that_dies_while_starting_is_an_error_at_once_that_says_why(tmp_path, monkeypatch):
    """It used to hang the grading for good: jupyter_client's cleanup waited on the iopub monitor's socket."""
    import time

    from gradekit.kernel import KernelStartError

    given = Sandbox.kernel_env
    monkeypatch.setattr(Sandbox, "kernel_env", lambda self, env: {**given(self, env), "PYTHONHOME": "/nonexistent"})
    start = time.monotonic()
    with Sandbox(scratch=tmp_path) as box, pytest.raises(KernelStartError) as caught:
        with KernelSession(tmp_path, box, startup_timeout=30):
            pass
    assert time.monotonic() - start < 20
    assert "No module named 'encodings'" in str(caught.value)


# IPython's traceback blocks as a kernel sends them (colour codes left out; the parser drops them).
LIBRARY_RAISED = ["-" * 75, "AttributeError                            Traceback (most recent call last)",
                  "Cell In[6], line 3\n      1 import sys\n      2 tok = BertTokenizer.from_pretrained(name)\n"
                  "----> 3 max_input_length = tok.max_model_input_sizes[name]\n",
                  "File /venv/lib/python3.11/site-packages/transformers/tokenization_utils_base.py:1107, in "
                  "__getattr__(self, key)\n   1106 if key not in self.__dict__:\n"
                  "-> 1107     raise AttributeError(f\"{self.__class__.__name__} has no attribute {key}\")\n",
                  "AttributeError: BertTokenizer has no attribute max_model_input_sizes"]
OWN_FUNCTION_RAISED = ["Cell In[4], line 2\n      1 y = 1\n----> 2 f({})\n",
                       "Cell In[3], line 2, in f(d)\n      1 def f(d):\n----> 2     return d['x']\n", "KeyError: 'x'"]
SYNTAX_ERROR = ["\x1b[0;36m  Cell \x1b[0;32mIn[2], line 2\x1b[0m\n\x1b[0;31m    1,\x1b[0m\n      ^\nSyntaxError: "
                "incomplete input\n"]


@pytest.mark.parametrize(("traceback", "line"), [
    (LIBRARY_RAISED, "max_input_length = tok.max_model_input_sizes[name]"),  # the student's call, not the library's
    (OWN_FUNCTION_RAISED, "return d['x']"),  # the student's own function, defined in another cell
    (SYNTAX_ERROR, "1,"),  # no arrow: the line under the cell's header
    (["File /x.py:3, in g()\n----> 3     raise ValueError\n", "ValueError"], "raise ValueError"),  # no cell frame
])
def test_a_cell_error_shows_the_students_own_line(traceback, line):
    from gradekit.kernel import _last_code_line

    assert _last_code_line(traceback) == line
