"""The adversarial corpus (tests/adversarial/, built by make_corpus.py): every attack and broken input is
graded for real (worker processes, warm ones as in a batch, sandboxed kernels, real graders) and gets its exact
score, a message that says what happened, and leaves the host, the other submissions and the report folder
untouched.

One grading per item, shared by all assertions (module-scoped). Cells get 10 s instead of rnn_sentiment's
120 s so that the denial-of-service items cost seconds; nothing else is changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradekit import procs
from gradekit.cgroups import MemoryCgroup
from gradekit.pool import PoolLimits, WorkerFailed, WorkerPool
from gradekit.results import SubmissionResult
from gradekit.sandbox import GIB, Sandbox, bwrap_available

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "adversarial"
sys.path.insert(0, str(CORPUS))
import make_corpus  # noqa: E402

CELL_TIMEOUT = 10
FULL = {"build_vocab": 6, "tokenize": 4, "embedding": 5, "lstm": 5, "rnn_classifier": 5, "binary_accuracy": 4,
        "train_evaluate": 5, "param_count": 2, "accuracy_threshold": 3}
ZERO = dict.fromkeys(FULL, 0)
REACHED_Q2 = {**ZERO, "build_vocab": 6, "tokenize": 4}  # the kernel died in cell 12, right after Q2
# make_corpus.WRONG_ACCURACY's own cost: binary_accuracy's 4, once. train and evaluate are the solution's: they
# average what binary_accuracy says of the right inputs, and are not charged again for its mistake.
NO_SIGMOID = {**FULL, "binary_accuracy": 0}


def contained() -> bool:
    """Whether the kernel runs as a uid of its own (or the grader is not root): only then do a fork bomb and
    `kill -1` stay inside the sandbox (RLIMIT_NPROC does not bind root)."""
    if not bwrap_available():
        return False
    sandbox = Sandbox(scratch=Path(tempfile.gettempdir()), mode="on")
    try:
        return sandbox.isolation in ("uid", "user")
    finally:
        sandbox.cleanup()


STOPPED = "the notebook stopped at cell 12 and the cells after it were not run"
UNIX_SERVER = Path("/run") / f"gk-test-host-service-{os.getpid()}.sock"


def _memory_cgroup_here() -> bool:
    cgroup = MemoryCgroup.create(GIB)
    if cgroup is not None:
        cgroup.remove()
    return cgroup is not None


MEMORY_CGROUP = _memory_cgroup_here()

# item -> (question scores, [(where, words it must contain)]); where is a question id, "notes", "error" or
# "cell N" (the error recorded for cell N, as "ename: evalue").
EXPECTED: dict[str, tuple[dict, list[tuple[str, str]]]] = {
    # denial of service
    "dos_infinite_loop": (FULL, [("notes", "cell 12 ran past its 10 s limit and was interrupted")]),
    "dos_sleep_forever": (FULL, [("notes", "cell 12 ran past its 10 s limit and was interrupted")]),
    "dos_ignores_interrupts": (REACHED_Q2, [("notes", "cell 12 ran past its 10 s limit and did not stop when "
                                                      "interrupted"), ("embedding", STOPPED)]),
    "dos_memory_bomb": (FULL, [("cell 12", "MemoryError"), ("cell 12", "ran out of memory")]),
    # stopped, and the rest graded in full, either way: by the process limit (64), within seconds and before its
    # copies can fill the memory cgroup (its fork fails in the student's own loop, and the message names the
    # limit); or, on a machine so loaded that forking a kernel with torch loaded is slow (load 14 in a local CI
    # run), by the cell's time limit first, after which KernelSession.recover blocks forks and the kernel answers
    "dos_fork_bomb": (FULL, [("cell 12", ("at most 64 processes and threads", "Timeout: ran past its 10 s limit"))]),
    # One print of a gigabyte: ipykernel holds several copies of it while it encodes the message, past the
    # kernel's 4 GiB; the worker never holds it (test_no_worker_holds_what_a_kernel_floods_it_with).
    "dos_gigabyte_output": (REACHED_Q2, [("notes", "the kernel ran out of memory while running cell 12"),
                                         ("notes", "re-ran cells 1 to 11"), ("embedding", STOPPED)]),
    "dos_fill_the_disk": (FULL, [("cell 12", "No space left on device")]),
    "dos_thread_keeps_running": (FULL, []),
    "dos_kills_its_kernel": (REACHED_Q2, [("notes", "the kernel died while running cell 12"),
                                          ("notes", "re-ran cells 1 to 11"), ("binary_accuracy", STOPPED)]),
    # escape and snooping: each attempt fails in its own cell, and the honest rest is graded
    "snoop_reference_absolute": (FULL, [("cell 12", "FileNotFoundError")]),
    "snoop_graders_absolute": (FULL, [("cell 12", "FileNotFoundError")]),
    "snoop_relative_paths": (FULL, [("cell 12", "FileNotFoundError")]),
    "snoop_hidden_data": (FULL, [("cell 12", "ModuleNotFoundError: No module named 'gradekit'")]),
    "snoop_other_submission": (FULL, [("cell 12", "FileNotFoundError")]),
    "snoop_report_folder": (FULL, [("cell 12", "FileNotFoundError")]),
    # its last connect is to the host's test server: inside, the sandbox's own loopback has nothing listening
    "escape_network": (FULL, [("cell 12", "ConnectionRefusedError: [Errno 111] Connection refused")]),
    "escape_write_outside": (FULL, []),
    "escape_kill_the_host": (REACHED_Q2, [("notes", "the kernel died while running cell 12")]),
    # faking: the cheated question scores what the wrong answer deserves, whatever the patch
    # a train that never steps loses train's by-effect replay and its "weights change" check (2 of train's 2.5,
    # as since issue 11); the patched torch.equal buys nothing back
    "fake_torch_equal": ({**FULL, "train_evaluate": 3, "accuracy_threshold": 0},
                         [("train_evaluate", "train: no weight changed")]),
    "fake_torch_allclose": (NO_SIGMOID, [("binary_accuracy", "apply a sigmoid before rounding")]),
    # exactly the honest wrong answer's score: since issue 11 no drawn case has a true accuracy of 1.0, so an
    # `==` that always says True matches none of them
    "fake_tensor_eq": (NO_SIGMOID, [("binary_accuracy", "gave 1.0000 on 10 logits")]),
    "fake_builtins": (NO_SIGMOID, [("binary_accuracy", "apply a sigmoid before rounding")]),
    "fake_agent_helpers": (ZERO, [("binary_accuracy", "should be a single number, but it is a bool")]),
    "fake_input_transformer": (NO_SIGMOID, [("binary_accuracy", "apply a sigmoid before rounding")]),
    "fake_printed_pass": (NO_SIGMOID, [("binary_accuracy", "apply a sigmoid before rounding")]),
    "fake_parameter_count": ({**FULL, "rnn_classifier": 4, "param_count": 0},
                             [("param_count", "has 3,868,049 trainable parameters, expected 2,867,049"),
                              ("rnn_classifier", "these parameters receive no gradient: ['extra.weight'")]),
    "fake_pickle_payload": (NO_SIGMOID, [("binary_accuracy", "should be a single number, but it is a Verdict object")]),
    "fake_absurd_tensor": ({**FULL, "binary_accuracy": 0, "train_evaluate": 0, "accuracy_threshold": 0},
                           [("binary_accuracy", "too large to send back")]),
    # broken inputs
    "broken_invalid_json": (ZERO, [("error", "is not valid JSON"), ("tokenize", "could not be graded")]),
    "broken_empty_file": (ZERO, [("error", "is empty (0 bytes)")]),
    "broken_empty_notebook": (ZERO, [("binary_accuracy", "`binary_accuracy` is not defined in your notebook: no "
                                                         "cell defines it")]),
    "broken_nbformat3": (FULL, []),
    "broken_binary_file": (ZERO, [("error", "does not look like a Jupyter notebook")]),
    "broken_duplicate_cell_ids": (FULL, []),
    "broken_other_kernel_language": (ZERO, [("error", "is a R notebook; this assignment needs a Python notebook")]),
    "broken_missing_function": ({**FULL, "binary_accuracy": 0, "train_evaluate": 0, "accuracy_threshold": 0},
                                [("binary_accuracy", "`binary_accuracy` is not defined in your notebook")]),
    "broken_wrong_signature": ({**FULL, "binary_accuracy": 0, "train_evaluate": 0, "accuracy_threshold": 0},
                               [("binary_accuracy", "takes 1 positional argument but 2 were given")]),
    "broken_exception_in_init": ({**FULL, "embedding": 0, "rnn_classifier": 0, "param_count": 0,
                                  "accuracy_threshold": 0},
                                 [("embedding", "raised ValueError: the embedding table is not ready yet"),
                                  ("embedding", "in your cell 13")]),
    "broken_nan_outputs": ({**FULL, "rnn_classifier": 3.5, "accuracy_threshold": 0},
                           [("rnn_classifier", "got values from nan to nan")]),
    "broken_calls_cuda": ({**FULL, "param_count": 1}, [("cell 27", "the grading machine has no GPU"),
                                                       ("param_count", "`model` is still None: cell 27, which "
                                                                       "defines it, raised")]),
}

EXPECTED.update({
    # issue 10, the sandbox round two. Reaching the host: each attempt fails in its own cell, the rest is full.
    "reach_unix_socket": (FULL, [("cell 12", "FileNotFoundError")]),  # /run is not there: no socket to find
    "reach_connection_file": (FULL, [("cell 12", "PermissionError")]),  # the IPC folder's files are root's, 0444
    # the daemon would make binary_accuracy wrong while it lives: full marks say it was killed before grading
    "reach_daemon_outlives_the_notebook": (FULL, []),
    # flooding: a memory cgroup stops the memfds and the kernel with them (what cell 12 did not reach is lost,
    # as for any cell that kills its kernel); without a cgroup the seccomp filter refuses memfd_create
    "flood_memfd": (REACHED_Q2, [("notes", "the kernel ran out of memory while running cell 12 (the limit is "
                                           "2 GiB"), ("embedding", STOPPED)]) if MEMORY_CGROUP else
                   (FULL, [("cell 12", "PermissionError")]),
    "flood_kernel_stdout": (FULL, []),  # and test_no_worker_holds_what_a_kernel_floods_it_with
    "flood_reply_mime_and_metadata": (FULL, [("notes", "cell 12 printed more than 2 MiB")]),
    # inputs that used to stop everything now cost the message, the cell, or (a file) the notebook's load
    "broken_forged_messages": (FULL, [("notes", "cell 12 sent 3 messages the grader could not read")]),
    "broken_lone_surrogate": (FULL, [("cell 12", "InvalidText: this cell was not run: line 1, column 11")]),
    "broken_nested_notebook": (ZERO, [("error", "is not a notebook we can read")]),
    # binary_accuracy kills its kernel: its own checks fail, and so do train/evaluate and the learning check,
    # which call it; a fresh kernel after each crash keeps every other question's marks
    "crash_in_a_graders_call": ({**FULL, "binary_accuracy": 0, "train_evaluate": 0, "accuracy_threshold": 0},
                                [("binary_accuracy", "Calling binary_accuracy() stopped your kernel")]),
})

# ------------------------------------------------------------------------------------------------------------
# issue 10, faking a grade (round two): each cheat scores what its honest part deserves. Before the fix the first
# three scored 39, 39 and 36 (the extra parameters unseen, a train that never steps looking trained), the zero
# LSTM and embedding 35 and 33, the answer tables 31, the evaluate table 38, the held-out label table 37.
EXPECTED.update({
    # 9. lying about parameters: counted from the module's storage, compared with what it reports
    "fake_patched_nn_module": ({**FULL, "rnn_classifier": 4, "param_count": 0},
                               [("param_count", "has 3,868,049 trainable parameters, expected 2,867,049"),
                                ("rnn_classifier", "these parameters receive no gradient: ['extra.weight'")]),
    "fake_quiet_module_storage": ({**FULL, "rnn_classifier": 4, "param_count": 0},
                                  [("param_count", "has 3,868,049 trainable parameters, expected 2,867,049"),
                                   ("rnn_classifier", "these parameters receive no gradient: ['extra.weight'")]),
    # the train without a step costs what it costs in fake_torch_equal (2)
    "fake_state_dict_moves": ({**FULL, "lstm": 4.5, "param_count": 0, "train_evaluate": 3, "accuracy_threshold": 0},
                              [("train_evaluate", "train: no weight changed"),
                               ("param_count", "does not report what it holds: state_dict() reports other values")]),
    # 10. checks on weights the student chose: outputs judged with weights the host draws and loads
    "fake_zero_lstm": ({**FULL, "lstm": 2, "rnn_classifier": 2, "accuracy_threshold": 0},
                       [("lstm", "with the graders' weights loaded, h_seq differs from the LSTM equations"),
                        ("rnn_classifier", "gave three different reviews the same probability")]),
    "fake_zero_embedding": ({**FULL, "embedding": 1, "rnn_classifier": 4, "accuracy_threshold": 0},
                            [("embedding", "ids other than the padding id 0 embed to zeros")]),
    # 11. answers to fixed cases: every case drawn per run; a vocabulary needs its real words
    # (train and evaluate are the solution's and average what the table says: binary_accuracy's mistake alone)
    "fake_answer_tables": ({**FULL, "binary_accuracy": 0, "build_vocab": 0, "tokenize": 0},
                           [("build_vocab", "kept 0 word(s)"), ("tokenize", "gave [], expected")]),
    # an evaluate that returns constants earns none of evaluate's 2.5 (variant wrong_evaluate_returns_constants)
    "fake_evaluate_table": ({**FULL, "train_evaluate": 2.5},
                            [("train_evaluate", "evaluate never called the model, so it measured nothing")]),
    # 12. held-out labels rebuilt at home: the held-out reviews are fresh each run
    "fake_held_out_table": ({**FULL, "rnn_classifier": 2, "param_count": 1, "accuracy_threshold": 0},
                            [("accuracy_threshold", "classified 50.0% of 600 held-out reviews")]),
})
# ------------------------------------------------------------------------------------------ end of round two

# Per-item worker options beyond the corpus-wide ones.
OPTIONS = {
    # what the bomb reaches, on a CI runner of modest memory; time to reach it on a loaded machine
    "dos_memory_bomb": ["--memory", str(6 * GIB), "--cell-timeout", "60"],
    "dos_gigabyte_output": ["--cell-timeout", "60"],  # the kernel needs ~10 s to reach its memory limit
    "flood_memfd": ["--memory-max", str(2 * GIB), "--cell-timeout", "60"],
    "flood_kernel_stdout": ["--cell-timeout", "60"],
    "flood_reply_mime_and_metadata": ["--cell-timeout", "60"],
}
# Safe only when the kernel cannot signal or fork beyond its own uid (see `contained`).
NEEDS_UID = {"dos_fork_bomb", "escape_kill_the_host"}


def fill(text: bytes, values: dict[str, str]) -> bytes:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@".encode(), value.encode())
    return text


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_worker(cmd: list[str], timeout: float) -> SimpleNamespace:
    """One worker process, its output in files (a flooding item must not flood this test's memory), and its own
    peak memory, what a batch would have to hold for it: VmHWM, read while it runs. Not wait4's ru_maxrss, which
    is the largest of the worker and every descendant it reaped, so the flooding kernel's own memory (bounded by
    its cgroup, tested in test_sandbox) would count as the worker's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        peak = 0
        while True:
            peak = max(peak, high_water_mark(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sizes = [f.seek(0, os.SEEK_END) for f in (out, err)]
        err.seek(max(0, sizes[1] - 4000))
        return SimpleNamespace(returncode=proc.returncode, stderr=err.read().decode(errors="replace"),
                               output_bytes=sum(sizes), peak_rss=peak)


def high_water_mark(pid: int) -> int:
    """The process's own peak resident memory so far (VmHWM), in bytes; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def grade(names: list[str], tmp: Path, server_port: int) -> SimpleNamespace:
    """Copy the items (placeholders filled) and two siblings into a submissions folder, grade them, and return
    what the tests look at. Items measured per process (their memory and output: the flooding items, and those
    with options of their own) and the first sibling get a worker each; every other item goes through two warm
    workers, as a batch grades them, item after item, and the second sibling comes last: nothing an item leaves
    behind in its worker may change a later notebook's verdict."""
    token = uuid.uuid4().hex[:12]
    submissions, reports = tmp / "submissions", tmp / "reports"
    submissions.mkdir()
    (reports / "results").mkdir(parents=True)
    marker = tmp / f"payload-ran-{token}"
    values = {"ROOT": str(ROOT), "SUBMISSIONS": str(submissions), "REPORTS": str(reports), "PORT": str(server_port),
              "HOSTPID": str(os.getpid()), "TOKEN": token, "MARKER": str(marker), "RUNSOCK": str(UNIX_SERVER)}
    for name in names:
        (submissions / f"{name}.ipynb").write_bytes(fill((CORPUS / f"{name}.ipynb").read_bytes(), values))
    for sibling in ("zz_sibling", "zz_sibling_after"):
        shutil.copy(make_corpus.BASE, submissions / f"{sibling}.ipynb")
    (submissions / "sentinel.txt").write_text("another student's file")
    (reports / "sentinel.txt").write_text("the TA's own notes")
    before = {"submissions": tree_digest(submissions), "reports": tree_digest(reports)}
    subreaper(True)  # orphans of our workers (a kernel that outlived its sandbox) come back to us

    base = [sys.executable, "-m", "gradekit.worker", "--assignment", "rnn_sentiment", "--root", str(ROOT),
            "--sandbox", "on", "--cell-timeout", str(CELL_TIMEOUT), "--notebook-timeout", "150"]

    def result_path(name: str) -> Path:
        return reports / "results" / f"{name}.json"

    def alone(name: str) -> tuple[str, SimpleNamespace]:
        notebook = submissions / f"{name}.ipynb"
        return name, run_worker([*base, str(notebook), "--out", str(result_path(name)), *OPTIONS.get(name, [])],
                                timeout=900)

    def warm(name: str) -> tuple[str, SimpleNamespace]:
        try:
            workers.grade(submissions / f"{name}.ipynb", result_path(name))
            return name, SimpleNamespace(returncode=0, stderr="", output_bytes=None, peak_rss=None)
        except WorkerFailed as exc:
            return name, SimpleNamespace(returncode=1, stderr=str(exc), output_bytes=None, peak_rss=None)

    own = [n for n in names if n in OPTIONS or n.startswith("flood_")] + ["zz_sibling"]
    shared = [n for n in names if n not in own] + ["zz_sibling_after"]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool, \
                WorkerPool(base, 2, PoolLimits(per_notebook=900, recycle_after=len(shared))) as workers:
            done = dict(pool.map(alone, own))
            done |= dict(pool.map(warm, shared))  # the sibling last: after the items its worker graded before
        time.sleep(1)
        found = procs.descendants(os.getpid())
        leftovers = [(pid, " ".join(procs.cmdline(pid))[:200]) for pid in found if procs.alive(pid)]
        for pid in found:  # the dead ones are zombies re-parented to us: reap them
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    finally:
        subreaper(False)
    results = {name: SubmissionResult.read_json(reports / "results" / f"{name}.json") for name in done
               if done[name].returncode == 0}
    return SimpleNamespace(results=results, procs=done, before=before, submissions=submissions, reports=reports,
                           token=token, marker=marker, values=values, leftovers=leftovers)


def outcome(result: SubmissionResult) -> dict:
    """What an item's expectations are written against (also printed by `python tests/test_adversarial.py`)."""
    return {
        "scores": result.question_scores(),
        "error": result.error,
        "notes": result.notes,
        "cell_errors": [(e["cell"], e["ename"], e["evalue"][:160]) for e in result.cell_errors],
        "messages": {q.id: q.messages for q in result.questions() if q.messages},
    }


# ------------------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def server():
    """A TCP server on the host's loopback that no kernel may reach."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.setblocking(False)
        yield sock


@pytest.fixture(scope="module")
def unix_server():
    """A unix socket of a host service (in /run, where services keep theirs) that no kernel may reach."""
    UNIX_SERVER.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(UNIX_SERVER))
        os.chmod(UNIX_SERVER, 0o777)  # reachable by any uid, as a careless service's socket would be
        sock.listen(8)
        sock.setblocking(False)
        yield sock
    UNIX_SERVER.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory, server, unix_server) -> SimpleNamespace:
    if not bwrap_available():
        pytest.skip("bubblewrap cannot run here; the corpus runs with the sandbox on (CI installs it)")
    names = [n for n in make_corpus.ITEMS if n not in NEEDS_UID or contained()]
    return grade(names, tmp_path_factory.mktemp("corpus"), server.getsockname()[1])


def test_every_item_has_an_expected_outcome_and_a_file():
    assert set(EXPECTED) == set(make_corpus.ITEMS)
    assert len(EXPECTED) >= 25
    for name in make_corpus.ITEMS:
        assert (CORPUS / f"{name}.ipynb").read_bytes() == make_corpus.render(name), (
            f"{name}.ipynb is stale: run python tests/adversarial/make_corpus.py")


def test_the_dangerous_items_ran(run):
    if os.geteuid() == 0:
        assert contained(), "as root, the kernel must run as an unprivileged uid (setpriv, bubblewrap)"
    assert NEEDS_UID <= set(run.procs)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_item_gets_its_score_and_message(run, name):
    if name not in run.procs:
        pytest.skip("needs the kernel's own uid")
    proc = run.procs[name]
    assert proc.returncode == 0, f"the worker failed: {proc.stderr[-1500:]}"
    result = run.results[name]
    scores, words = EXPECTED[name]
    assert result.question_scores() == pytest.approx(scores), outcome(result)
    for where, text in words:
        if where == "notes":
            found = result.notes
        elif where == "error":
            found = [result.error or ""]
        elif where.startswith("cell "):
            found = [f"{e['ename']}: {e['evalue']}" for e in result.cell_errors if e["cell"] == int(where[5:])]
            assert found, f"no error recorded for {where}: {outcome(result)}"
        else:
            found = next(q.messages for q in result.questions() if q.id == where)
        alternatives = text if isinstance(text, tuple) else (text,)  # one of them, see dos_fork_bomb
        assert any(t in f for t in alternatives for f in found), (where, text, found)


def test_every_failed_check_says_why(run):
    """No check fails silently or with a traceback."""
    for name, result in run.results.items():
        for check in result.checks:
            if not check.passed:
                assert check.message.strip(), (name, check.name)
                assert "Traceback (most recent call last)" not in check.message, (name, check.message)


@pytest.mark.parametrize("sibling", ["zz_sibling", "zz_sibling_after"])
def test_the_other_submission_is_graded_and_untouched(run, sibling):
    assert run.results[sibling].question_scores() == pytest.approx(FULL)
    assert tree_digest(run.submissions) == run.before["submissions"]


def test_the_report_folder_holds_only_the_results(run):
    assert (run.reports / "sentinel.txt").read_text() == "the TA's own notes"
    files = {str(p.relative_to(run.reports)) for p in run.reports.rglob("*") if p.is_file()}
    assert files == {"sentinel.txt", *(f"results/{n}.json" for n in run.procs)}


def test_nothing_was_written_outside_the_scratch_folders(run):
    targets = [ROOT / f"pwned-{run.token}", run.submissions / f"pwned-{run.token}", run.reports / f"pwned-{run.token}",
               Path(f"/tmp/gk-pwned-{run.token}"), Path(f"/var/tmp/gk-pwned-{run.token}"), run.marker]
    assert [p for p in targets if p.exists()] == []
    assert not list(Path("/").glob(f"pwned-{run.token}"))


def test_no_kernel_reached_the_hosts_network(run, server):
    with pytest.raises(BlockingIOError):
        server.accept()


def test_no_kernel_reached_a_unix_socket_of_the_host(run, unix_server):
    with pytest.raises(BlockingIOError):
        unix_server.accept()


def test_no_worker_holds_what_a_kernel_floods_it_with(run):
    """A kernel's own stdout, replies of the grader's type and metadata cost the worker (which a batch runs one
    of per notebook) a bounded amount: its output stays small and its memory near an honest grading's."""
    honest = run.procs["zz_sibling"].peak_rss
    for name, proc in run.procs.items():
        if proc.output_bytes is None:
            continue  # graded in a warm worker, with no process of its own to measure
        assert proc.output_bytes < 1 << 20, (name, proc.output_bytes)
        if name.startswith("flood_"):
            assert proc.peak_rss < honest + 768 * 2**20, (name, proc.peak_rss >> 20, honest >> 20)


def test_no_process_of_the_corpus_outlives_it(run):
    """Kernels, fork-bomb copies and spinning threads die with their sandbox; nothing is orphaned."""
    assert run.leftovers == []


def subreaper(on: bool) -> None:
    """PR_SET_CHILD_SUBREAPER (Linux): orphaned descendants are re-parented to this process, not to init."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0)


if __name__ == "__main__":  # observe items: python tests/test_adversarial.py [name ...]
    import json

    names = sys.argv[1:] or list(make_corpus.ITEMS)
    with socket.create_server(("127.0.0.1", 0)) as server:
        start = time.monotonic()
        run = grade(names, Path(tempfile.mkdtemp()), server.getsockname()[1])
        print(f"graded {len(names) + 1} in {time.monotonic() - start:.0f} s", file=sys.stderr)
    for name in names:
        if name in run.results:
            print(name, json.dumps(outcome(run.results[name]), indent=1))
        else:
            print(name, "WORKER FAILED", run.procs[name].stderr[-2000:])
