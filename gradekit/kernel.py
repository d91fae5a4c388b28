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

Nothing the kernel sends may stop the grading: what the host accepts from it, message by message, is
`gradekit.channels`; this module turns what those adapters count (unreadable, oversize, cut) into notes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync

from gradekit import cgroups, procs
from gradekit.channels import MAX_MESSAGE_BYTES, CappedClient, LimitedKernelClient, SandboxedKernelManager, Tail
from gradekit.progress import Reporter, Step
from gradekit.sandbox import GIB, Sandbox

TIMEOUT_ENAME = "CellTimeout"
SETUP_TIMEOUT = 120  # seconds the assignment's own set-up cell may take, whatever the students' cell limit
INTERRUPT_GRACE = 30  # seconds an interrupted kernel gets to answer again (see KernelSession.recover)
CUDA_HINT = ("the grading machine has no GPU: pick the device with "
             "`torch.device('cuda' if torch.cuda.is_available() else 'cpu')` instead of calling .cuda()")


class KernelStartError(RuntimeError):
    """The kernel did not come up (before any student code ran): the machine's or the course's problem."""


class KernelDied(RuntimeError):
    """The kernel process is gone (crashed, killed for memory) or stopped answering."""


@dataclass
class CellError:
    cell: int  # 1-based position in the notebook, as a student counts cells
    ename: str
    evalue: str
    line: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "ename": self.ename, "evalue": self.evalue, "line": self.line}


@dataclass(frozen=True)
class _Ran:
    """What came of running one cell."""
    outputs: list[dict]
    error: dict | None  # ename, evalue, line (a timeout is TIMEOUT_ENAME)
    truncated: bool  # its output went past the budget and the rest was not kept
    dropped: int  # messages zeromq refused as oversize
    unreadable: int  # messages dropped as unreadable


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
        self._client: CappedClient | None = None
        self._ctx: Any = None
        self._stdio: Tail | None = None
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
        km = SandboxedKernelManager(kernel_name="python3")
        km.sandbox = self.sandbox
        self.sandbox.configure_kernel_manager(km)
        nb = nbformat.v4.new_notebook()
        self._client = CappedClient(
            nb, km=km, timeout=int(self.cell_timeout), allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "", "traceback": []},
            startup_timeout=int(self.startup_timeout), record_timing=False, iopub_timeout=4,
            resources={"metadata": {"path": str(self.workdir)}},
        )
        self._client.max_output_bytes = self.max_output_bytes
        self._client.on_timeout = self.kill_strays
        env = self.sandbox.kernel_env(os.environ)
        read, write = os.pipe()
        self._stdio = Tail(read)  # from the start: what a kernel that fails to start printed says why
        try:
            options = self.sandbox.launch_options()
            self._ctx = self._client.setup_kernel(cwd=str(self.workdir), env=env, stdin=subprocess.DEVNULL,
                                                  stdout=write, stderr=write, **options)
            self._ctx.__enter__()
        except Exception as exc:
            self._ctx = None
            self._stop()
            said = [line.strip() for line in self.stdio_tail().splitlines() if line.strip()]
            said = [line for line in said if "Error" in line] or said  # the error, not the frames after it
            raise KernelStartError(f"the notebook's kernel could not start ({exc}"
                                   + (f"; it printed: {said[-1][:300]}" if said else "") + ")") from exc
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
        if isinstance(kc, LimitedKernelClient):
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
        return kc.dropped_messages() if isinstance(kc, LimitedKernelClient) else 0

    def _unreadable(self) -> int:
        """Messages dropped since the last call because they could not be read."""
        assert self._client is not None
        kc = self._client.kc
        count = self._client.unreadable + (kc.unreadable_messages() if isinstance(kc, LimitedKernelClient) else 0)
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
        ran = self._execute_cell(source, timeout or self.cell_timeout, "while the graders were calling your code",
                                 store_history=False, expression=expression)
        error = ran.error
        if error is None and ran.dropped:
            error = {"ename": "OversizeMessage", "line": "",
                     "evalue": f"the kernel sent a message over the {MAX_MESSAGE_BYTES >> 20} MiB limit"}
        return ran.outputs, error

    def _execute_cell(self, source: str, timeout: float, during: str, *, store_history: bool,
                      expression: bool = False) -> _Ran:
        """Run one cell and say what came of it: the one sequence both the notebook's cells and the host's
        requests go through. Raises KernelDied (after recording why, `during` what) when the kernel is gone."""
        assert self._client is not None
        cell, index = self._new_cell(source)
        if expression:
            assert isinstance(self._client.kc, LimitedKernelClient)
            self._client.kc.expression = source
        self._client.timeout = int(max(1, timeout))
        self._client.timed_out = False
        self._client.accept_replies = expression
        self._dropped()
        self._unreadable()
        try:
            self._client.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            self.dead = self._death(during)
            raise KernelDied(self.dead) from None
        finally:
            self._client.accept_replies = False
        return _Ran(cell.outputs, _error_of(cell.outputs, self._client.timed_out),
                    truncated=index in self._client.truncated, dropped=self._dropped(), unreadable=self._unreadable())

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

    def run_notebook(self, cells: list[tuple[int, str]], on_step: Reporter | None = None) -> ExecutionReport:
        """Run (notebook position, source) pairs in order; record errors; enforce the time limits; tell
        `on_step` as each cell starts.

        When a cell kills or hangs the kernel, a fresh kernel re-runs the cells before it (once), so that
        what the notebook reached can still be graded; the cells from the fatal one on are not run."""
        report = self._run(cells, ExecutionReport(), time.monotonic(), on_step=on_step)
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
             record: bool = True, on_step: Reporter | None = None) -> ExecutionReport:
        assert self._client is not None
        for index, (position, source) in enumerate(cells, start=1):
            if on_step is not None:
                on_step(Step("cell", index, len(cells), f"cell {position}" if position else "the course's set-up"))
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
            try:
                ran = self._execute_cell(source, limit, f"while running cell {position}", store_history=True)
            except KernelDied:
                report.aborted = self.dead
                report.fatal_cell = position
                break
            report.cells_run += 1
            if (ran.truncated or ran.dropped) and record:
                report.notes.append(f"cell {position} printed more than {self.max_output_bytes >> 20} MiB; "
                                    "the rest of its output was dropped")
            if ran.unreadable and record:
                report.notes.append(f"cell {position} sent {ran.unreadable} message{'s' if ran.unreadable > 1 else ''} "
                                    "the grader could not read (not valid Jupyter messages); "
                                    f"{'they were' if ran.unreadable > 1 else 'it was'} dropped")
            err = ran.error
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


# An IPython traceback is one block per frame; a frame of the notebook's own code (any cell's, a function the
# student defined in another cell included) starts with "Cell In[n], line k", a library's with "File /path:k".
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_FRAME = re.compile(r"^\s*(Cell In\s*\[\d*\], line \d+|Input In \[\d*\]|<ipython-input-)")
_ARROW = re.compile(r"^\s*-+>\s*(\d+\s)?")


def _last_code_line(traceback_lines: list[str]) -> str:
    """The line of the student's own code that raised, as they can find it in their notebook: the arrowed line of
    the innermost frame that is a notebook cell (not the library line it called into), or, for a SyntaxError,
    the line IPython shows under the cell's header. Any frame's arrow when no cell frame is there."""
    own = anywhere = ""
    for block in traceback_lines:
        rows = _ANSI.sub("", str(block)).splitlines()
        arrows = [row for row in rows if _ARROW.match(row)]
        if arrows:
            anywhere = _ARROW.sub("", arrows[-1]).strip()
        if rows and _CELL_FRAME.match(rows[0]):
            if arrows:
                own = anywhere
            elif len(rows) > 1 and rows[1].strip():  # a SyntaxError: the line itself, then a caret under it
                own = rows[1].strip()
    return (own or anywhere)[:300]
