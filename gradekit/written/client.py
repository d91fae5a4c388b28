"""The host's side of the math worker: one long-lived `gradekit.written.server` process per grading run,
a time limit on every answer, and a fresh worker after any answer that runs past it.

The limit counts the worker's CPU time (from /proc), not the clock: on a machine busy with a batch, a formula
that takes 2 s alone can take 20 s of wall time, and its verdict must not depend on what else was running. The
worker's start-up (importing sympy) is not charged to the first answer: it says when it is ready.

Student text is only ever sent to the worker as data. A worker that dies or overruns costs that answer
(it goes to a TA with the reason), never the run.
"""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MEMORY_LIMIT = 2 << 30  # bytes of address space for the worker: sympy on a hostile formula can eat memory
DEFAULT_TIMEOUT = 15.0  # CPU seconds per answer; a well-formed answer takes well under one
# A worker that does not answer is stopped after this much wall time whatever its CPU time: generous, because
# on a loaded machine a worker can get a small share of a core (40 s of wall time measured for 0.1 s of CPU).
WALL_LIMIT = 120.0
WALL_FACTOR = 20
STARTUP_TIMEOUT = 120.0  # seconds of wall time the worker may take to import sympy and say it is ready
READY = {"ready": True}  # the worker's first line


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time process `pid` has used so far, or None where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class MathChecker:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str] | None:
        """The running worker, started (and ready) if need be; None when it could not start."""
        if self._proc is None or self._proc.poll() is not None:
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "gradekit.written.server"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, preexec_fn=_limit_memory)
            assert self._proc.stdout is not None
            ready, _, _ = select.select([self._proc.stdout], [], [], STARTUP_TIMEOUT)
            line = self._proc.stdout.readline() if ready else ""
            try:
                started = json.loads(line) == READY
            except ValueError:
                started = False
            if not started:
                self.close()
                return None
        return self._proc

    def _wait(self, proc: subprocess.Popen[str]) -> bool:
        """Wait for the worker's reply to the answer just sent: True once it is there, False when the answer
        has used more than `timeout` CPU seconds (or, where CPU time is unknown, seconds)."""
        assert proc.stdout is not None
        start, cpu_start = time.monotonic(), cpu_seconds(proc.pid)
        while True:
            elapsed = time.monotonic() - start
            cpu = cpu_seconds(proc.pid)
            used = elapsed if cpu is None or cpu_start is None else cpu - cpu_start
            if used > self.timeout or elapsed > max(WALL_LIMIT, self.timeout * WALL_FACTOR):
                return False
            ready, _, _ = select.select([proc.stdout], [], [], min(0.25, self.timeout))
            if ready:
                return True

    def check(self, kind: str, spec: dict[str, Any], answer: str) -> dict[str, str]:
        """The worker's reply for one answer, or a "review" reply saying why there is none."""
        proc = self._start()
        if proc is None:
            return _review("the math checker could not start")
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"kind": kind, "spec": spec, "answer": answer}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            return _review("the math checker stopped before it could read this answer")
        ready = self._wait(proc)
        line = proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            if not ready:
                return _review(f"checking this formula took longer than {self.timeout:g} s")
            return _review("the math checker stopped while checking this formula (it may have run out of memory)")
        try:
            reply = json.loads(line)
        except ValueError:
            self.close()
            return _review("the math checker gave an unreadable reply")
        return {k: str(reply.get(k, "")) for k in ("verdict", "message", "parsed", "example")}

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
            self._proc = None

    def __enter__(self) -> MathChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _review(message: str) -> dict[str, str]:
    return {"verdict": "review", "message": message, "parsed": "", "example": ""}
