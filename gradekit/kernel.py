"""One Jupyter kernel per submission: start it (inside the sandbox), run the notebook cell by cell, and
execute the host's requests. Student code never runs anywhere else.

nbclient does the message plumbing; this module adds what grading needs on top: a cell that raises is
recorded and the rest still runs, a cell past its time limit is interrupted, a kernel that ignores the
interrupt is declared hung (and killed) instead of blocking the batch, and output is capped: per cell by what
is kept, and per message by zeromq itself, so a gigabyte printed at once is never received by the host.
A cell that kills or hangs its kernel costs what comes after it, not what came before: a fresh kernel re-runs
the cells before it so the graders can still check those. Processes a cell leaves behind (a fork bomb, a
stray worker) are killed before the next step.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from traitlets import Type, default

from gradekit.kernel_side import MAX_BLOB_BYTES, REPLY_MIME
from gradekit.sandbox import Sandbox

TIMEOUT_ENAME = "CellTimeout"
# The largest message the host accepts from a kernel: a grading reply (its blob base64-encoded) fits.
MAX_MESSAGE_BYTES = 2 * MAX_BLOB_BYTES + (16 << 20)
CUDA_HINT = ("the grading machine has no GPU: pick the device with "
             "`torch.device('cuda' if torch.cuda.is_available() else 'cpu')` instead of calling .cuda()")


class KernelDied(RuntimeError):
    """The kernel process is gone (crashed, killed for memory) or stopped answering."""


class _LimitedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse messages over MAX_MESSAGE_BYTES (zeromq drops them before
    allocating), and which counts iopub disconnections: that is how zeromq reports a dropped oversize message."""

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
    """NotebookClient that stops keeping output past a byte budget per cell (a cell printing a gigabyte
    is cut, noted, and grading goes on)."""

    max_output_bytes: int = 2 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.timed_out = False

    on_timeout: Any = None

    async def _async_handle_timeout(self, timeout, cell=None):  # type: ignore[override]
        """Before the interrupt: processes the cell started (a fork bomb's copies) would get it too, and
        copies of the kernel answering on its inherited sockets garble the session."""
        self.timed_out = True
        if self.on_timeout is not None:
            self.on_timeout()
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        content = msg.get("content", {})
        data = content.get("data", {})
        if REPLY_MIME in data:
            # A grading reply has its own, larger limit (the codec's); anything over it is dropped and the
            # proxy then reports a missing reply rather than holding a huge message.
            if len(str(data[REPLY_MIME])) > 2 * MAX_BLOB_BYTES:
                return None
            return super().output(outs, msg, display_id, cell_index)
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in data.values())
        used = self.output_bytes.get(cell_index, 0) + size
        self.output_bytes[cell_index] = used
        if used > self.max_output_bytes and msg["msg_type"] in ("stream", "display_data", "execute_result"):
            self.truncated.add(cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)


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
        self._client: _CappedClient | None = None
        self._ctx: Any = None

    @property
    def inbox(self) -> Path:
        """Where the host puts request blobs for the kernel to read (read-only inside the sandbox)."""
        return self.sandbox.inbox or self.workdir

    # -- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> KernelSession:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        self.sandbox.cleanup()

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
        self._ctx = self._client.setup_kernel(cwd=str(self.workdir), env=env)
        self._ctx.__enter__()
        self.sandbox.seal()
        self.dead = None

    def _stop(self) -> None:
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

    # -- the kernel's processes ------------------------------------------------------------------------------

    def _kernel_pid(self) -> int | None:
        """The host pid of the ipykernel process: among what jupyter_client launched (bubblewrap, setpriv and
        prlimit in front of the kernel) and its descendants, the topmost Python process running ipykernel."""
        km = self._client.km if self._client else None
        launched = getattr(getattr(km, "provisioner", None), "pid", None)
        if launched is None:
            return None
        tree = [launched, *_descendants(launched)]
        kernels = [pid for pid in tree if _is_kernel(_cmdline(pid))]
        return kernels[0] if kernels else None

    def kill_strays(self) -> int:
        """Kill every process the student's code started (and their children), keeping the kernel itself.

        A fork bomb is capped by RLIMIT_NPROC, but its copies would still share the CPU with the graders."""
        kernel = self._kernel_pid()
        if kernel is None:
            return 0
        killed: set[int] = set()
        for _ in range(50):  # the copies may still be forking while we kill them
            strays = _descendants(kernel)
            if not strays:
                break
            for pid in strays:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.02)
        return len(killed)

    def _dropped(self) -> int:
        kc = self._client.kc if self._client else None
        return kc.dropped_messages() if isinstance(kc, _LimitedKernelClient) else 0

    # -- execution -----------------------------------------------------------------------------------------

    def execute(self, source: str, timeout: float | None = None,
                expression: bool = False) -> tuple[list[dict], dict | None]:
        """Run one piece of code; return (outputs, error) where error has ename/evalue or is None.

        With `expression`, `source` is one Python expression evaluated past IPython's input transformers
        (its errors are not reported: the caller must check what it published).
        Raises KernelDied when the kernel is gone or hung: later requests would only wait in vain.
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
        self._dropped()
        try:
            self._client.execute_cell(cell, index, store_history=False)
        except DeadKernelError:
            self.dead = "the kernel died (it may have run out of memory or been killed)"
            raise KernelDied(self.dead) from None
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

    def _responsive(self, grace: float = 5.0) -> bool:
        """After an interrupt, the kernel must answer a trivial request within `grace` seconds."""
        try:
            _, err = self.execute("pass", timeout=grace)
        except KernelDied:
            return False
        return err is None or err["ename"] != TIMEOUT_ENAME

    def run_notebook(self, cells: list[tuple[int, str]]) -> ExecutionReport:
        """Run (notebook position, source) pairs in order; record errors; enforce the time limits.

        When a cell kills or hangs the kernel, a fresh kernel re-runs the cells before it (once), so that
        what the notebook reached can still be graded; the cells from the fatal one on are not run."""
        report = self._run(cells, ExecutionReport(), time.monotonic())
        fatal = report.fatal_cell
        if fatal is not None and fatal > 0 and report.aborted:
            before = [(p, src) for p, src in cells if p < fatal]
            self._stop()
            try:
                self._start()
            except Exception as exc:  # noqa: BLE001 - no second kernel: nothing more can be checked
                self.dead = f"{report.aborted}; a fresh kernel could not be started ({type(exc).__name__})"
                report.aborted = self.dead
                return report
            rerun = self._run(before, ExecutionReport(), time.monotonic(), record=False)
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
            limit = min(self.cell_timeout, remaining)
            cell, index = self._new_cell(source)
            self._client.timeout = int(max(1, limit))
            self._client.timed_out = False
            self._dropped()
            try:
                self._client.execute_cell(cell, index, store_history=True)
            except DeadKernelError:
                self.dead = f"the kernel died while running cell {position} (out of memory, or killed)"
                report.aborted = self.dead
                report.fatal_cell = position
                break
            report.cells_run += 1
            if (index in self._client.truncated or self._dropped()) and record:
                report.notes.append(f"cell {position} printed more than {self.max_output_bytes >> 20} MiB; "
                                    "the rest of its output was dropped")
            err = _error_of(cell.outputs, self._client.timed_out)
            if err is None:
                continue
            if err["ename"] == TIMEOUT_ENAME:
                if record:
                    report.errors.append(CellError(position, "Timeout", f"ran past its {limit:.0f} s limit"))
                    report.notes.append(f"cell {position} ran past its {limit:.0f} s limit and was interrupted")
                responsive = self._responsive()
                self.kill_strays()
                if not responsive and not self._responsive():
                    self.dead = (f"cell {position} ran past its {limit:.0f} s limit and did not stop when "
                                 "interrupted; the kernel was shut down")
                    report.aborted = self.dead
                    report.fatal_cell = position
                    break
            elif record:
                report.errors.append(CellError(position, err["ename"], _explain(err["ename"], err["evalue"][:500]),
                                               err.get("line", "")))
        report.duration_s = time.monotonic() - start
        return report


def _explain(ename: str, evalue: str) -> str:
    """An exception's message, with what to do when the cause is the grading machine (no GPU, memory)."""
    if "CUDA" in evalue or "NVIDIA" in evalue:
        return f"{evalue} ({CUDA_HINT})"
    if ename == "MemoryError":
        return f"{evalue or 'out of memory'} (the kernel ran out of memory; use smaller tensors or batches)"
    return evalue


def _descendants(root: int) -> list[int]:
    """All processes below `root`, from /proc (Linux); empty elsewhere."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat_line = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(root, []))
    while todo:  # breadth first: parents before their children
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def _is_kernel(argv: list[str]) -> bool:
    return bool(argv) and Path(argv[0]).name.startswith("python") and any("ipykernel" in a for a in argv[1:3])


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
