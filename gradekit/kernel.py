"""One Jupyter kernel per submission: start it (inside the sandbox), run the notebook cell by cell, and
execute the host's requests. Student code never runs anywhere else.

nbclient does the message plumbing; this module adds what grading needs on top: a cell that raises is
recorded and the rest still runs, a cell past its time limit is interrupted, a kernel that ignores the
interrupt is declared hung (and killed) instead of blocking the batch, and output is capped.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync

from gradekit.kernel_side import MAX_BLOB_BYTES, REPLY_MIME
from gradekit.sandbox import Sandbox

TIMEOUT_ENAME = "CellTimeout"


class KernelDied(RuntimeError):
    """The kernel process is gone (crashed, killed for memory) or stopped answering."""


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose command line is wrapped by the sandbox (bubblewrap and/or resource limits)."""

    sandbox: Sandbox | None = None

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

    async def _async_handle_timeout(self, timeout, cell=None):  # type: ignore[override]
        self.timed_out = True
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

    # -- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> KernelSession:
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
        env = self.sandbox.kernel_env(os.environ)
        self._ctx = self._client.setup_kernel(cwd=str(self.workdir), env=env)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._ctx is not None:
                self._ctx.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a kernel that will not shut down politely is killed below
            pass
        km = self._client.km if self._client else None
        if km is not None and km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001
                pass
        self.sandbox.cleanup()

    # -- execution -----------------------------------------------------------------------------------------

    def execute(self, source: str, timeout: float | None = None) -> tuple[list[dict], dict | None]:
        """Run one piece of code; return (outputs, error) where error has ename/evalue or is None.

        Raises KernelDied when the kernel is gone or hung: later requests would only wait in vain.
        """
        if self.dead:
            raise KernelDied(self.dead)
        assert self._client is not None
        cell, index = self._new_cell(source)
        self._client.timeout = int(timeout or self.cell_timeout)
        self._client.timed_out = False
        try:
            self._client.execute_cell(cell, index, store_history=False)
        except DeadKernelError:
            self.dead = "the kernel died (it may have run out of memory or been killed)"
            raise KernelDied(self.dead) from None
        return cell.outputs, _error_of(cell.outputs, self._client.timed_out)

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
        """Run (notebook position, source) pairs in order; record errors; enforce the time limits."""
        assert self._client is not None
        report = ExecutionReport()
        start = time.monotonic()
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
            try:
                self._client.execute_cell(cell, index, store_history=True)
            except DeadKernelError:
                self.dead = f"the kernel died while running cell {position} (out of memory, or killed)"
                report.aborted = self.dead
                break
            report.cells_run += 1
            if index in self._client.truncated:
                report.notes.append(f"cell {position} printed more than {self.max_output_bytes >> 20} MiB; "
                                    "the rest of its output was dropped")
            err = _error_of(cell.outputs, self._client.timed_out)
            if err is None:
                continue
            if err["ename"] == TIMEOUT_ENAME:
                report.errors.append(CellError(position, "Timeout", f"ran past its {limit:.0f} s limit"))
                report.notes.append(f"cell {position} ran past its {limit:.0f} s limit and was interrupted")
                if not self._responsive():
                    self.dead = (f"cell {position} ran past its {limit:.0f} s limit and did not stop when "
                                 "interrupted; the kernel was shut down")
                    report.aborted = self.dead
                    break
            else:
                report.errors.append(CellError(position, err["ename"], err["evalue"][:500], err.get("line", "")))
        report.duration_s = time.monotonic() - start
        return report


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
