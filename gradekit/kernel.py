"""One Jupyter kernel per submission: start it (inside the sandbox), run the notebook cell by cell, and
execute the host's requests. Student code never runs anywhere else.

nbclient does the message plumbing; this module adds what grading needs on top: a cell that raises is
recorded and the rest still runs, a cell past its time limit is interrupted, a kernel that ignores the
interrupt is declared hung (and killed) instead of blocking the batch, and output is capped: per cell by what
is kept, and per message by zeromq itself, so a gigabyte printed at once is never received by the host.
A cell that kills or hangs its kernel costs what comes after it, not what came before: a fresh kernel re-runs
the cells before it so the graders can still check those; a grader's call that kills or hangs it gets a fresh
kernel too (`revive`). Processes a cell leaves behind (a fork bomb, a stray worker, a double-forked daemon) are
killed before the next step.

Nothing the kernel sends may stop the grading: a message that cannot be read (junk frames, a forged message
nested too deep to decode, fields of the wrong type) is dropped and counted; every message counts against the
cell's output budget by its full size, metadata included; the grader's reply type is accepted only in answer to
a grader's request; and the kernel's own stdout and stderr (file descriptors 1 and 2, which bypass Jupyter's
messages) go to a pipe of which the host keeps only a short tail.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from nbclient.util import run_sync
from traitlets import Type, default

from gradekit import cgroups, procs
from gradekit.codec import MAX_BLOB_BYTES, REPLY_MIME
from gradekit.sandbox import GIB, Sandbox

TIMEOUT_ENAME = "CellTimeout"
# The largest message the host accepts from a kernel: a grading reply (its blob base64-encoded) fits.
MAX_MESSAGE_BYTES = 2 * MAX_BLOB_BYTES + (16 << 20)
# What a grader's request may bring back in all: its reply (a base64 blob and its JSON) and a little else.
REQUEST_OUTPUT_BYTES = MAX_MESSAGE_BYTES
STDIO_TAIL_BYTES = 64 << 10  # what the host keeps of the kernel's own stdout and stderr
SETUP_TIMEOUT = 120  # seconds the assignment's own set-up cell may take, whatever the students' cell limit
INTERRUPT_GRACE = 30  # seconds an interrupted kernel gets to answer again (see KernelSession.recover)
CUDA_HINT = ("the grading machine has no GPU: pick the device with "
             "`torch.device('cuda' if torch.cuda.is_available() else 'cpu')` instead of calling .cuda()")


class KernelDied(RuntimeError):
    """The kernel process is gone (crashed, killed for memory) or stopped answering."""


class _TolerantChannel(AsyncZMQSocketChannel):
    """A channel that drops a message it cannot read instead of failing the whole grading.

    Inside the kernel the student holds the session's signing key, so a message can be validly signed and
    still be junk: frames that are not JSON, JSON nested too deep to decode (RecursionError), a header that is
    not a dict. Each such message costs itself only; `dropped` counts them."""

    dropped = 0

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else int(max(0.0, deadline - time.monotonic()) * 1000)
            if not await self.socket.poll(wait):
                raise Empty
            frames = await self.socket.recv_multipart()
            try:
                _, message = self.session.feed_identities(frames)
                msg = self.session.deserialize(message)
                if _well_formed(msg):
                    return msg
            except Exception:  # noqa: BLE001 - whatever a forged message breaks, it is only that message
                pass
            self.dropped += 1


def _well_formed(msg: Any) -> bool:
    """The fields nbclient reads have the types it expects."""
    return (isinstance(msg, dict) and isinstance(msg.get("msg_type"), str)
            and all(isinstance(msg.get(k), dict) for k in ("header", "parent_header", "content", "metadata")))


class _LimitedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse messages over MAX_MESSAGE_BYTES (zeromq drops them before
    allocating), and which counts iopub disconnections: that is how zeromq reports a dropped oversize message."""

    shell_channel_class = Type(_TolerantChannel)
    iopub_channel_class = Type(_TolerantChannel)
    stdin_channel_class = Type(_TolerantChannel)
    control_channel_class = Type(_TolerantChannel)

    def unreadable_messages(self) -> int:
        """How many messages were dropped as unreadable since the last call."""
        count = 0
        for channel in (self._shell_channel, self._iopub_channel, self._stdin_channel, self._control_channel):
            if isinstance(channel, _TolerantChannel):
                count += channel.dropped
                channel.dropped = 0
        return count

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context

    def connect_iopub(self, identity: bytes | None = None) -> zmq.Socket:
        sock = super().connect_iopub(identity)
        address = f"inproc://gk-iopub-monitor-{uuid.uuid4().hex}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor = zmq.Context.shadow(self.context.underlying).socket(zmq.PAIR)
        self._monitor.connect(address)
        return sock

    _monitor: zmq.Socket | None = None  # made by connect_iopub

    def close_monitor(self) -> None:
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None

    expression: str | None = None

    def execute(self, code: str, silent: bool = False, store_history: bool = True,  # type: ignore[override]
                user_expressions: dict | None = None, allow_stdin: bool | None = None,
                stop_on_error: bool = True, **kwargs: Any) -> Any:
        """nbclient's execute, except that a pending `expression` is sent as a user expression of an empty
        cell: IPython evaluates those with plain `eval`, past the input transformers a notebook may have
        registered to rewrite (or blank) every later cell."""
        if self.expression is not None:
            code, user_expressions, store_history = "", {"gk": self.expression}, False
            self.expression = None
        return super().execute(code, silent, store_history, user_expressions, allow_stdin, stop_on_error,
                               **kwargs)

    def dropped_messages(self) -> int:
        """How many times the kernel was cut off for an oversize message since the last call. zeromq does not
        reconnect after that, so the iopub channel is opened afresh."""
        count = 0
        monitor = getattr(self, "_monitor", None)
        while monitor is not None:
            try:
                monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            count += 1
        if count and self._iopub_channel is not None:
            old, self._iopub_channel = self._iopub_channel, None
            old.close()
            monitor.close(linger=0)
            self.iopub_channel.start()
        return count


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose command line is wrapped by the sandbox (bubblewrap and/or resource limits)."""

    sandbox: Sandbox | None = None
    client_factory = Type(_LimitedKernelClient, klass=AsyncKernelClient)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        cmd[0] = sys.executable if cmd[0].endswith(("python", "python3")) else cmd[0]
        return self.sandbox.wrap(cmd) if self.sandbox else cmd


class _CappedClient(NotebookClient):
    """NotebookClient that keeps at most a byte budget of what a cell sends back (a cell printing a gigabyte
    is cut, noted, and grading goes on). Every message counts by its full size, metadata and buffers included;
    widget state is not kept at all; the grader's reply type is kept only while a grader's request runs."""

    max_output_bytes: int = 2 * 1024 * 1024
    store_widget_state = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.timed_out = False
        self.accept_replies = False  # True while one of the host's requests runs
        self.unreadable = 0

    on_timeout: Any = None

    async def _async_handle_timeout(self, timeout, cell=None):  # type: ignore[override]
        """Before the interrupt: processes the cell started (a fork bomb's copies) would get it too, and
        copies of the kernel answering on its inherited sockets garble the session."""
        self.timed_out = True
        if self.on_timeout is not None:
            self.on_timeout()
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):  # type: ignore[override]
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "status" or msg_type.startswith("comm"):
            # Completion is all a status is for; comms (widgets) are never graded, and their state is not kept.
            if msg_type == "status" and content.get("execution_state") == "idle":
                raise CellExecutionComplete()
            return None
        data = content.get("data")
        reply = isinstance(data, dict) and REPLY_MIME in data
        if reply and not self.accept_replies:
            return None  # a notebook's cell publishing the grader's reply type: never accepted as output
        budget = REQUEST_OUTPUT_BYTES if self.accept_replies else self.max_output_bytes
        used = self.output_bytes.get(cell_index, 0) + _message_size(msg)
        self.output_bytes[cell_index] = used
        if msg_type == "error":
            msg = {**msg, "content": _trimmed_error(content)}  # always kept (it says why the cell failed), cut
        elif used > budget:
            if msg_type in ("stream", "display_data", "execute_result", "update_display_data", "clear_output"):
                self.truncated.add(cell_index)
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            raise
        except Exception:  # noqa: BLE001 - a well-signed message nbclient cannot digest costs only itself
            self.unreadable += 1
            return None


def _message_size(msg: dict) -> int:
    """Bytes of every string, number and buffer in a message's content and metadata (walked without
    recursion, so no nesting depth can break it)."""
    total = sum(len(b) for b in msg.get("buffers") or [] if isinstance(b, (bytes, bytearray, memoryview)))
    todo: list[Any] = [msg.get("content"), msg.get("metadata")]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += len(value)
            for key, item in value.items():
                total += len(key) if isinstance(key, str) else 8
                todo.append(item)
        elif isinstance(value, (list, tuple)):
            total += len(value)
            todo.extend(value)
        else:
            total += 8
    return total


def _trimmed_error(content: dict) -> dict:
    """An error output cut to what a report can use: its name, the start of its message, the last frames."""
    def text(value: Any, limit: int) -> str:
        return value[:limit] if isinstance(value, str) else str(type(value).__name__)
    frames = content.get("traceback")
    frames = [text(f, 4000) for f in frames[-20:]] if isinstance(frames, list) else []
    return {"ename": text(content.get("ename", "Error"), 200), "evalue": text(content.get("evalue", ""), 4000),
            "traceback": frames}


class _Tail:
    """Drains a pipe on a thread of its own and keeps only the last `limit` bytes: where the kernel's own
    stdout and stderr go, so that what a cell writes to file descriptor 1 never piles up in the host."""

    def __init__(self, fd: int, limit: int = STDIO_TAIL_BYTES):
        self._fd = fd
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._limit = limit
        self.total = 0
        self._thread = threading.Thread(target=self._drain, daemon=True, name="gk-kernel-stdio")
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, 1 << 16):
                self.total += len(chunk)
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= self._limit:
                    self._size -= len(self._chunks.popleft())
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def text(self) -> str:
        return b"".join(self._chunks)[-self._limit:].decode(errors="replace")


@dataclass
class CellError:
    cell: int  # 1-based position in the notebook, as a student counts cells
    ename: str
    evalue: str
    line: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "ename": self.ename, "evalue": self.evalue, "line": self.line}


@dataclass
class ExecutionReport:
    cells_run: int = 0
    errors: list[CellError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aborted: str | None = None  # why execution stopped early (hung or dead kernel)
    duration_s: float = 0.0
    fatal_cell: int | None = None  # the cell that killed or hung the kernel


class KernelSession:
    """A live kernel for one submission. Use as a context manager; the kernel dies with it."""

    def __init__(self, workdir: Path, sandbox: Sandbox, *, cell_timeout: float = 60,
                 notebook_timeout: float = 600, startup_timeout: float = 60, max_output_bytes: int = 2 << 20):
        self.workdir = Path(workdir)
        self.sandbox = sandbox
        self.cell_timeout = cell_timeout
        self.notebook_timeout = notebook_timeout
        self.startup_timeout = startup_timeout
        self.max_output_bytes = max_output_bytes
        self.dead: str | None = None
        self.generation = 0  # how many kernels this session has started; a handle names the one it lives in
        self._client: _CappedClient | None = None
        self._ctx: Any = None
        self._stdio: _Tail | None = None
        self._kernel: int | None = None
        self._ran: list[tuple[int, str]] = []  # what run_notebook ran, for a replacement kernel to run again

    @property
    def inbox(self) -> Path:
        """Where the host puts request blobs for the kernel to read (read-only inside the sandbox)."""
        return self.sandbox.inbox or self.workdir

    def stdio_tail(self) -> str:
        """The last bytes the kernel wrote to its own stdout and stderr (for staff; never graded)."""
        return self._stdio.text() if self._stdio else ""

    # -- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> KernelSession:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()  # the sandbox is the caller's (`with Sandbox(...) as sandbox`): a revived kernel reuses it

    def _start(self) -> None:
        km = _SandboxedKernelManager(kernel_name="python3")
        km.sandbox = self.sandbox
        self.sandbox.configure_kernel_manager(km)
        nb = nbformat.v4.new_notebook()
        self._client = _CappedClient(
            nb, km=km, timeout=int(self.cell_timeout), allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "", "traceback": []},
            startup_timeout=int(self.startup_timeout), record_timing=False, iopub_timeout=4,
            resources={"metadata": {"path": str(self.workdir)}},
        )
        self._client.max_output_bytes = self.max_output_bytes
        self._client.on_timeout = self.kill_strays
        env = self.sandbox.kernel_env(os.environ)
        read, write = os.pipe()
        try:
            options = self.sandbox.launch_options()
            self._ctx = self._client.setup_kernel(cwd=str(self.workdir), env=env, stdin=subprocess.DEVNULL,
                                                  stdout=write, stderr=write, **options)
            self._stdio = _Tail(read)
            self._ctx.__enter__()
        except BaseException:
            if self._stdio is None:
                os.close(read)
            raise
        finally:
            os.close(write)
            self.sandbox.started()
        self.sandbox.seal()
        # Found once, before any student code ran: later, a fork of the kernel re-parented above it (a daemon
        # that double-forked) would look just like it.
        self._kernel = self._find_kernel()
        self.generation += 1
        self.dead = None

    def _stop(self) -> None:
        kc = self._client.kc if self._client else None  # nbclient forgets it on the way out
        try:
            if self._ctx is not None:
                self._ctx.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a kernel that will not shut down politely is killed below
            pass
        self._ctx = None
        km = self._client.km if self._client else None
        if km is not None and km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001
                pass
        if self.sandbox.cgroup is not None:
            self.sandbox.cgroup.kill_all()  # whatever the kernel left: its cgroup is reused by the next one
        # The client and the manager each made a zeromq context of their own (jupyter_client's defaults), with
        # the iopub monitor in the client's: left to the garbage collector they held about 16 file descriptors
        # per graded notebook, and a long pytest run reached select()'s limit of 1024.
        if isinstance(kc, _LimitedKernelClient):
            kc.close_monitor()
        if kc is not None and kc.hb_channel.is_alive():
            kc.hb_channel.stop()  # its thread blocks in recv on the client's context
        for owner in (kc, km):
            if owner is not None:
                with contextlib.suppress(Exception):
                    owner.context.destroy(linger=0)

    def revive(self) -> bool:
        """Replace a kernel that died or hung during a grader's request: a fresh kernel re-runs what
        run_notebook ran (silently), so that the checks after the one that crashed can go on. False when
        that is not possible; `dead` then says why."""
        reason = self.dead or "the kernel stopped answering"
        self._stop()
        try:
            self._start()
        except Exception as exc:  # noqa: BLE001
            self.dead = f"{reason}; a fresh kernel could not be started ({type(exc).__name__})"
            return False
        rerun = self._run(self._ran, ExecutionReport(), time.monotonic(), record=False)
        if rerun.aborted:
            self.dead = f"{reason}; a fresh kernel could not re-run your notebook ({rerun.aborted})"
            return False
        self.kill_strays()
        return True

    # -- the kernel's processes ------------------------------------------------------------------------------

    def _find_kernel(self) -> int | None:
        """The host pid of the ipykernel process: among what jupyter_client launched (bubblewrap, setpriv and
        prlimit in front of the kernel) and its descendants, the topmost Python process running ipykernel."""
        km = self._client.km if self._client else None
        launched = getattr(getattr(km, "provisioner", None), "pid", None)
        if launched is None:
            return None
        tree = [launched, *procs.descendants(launched)]
        kernels = [pid for pid in tree if procs.is_kernel(procs.cmdline(pid))]
        return kernels[0] if kernels else None

    def strays(self) -> list[int]:
        """Every process the student's code started, wherever it went: what shares the kernel's cgroup (or
        its PID namespace, or failing both, is below it), except the kernel and the wrappers above it."""
        kernel = self._kernel
        if kernel is None:
            return []
        keep = {kernel, *procs.ancestors(kernel)}
        if self.sandbox.cgroup is not None:
            members = self.sandbox.cgroup.pids()
        elif self.sandbox.enabled:
            members = procs.same_pid_namespace(kernel)
        else:
            members = procs.descendants(kernel)
        return [pid for pid in members if pid not in keep and procs.alive(pid)]  # zombies are already dead

    def stop_strays(self) -> set[int]:
        """SIGSTOP every process the student's code started (see `strays`) until no new one appears: a stopped
        process cannot fork, and it keeps its slot under RLIMIT_NPROC."""
        stopped: set[int] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            fresh = [pid for pid in self.strays() if pid not in stopped]
            if not fresh:
                break
            for pid in fresh:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGSTOP)
                stopped.add(pid)
        return stopped

    def kill_strays(self) -> int:
        """Kill every process the student's code started (see `strays`), keeping the kernel itself.

        A fork bomb is capped by RLIMIT_NPROC, but its copies would still share the CPU with the graders, and
        copies of the kernel answer on its sockets; a daemon that double-forked and ignores SIGTERM would run
        on while the graders call the notebook. Killing a forking process frees a slot for another fork, so
        every stray is first stopped, then killed."""
        stopped = self.stop_strays()
        for _ in range(50):
            strays = self.strays()
            if not strays:
                break
            for pid in strays:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                stopped.add(pid)
            time.sleep(0.02)
        return len(stopped)

    def _signal_kernel(self, signum: int) -> None:
        if self._kernel is not None:
            with contextlib.suppress(OSError):
                os.kill(self._kernel, signum)

    def _dropped(self) -> int:
        kc = self._client.kc if self._client else None
        return kc.dropped_messages() if isinstance(kc, _LimitedKernelClient) else 0

    def _unreadable(self) -> int:
        """Messages dropped since the last call because they could not be read."""
        assert self._client is not None
        kc = self._client.kc
        count = self._client.unreadable + (kc.unreadable_messages() if isinstance(kc, _LimitedKernelClient) else 0)
        self._client.unreadable = 0
        return count

    def _death(self, during: str) -> str:
        """Why the kernel died, in a student's words."""
        if self.sandbox.oom_killed():
            limit = self.sandbox.limits.memory
            return (f"the kernel ran out of memory {during} (the limit is {limit / GIB:g} GiB, shared memory "
                    "and files in memory included)")
        return f"the kernel died {during} (out of memory, or killed)"

    # -- execution -----------------------------------------------------------------------------------------

    def execute(self, source: str, timeout: float | None = None,
                expression: bool = False) -> tuple[list[dict], dict | None]:
        """Run one piece of the host's code; return (outputs, error) where error has ename/evalue or is None.

        With `expression`, `source` is one Python expression evaluated past IPython's input transformers
        (its errors are not reported: the caller must check what it published), and its output may hold the
        grader's reply type. Raises KernelDied when the kernel is gone or hung: later requests would only wait
        in vain.
        """
        if self.dead:
            raise KernelDied(self.dead)
        assert self._client is not None
        cell, index = self._new_cell(source)
        if expression:
            assert isinstance(self._client.kc, _LimitedKernelClient)
            self._client.kc.expression = source
        self._client.timeout = int(timeout or self.cell_timeout)
        self._client.timed_out = False
        self._client.accept_replies = expression
        self._dropped()
        self._unreadable()
        try:
            self._client.execute_cell(cell, index, store_history=False)
        except DeadKernelError:
            self.dead = self._death("while the graders were calling your code")
            raise KernelDied(self.dead) from None
        finally:
            self._client.accept_replies = False
        error = _error_of(cell.outputs, self._client.timed_out)
        if error is None and self._dropped():
            error = {"ename": "OversizeMessage", "line": "",
                     "evalue": f"the kernel sent a message over the {MAX_MESSAGE_BYTES >> 20} MiB limit"}
        return cell.outputs, error

    def _new_cell(self, source: str) -> tuple[Any, int]:
        """nbclient stores each executed cell back into its notebook by index, so every cell we run gets
        its own slot there."""
        assert self._client is not None
        cell = nbformat.v4.new_code_cell(source)
        self._client.nb.cells.append(cell)
        return cell, len(self._client.nb.cells) - 1

    def responsive(self, grace: float = 5.0) -> bool:
        """After an interrupt, the kernel must answer a trivial request within `grace` seconds."""
        try:
            _, err = self.execute("pass", timeout=grace)
        except KernelDied:
            return False
        return err is None or err["ename"] != TIMEOUT_ENAME

    def recover(self) -> bool:
        """After a cell timed out and was interrupted (by message): whether the kernel answers again.

        An interrupt does not stop a fork loop: Python runs its after-fork hooks (logging's locks) between
        forks, and a KeyboardInterrupt raised in one of them is swallowed there. What stops it is the process
        limit: while the kernel recovers it may start no process at all (`cgroups.no_forks`), so its next fork
        fails with an error in the student's own loop. Its copies share the kernel's sockets and must not take
        the next request: they are killed each round (only stopped where forks cannot be blocked). Each round
        sends one more SIGINT, straight to the kernel's pid, for a plain loop that missed the interrupt; the
        grace is generous because on a loaded machine a kernel can take seconds to come back."""
        deadline = time.monotonic() + INTERRUPT_GRACE
        with contextlib.ExitStack() as stack:
            blocked = self._kernel is not None and stack.enter_context(
                cgroups.no_forks(self._kernel, self.sandbox.cgroup))
            stack.callback(self.kill_strays)
            while True:
                # With forks blocked the copies can die at once: hundreds of them can hold the kernel's memory
                # cgroup near its limit, where the kernel itself stalls. Without the block they must keep
                # their slots, so they are only stopped.
                self.kill_strays() if blocked else self.stop_strays()
                if self.responsive(grace=2.0):
                    return True
                if time.monotonic() > deadline:
                    return False
                self._signal_kernel(signal.SIGINT)

    def run_notebook(self, cells: list[tuple[int, str]]) -> ExecutionReport:
        """Run (notebook position, source) pairs in order; record errors; enforce the time limits.

        When a cell kills or hangs the kernel, a fresh kernel re-runs the cells before it (once), so that
        what the notebook reached can still be graded; the cells from the fatal one on are not run."""
        report = self._run(cells, ExecutionReport(), time.monotonic())
        fatal = report.fatal_cell
        self._ran = [(p, src) for p, src in cells if fatal is None or p < fatal]
        if fatal is not None and fatal > 0 and report.aborted:
            self._stop()
            try:
                self._start()
            except Exception as exc:  # noqa: BLE001 - no second kernel: nothing more can be checked
                self.dead = f"{report.aborted}; a fresh kernel could not be started ({type(exc).__name__})"
                report.aborted = self.dead
                return report
            rerun = self._run(self._ran, ExecutionReport(), time.monotonic(), record=False)
            if rerun.aborted:
                self.dead = rerun.aborted
            report.aborted = (f"{report.aborted}. Cells from cell {fatal} on were not run; a fresh kernel "
                              f"re-ran cells 1 to {fatal - 1} so they could be graded")
        self.kill_strays()
        return report

    def _run(self, cells: list[tuple[int, str]], report: ExecutionReport, start: float,
             record: bool = True) -> ExecutionReport:
        assert self._client is not None
        for position, source in cells:
            elapsed = time.monotonic() - start
            remaining = self.notebook_timeout - elapsed
            if remaining <= 1:
                report.aborted = (
                    f"the notebook ran past its {self.notebook_timeout:.0f} s limit; "
                    f"cells from cell {position} on were not run"
                )
                break
            bad = _invalid_text(source)
            if bad:
                if record:
                    report.errors.append(CellError(position, "InvalidText", f"this cell was not run: {bad}"))
                continue
            # The grading set-up (position 0) is the course's code, not the student's: their cell limit is not its.
            limit = min(max(self.cell_timeout, SETUP_TIMEOUT) if position == 0 else self.cell_timeout, remaining)
            cell, index = self._new_cell(source)
            self._client.timeout = int(max(1, limit))
            self._client.timed_out = False
            self._dropped()
            self._unreadable()
            try:
                self._client.execute_cell(cell, index, store_history=True)
            except DeadKernelError:
                self.dead = self._death(f"while running cell {position}")
                report.aborted = self.dead
                report.fatal_cell = position
                break
            report.cells_run += 1
            if (index in self._client.truncated or self._dropped()) and record:
                report.notes.append(f"cell {position} printed more than {self.max_output_bytes >> 20} MiB; "
                                    "the rest of its output was dropped")
            unreadable = self._unreadable()
            if unreadable and record:
                report.notes.append(f"cell {position} sent {unreadable} message{'s' if unreadable > 1 else ''} "
                                    "the grader could not read (not valid Jupyter messages); "
                                    f"{'they were' if unreadable > 1 else 'it was'} dropped")
            err = _error_of(cell.outputs, self._client.timed_out)
            if err is None:
                continue
            if err["ename"] == TIMEOUT_ENAME:
                if record:
                    report.errors.append(CellError(position, "Timeout", f"ran past its {limit:.0f} s limit"))
                    report.notes.append(f"cell {position} ran past its {limit:.0f} s limit and was interrupted")
                if not self.recover():
                    self.dead = (f"cell {position} ran past its {limit:.0f} s limit and did not stop when "
                                 "interrupted; the kernel was shut down")
                    report.aborted = self.dead
                    report.fatal_cell = position
                    break
            elif record:
                report.errors.append(CellError(position, err["ename"], _explain(err["ename"], err["evalue"][:500],
                                                                        self.sandbox.limits.processes),
                                               err.get("line", "")))
        report.duration_s = time.monotonic() - start
        return report


def _invalid_text(source: str) -> str:
    """Why a cell's source cannot be sent to the kernel (a lone surrogate, which JSON can carry but UTF-8
    cannot), in words a student can act on; "" when it can."""
    for number, line in enumerate(source.splitlines() or [source], start=1):
        for column, char in enumerate(line, start=1):
            if 0xD800 <= ord(char) <= 0xDFFF:
                return (f"line {number}, column {column} holds a broken character (\\u{ord(char):04x}, half of an "
                        "encoded pair, not valid text); delete and retype that character")
    return ""


def _explain(ename: str, evalue: str, processes: int) -> str:
    """An exception's message, with what to do when the cause is the grading machine (no GPU, memory, the
    process limit)."""
    if "CUDA" in evalue or "NVIDIA" in evalue:
        return f"{evalue} ({CUDA_HINT})"
    if ename == "MemoryError":
        return f"{evalue or 'out of memory'} (the kernel ran out of memory; use smaller tensors or batches)"
    if ename == "BlockingIOError" and "Resource temporarily unavailable" in evalue:
        return (f"{evalue} (the kernel may run at most {processes} processes and threads at once; start fewer, "
                "for example a DataLoader with fewer num_workers, and never start them in a loop without end)")
    return evalue


def _error_of(outputs: list[dict], timed_out: bool = False) -> dict | None:
    if timed_out:
        return {"ename": TIMEOUT_ENAME, "evalue": "", "line": ""}
    for out in outputs:
        if out.get("output_type") == "error":
            evalue = re.sub(r"\(\S+\.py, line (\d+)\)", r"(line \1)", str(out.get("evalue", "")))
            return {"ename": out.get("ename", "Error"), "evalue": evalue,
                    "line": _last_code_line(out.get("traceback", []))}
    return None


def _last_code_line(traceback_lines: list[str]) -> str:
    """The '---->' line of an IPython traceback, stripped of colour codes: which line of the cell raised."""
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    arrow = ""
    for block in traceback_lines:
        for raw in ansi.sub("", str(block)).splitlines():
            if raw.lstrip().startswith("---->") or raw.lstrip().startswith("->"):
                arrow = raw.split(">", 1)[-1].strip()
                arrow = re.sub(r"^\d+\s*", "", arrow)
    return arrow[:300]
