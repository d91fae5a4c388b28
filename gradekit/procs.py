"""The host's view of a kernel's processes, read from /proc (Linux; elsewhere every answer is empty).

A sandboxed kernel sits under a chain of wrappers (the cgroup join, bubblewrap, its PID namespace's init,
setpriv, the inner bubblewrap, prlimit). What a cell starts lives below the kernel, unless it double-forked:
then it is re-parented to the namespace's init and is no longer the kernel's descendant. So "everything the
student started" is "everything in the kernel's cgroup (or PID namespace) except the kernel and the chain
above it", never "the kernel's children".
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may itself hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().decode(errors="replace").rsplit(")", 1)[1].split()


def parent(pid: int) -> int | None:
    try:
        return int(_stat_fields(pid)[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Running, not a zombie (a dead process waiting to be reaped)."""
    try:
        return _stat_fields(pid)[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def all_pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def descendants(root: int) -> list[int]:
    """All processes below `root`, parents before their children."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        ppid = parent(pid)
        if ppid is not None:
            children.setdefault(ppid, []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def ancestors(pid: int) -> list[int]:
    """`pid`'s parent, its parent, ... up to init."""
    out: list[int] = []
    current = parent(pid)
    while current and current not in out:
        out.append(current)
        current = parent(current)
    return out


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def same_pid_namespace(pid: int) -> list[int]:
    """Every process in `pid`'s PID namespace (as seen from the host's)."""
    namespace = pid_namespace(pid)
    if namespace is None:
        return []
    return [p for p in all_pids() if pid_namespace(p) == namespace]


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def is_kernel(argv: list[str]) -> bool:
    """An ipykernel process: a Python interpreter started with `-m ipykernel_launcher` (or the like)."""
    return bool(argv) and Path(argv[0]).name.startswith("python") and any("ipykernel" in a for a in argv[1:3])
