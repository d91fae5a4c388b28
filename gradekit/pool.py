"""Warm grader workers: one `python -m gradekit.worker --serve` process per job slot, each grading notebooks one
after another, so that a batch pays for starting Python and importing torch once per worker, not per notebook.

What a worker of its own per notebook guaranteed still holds:
- a notebook that crashes its worker or runs past the wall-clock limit costs its own row: the worker is stopped,
  the row says why, and the slot's next notebook gets a new worker;
- a worker is replaced after `recycle_after` notebooks, or once its resident memory passes `max_rss`, so that
  nothing a long batch leaves behind in a worker (a leak in torch, a grader's cache) grows without bound;
- whatever a worker prints goes to a file of which only the current notebook's tail is ever read.

The two sides speak in `Job` and `Done` lines (JSON), defined here, where the batch imports them without
importing torch; gradekit.worker is the other end.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO


class JsonLine:
    """A record that crosses the pipe between the batch and a worker as one line of JSON."""

    def line(self) -> str:
        return json.dumps(asdict(self)) + "\n"  # type: ignore[call-overload]


@dataclass(frozen=True)
class Job(JsonLine):
    """One notebook for a warm worker: where it is and where its result goes."""

    notebook: str
    out: str
    progress: str = ""  # where the worker keeps the grading's current step (gradekit.progress), "" for nowhere

    @classmethod
    def parse(cls, line: str) -> Job:
        fields = json.loads(line)
        return cls(notebook=str(fields["notebook"]), out=str(fields["out"]), progress=str(fields.get("progress", "")))


@dataclass(frozen=True)
class Done(JsonLine):
    """A warm worker's answer to a Job: the result file is written. `rss` is the worker's resident memory
    afterwards, in bytes, for the batch's recycling rule."""

    out: str
    rss: int

    @classmethod
    def parse(cls, line: str) -> Done:
        fields = json.loads(line)
        return cls(out=str(fields["out"]), rss=int(fields["rss"]))


@dataclass(frozen=True)
class PoolLimits:
    per_notebook: float  # wall-clock seconds one notebook may take in its worker
    recycle_after: int = 40  # notebooks a worker grades before it is replaced
    max_rss: int = 6 << 30  # bytes of resident memory past which a worker is replaced after its notebook


class WorkerFailed(Exception):
    """The worker grading this notebook died or was stopped; the message is the notebook's row's error."""


class WorkerTimedOut(WorkerFailed):
    """The notebook ran past its wall-clock limit and its worker was stopped: the notebook's doing, so a result,
    never a reason to grade it again."""


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child between fork and exec only calls it
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a new worker, before it runs anything: it gets SIGKILL when the thread that started it ends, so a batch
    or server killed with SIGKILL leaves no worker grading on for nobody (its kernels die with it, by bubblewrap's
    --die-with-parent)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class WarmWorker:
    """One job slot: a worker process, started when the slot's first notebook comes and again after a crash, a
    timeout or a recycling."""

    def __init__(self, command: list[str], limits: PoolLimits):
        self.command, self.limits = command, limits
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.replies = -1
        self.buffer = b""
        self.graded = 0  # by the current process
        self.started = 0  # processes started, for tests and the benchmark

    def grade(self, notebook: Path, out_json: Path, progress: Path | None = None) -> None:
        """Have a worker grade `notebook` into `out_json` (keeping its current step in `progress`); raise
        WorkerFailed when it could not."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None and self.log is not None
        since = os.fstat(self.log.fileno()).st_size
        try:
            job = Job(notebook=str(notebook), out=str(out_json), progress=str(progress or ""))
            self.proc.stdin.write(job.line().encode())
            self.proc.stdin.flush()
            line = self._reply(time.monotonic() + self.limits.per_notebook)
        except TimeoutError:
            self.stop(kill=True)
            raise WorkerTimedOut(f"grading this notebook took longer than {self.limits.per_notebook:.0f} s and was "
                               "stopped") from None
        except BrokenPipeError:
            line = None
        if line is None:  # the worker died with this notebook
            last = self._log_tail(since).strip().splitlines() or ["no output"]
            self.stop(kill=True)
            raise WorkerFailed(f"the grader process for this notebook failed ({last[-1][:300]}); please tell your "
                               "course staff")
        done = Done.parse(line)
        self.graded += 1
        if self.graded >= self.limits.recycle_after or done.rss > self.limits.max_rss:
            self.stop()

    def _start(self) -> None:
        self.stop()
        read, write = os.pipe()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*self.command, "--serve", "--reply-fd", str(write)], stdin=subprocess.PIPE,
                                     stdout=self.log, stderr=self.log, pass_fds=(write,), preexec_fn=die_with_parent)
        os.close(write)
        self.replies, self.buffer, self.graded = read, b"", 0
        self.started += 1

    def _reply(self, deadline: float) -> str | None:
        """The worker's next line, or None when it closed its end (it died)."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.replies], [], [], left)
            if ready:
                chunk = os.read(self.replies, 1 << 16)
                if not chunk:
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def _log_tail(self, since: int, limit: int = 64 << 10) -> str:
        """What the worker printed since offset `since`, its last `limit` bytes."""
        assert self.log is not None
        end = os.fstat(self.log.fileno()).st_size
        self.log.seek(max(since, end - limit))
        return self.log.read().decode(errors="replace")

    def stop(self, kill: bool = False) -> None:
        """End the worker: at once with `kill`, else by closing its stdin, which ends its loop."""
        if self.proc is not None:
            if kill:
                self.proc.kill()
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            os.close(self.replies)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None


class WorkerPool:
    """`size` warm workers shared by the threads of a batch: each grading takes a free slot and gives it back."""

    def __init__(self, command: list[str], size: int, limits: PoolLimits):
        self.slots = [WarmWorker(command, limits) for _ in range(max(1, size))]
        self.free: queue.Queue[WarmWorker] = queue.Queue()
        for slot in self.slots:
            self.free.put(slot)

    def grade(self, notebook: Path, out_json: Path) -> None:
        slot = self.free.get()
        try:
            slot.grade(notebook, out_json)
        finally:
            self.free.put(slot)

    @property
    def started(self) -> int:
        return sum(slot.started for slot in self.slots)

    def close(self) -> None:
        for slot in self.slots:
            slot.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
