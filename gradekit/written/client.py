"""The host's side of the math worker: one long-lived `gradekit.written.server` process per grading run,
a time limit on every answer, and a fresh worker after any answer that runs past it.

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
from typing import Any

MEMORY_LIMIT = 2 << 30  # bytes of address space for the worker: sympy on a hostile formula can eat memory
DEFAULT_TIMEOUT = 15.0  # seconds per answer; a well-formed answer takes well under one


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class MathChecker:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "gradekit.written.server"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, preexec_fn=_limit_memory)
        return self._proc

    def check(self, kind: str, spec: dict[str, Any], answer: str) -> dict[str, str]:
        """The worker's reply for one answer, or a "review" reply saying why there is none."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"kind": kind, "spec": spec, "answer": answer}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            return _review("the math checker stopped before it could read this answer")
        deadline = time.monotonic() + self.timeout
        ready: list[Any] = []
        while not ready and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
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
