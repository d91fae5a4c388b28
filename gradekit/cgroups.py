"""A real memory limit for one kernel: a cgroup of its own.

RLIMIT_AS bounds a process's address space, but not memory that is in no address space: a memfd or a SysV
shared memory segment written to and never mapped, tmpfs pages, pipe and socket buffers. A memory cgroup
counts all of it (shared memory and tmpfs pages are charged to the cgroup of the process that touched them),
so a kernel in a cgroup of its own cannot hold more than the cgroup's limit, however it allocates.

Two hierarchies exist: cgroup v2 (`memory.max`, in the unified hierarchy, delegated by systemd to a user that
is not root) and the older v1 memory controller (`memory.limit_in_bytes`). `MemoryCgroup.create` tries v2,
then v1, under the grader's own cgroup, and returns None when neither can be had (no controller, or not ours
to write): the sandbox then falls back to forbidding shared memory with seccomp (gradekit.seccomp).

The kernel joins its cgroup before anything runs: the command line starts with a tiny shell that writes its
own pid into `cgroup.procs` and then execs the sandbox, so every process the kernel ever starts is inside.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Joins the cgroup named by $0 (its cgroup.procs file), then becomes the command. Plain POSIX sh.
JOIN_SCRIPT = 'echo $$ > "$0" && exec "$@"'


@dataclass
class MemoryCgroup:
    path: Path
    version: int  # 1 or 2
    limit: int  # bytes

    @property
    def label(self) -> str:
        return f"cgroup v{self.version}"

    @classmethod
    def create(cls, limit: int) -> MemoryCgroup | None:
        """A fresh cgroup with `limit` bytes of memory (and no swap), or None where none can be made here."""
        for version, parent in _candidate_parents():
            made = _make_child(parent, version, limit)
            if made is not None:
                return made
        return None

    def join_command(self, cmd: list[str]) -> list[str]:
        """`cmd`, started inside this cgroup."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, str(self.path / "cgroup.procs"), *cmd]

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def oom_kills(self) -> int:
        """How many processes the kernel's out-of-memory killer stopped in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        if self.version == 1:  # kernels before 4.13 do not count kills; a limit that was hit is the sign
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / "memory.failcnt").read_text()) and 1
        return 0

    def peak(self) -> int | None:
        """The most memory the cgroup held, in bytes (for benchmarks and the limit's sizing)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup (v2 has one file for that; v1 is done pid by pid)."""
        if self.version == 2 and (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.path / "cgroup.kill").write_text("1")
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and remove the cgroup (it must be empty; dying processes take a moment)."""
        self.kill_all()
        _rmdir_when_empty(self.path)


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, file system type, super options) of each mount, from /proc/self/mountinfo."""
    out = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3:
            out.append((fields[4].replace("\\040", " "), tail[0], tail[2]))
    return out


def _own_cgroups() -> dict[str, str]:
    """Controller list ("" for the unified hierarchy) -> this process's cgroup path in it."""
    out = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            out[controllers] = path
    except (OSError, ValueError):
        pass
    return out


def _candidate_parents() -> list[tuple[int, Path]]:
    own = _own_cgroups()
    candidates = []
    for point, fstype, _options in _mounts():
        if fstype == "cgroup2" and "" in own:
            candidates.append((2, Path(point) / own[""].lstrip("/")))
    for point, fstype, options in _mounts():
        if fstype == "cgroup" and "memory" in options.split(","):
            path = next((p for c, p in own.items() if "memory" in c.split(",")), None)
            if path is not None:
                candidates.append((1, Path(point) / path.lstrip("/")))
    return candidates


def _make_child(parent: Path, version: int, limit: int) -> MemoryCgroup | None:
    limit_file = "memory.max" if version == 2 else "memory.limit_in_bytes"
    child = parent / f"gradekit-{uuid.uuid4().hex[:12]}"
    try:
        child.mkdir()
    except OSError:
        return None
    try:
        # v2: the file exists only when the parent delegates the memory controller to its children.
        (child / limit_file).write_text(str(limit))
        if version == 2:
            with contextlib.suppress(OSError):
                (child / "memory.swap.max").write_text("0")
        else:
            with contextlib.suppress(OSError):  # present only with swap accounting; must be >= the limit
                (child / "memory.memsw.limit_in_bytes").write_text(str(limit))
        return MemoryCgroup(child, version, limit)
    except OSError:
        with contextlib.suppress(OSError):
            child.rmdir()
        return None


@contextlib.contextmanager
def no_forks(pid: int, cgroup: MemoryCgroup | None) -> Iterator[bool]:
    """While inside, process `pid` can start no process or thread: its next fork fails with EAGAIN.

    How a fork loop is stopped (an interrupt is not enough, see KernelSession.recover). Through the pids
    controller: in cgroup v2, `pids.max` of the kernel's own cgroup (when the pids controller is delegated to
    it); in v1, a pids cgroup of its own that `pid` is moved into and out of again (moving a process does not
    count against a limit). RLIMIT_NPROC cannot do it: lowering another uid's limit needs CAP_SYS_RESOURCE,
    which a container's root may lack. Yields whether the block is in place."""
    if cgroup is not None and cgroup.version == 2 and (cgroup.path / "pids.max").exists():
        try:
            (cgroup.path / "pids.max").write_text("0")
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                (cgroup.path / "pids.max").write_text("max")
        return
    home = _pids_v1_cgroup(pid)
    if home is None:
        yield False
        return
    block = home / f"gradekit-noforks-{uuid.uuid4().hex[:12]}"  # a child: the limits above it still hold
    try:
        block.mkdir()
        (block / "pids.max").write_text("0")
        (block / "cgroup.procs").write_text(str(pid))
    except OSError:
        with contextlib.suppress(OSError):
            block.rmdir()
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            (home / "cgroup.procs").write_text(str(pid))
        _rmdir_when_empty(block)


def _rmdir_when_empty(path: Path) -> None:
    """Remove a cgroup folder, retrying for up to 2 s: its last processes take a moment to leave it."""
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _pids_v1_cgroup(pid: int) -> Path | None:
    """The folder of `pid`'s cgroup in the v1 pids hierarchy, where one is mounted."""
    point = next((p for p, fstype, options in _mounts() if fstype == "cgroup" and "pids" in options.split(",")), None)
    if point is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "pids" in controllers.split(","):
                return Path(point) / path.lstrip("/")
    except (OSError, ValueError):
        return None
    return None
