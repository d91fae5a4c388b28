"""Where a student's kernel runs: a bubblewrap sandbox with resource limits, or limits alone.

Inside bubblewrap the kernel has no network (its own empty network namespace), its own PID namespace, dies with
the grader, and sees only what it needs of the host, read-only: the system's programs and libraries (`/usr`),
the interpreter, and the few `/etc` files Python and torch read. The rest (`/run` and `/var` with the host's
unix sockets, `/home`, the project with `reference/` and `graders/`, other submissions, the reports) is not
there at all: bubblewrap starts from an empty root and only what is listed here is mounted into it. Its one
writable place is its working directory, a size-capped tmpfs, into which what the host prepared for the
notebook (training data) is mounted read-only. Because the kernel has no network, it talks to the host over
IPC sockets in a folder that only this sandbox and the host share; request blobs travel through a second,
read-only folder ("inbox"); neither holds a file the kernel can write once it has started.

When the grader runs as root (CI does), the kernel must not: root inside the sandbox could remount `/`
read-write or unmount what hides the host, and RLIMIT_NPROC does not bind root, so a fork bomb would fill the
host's process table. So bubblewrap sets up the mounts as root and then `setpriv` drops the kernel to an
unprivileged uid with no capabilities, and an inner bubblewrap forbids new user namespaces (where a private,
unsized tmpfs could eat the host's memory).

Memory: RLIMIT_AS bounds the address space (importing torch alone needs ~5 GB of it), and a memory cgroup of
the kernel's own (gradekit.cgroups) bounds what it really holds, shared memory included. Where no cgroup can
be had, a seccomp filter (gradekit.seccomp) refuses the shared memory that the address space does not count.
`Sandbox.protections` says which of these were in force, for the report.

Where bubblewrap cannot run, grading still works with the resource limits alone, and the report says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradekit import uids
from gradekit.cgroups import MemoryCgroup
from gradekit.seccomp import shared_memory_filter

GIB = 1024**3
MIB = 1024**2
PROBE_UID = 65534  # "nobody": only for probing whether an unprivileged uid can run the interpreter at all

# The host's files a kernel sees (read-only); nothing else of the host is mounted. /bin, /lib, ... are
# symlinks into /usr on merged-/usr systems and are recreated as such.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_PATHS = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "gai.conf", "resolv.conf", "localtime",
             "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "mime.types",
             "alternatives", "os-release", "debian_version", "fonts", "protocols", "services", "magic")
# torch reads the CPU topology (cpuinfo) from here; no sockets or devices in it.
SYS_PATHS = ("/sys/devices/system/cpu",)


@dataclass(frozen=True)
class Protections:
    """What guarded one kernel, for the report: its isolation and what bounded its memory."""

    isolation: str  # "uid" | "caps" | "user" (bubblewrap; see Sandbox) | "off" (resource limits only)
    memory: str  # "cgroup v1" | "cgroup v2" | "seccomp" (shared memory refused) | "address space only"
    memory_limit: int | None  # bytes, with a cgroup

    def to_dict(self) -> dict[str, Any]:
        return {"isolation": self.isolation, "memory": self.memory, "memory_limit": self.memory_limit}

    @property
    def summary(self) -> str:
        isolation = {"uid": "bubblewrap, an unprivileged uid of its own", "caps": "bubblewrap, root without "
                     "capabilities", "user": "bubblewrap, the grader's own uid", "off": "resource limits only"}
        memory = (f"{self.memory_limit / GIB:g} GiB memory limit ({self.memory})" if self.memory_limit else
                  "shared memory refused (seccomp), no memory cgroup" if self.memory == "seccomp" else
                  "address-space limit only")
        return f"{isolation.get(self.isolation, self.isolation)}; {memory}"


@dataclass
class Limits:
    # Importing torch needs ~5 GB of address space; below that every notebook breaks.
    address_space: int = 10 * GIB
    # What the kernel may really hold (its cgroup's limit): shared memory and its tmpfs mounts count too.
    memory: int = 4 * GIB
    cpu_seconds: int = 3600
    file_size: int = 1 * GIB
    open_files: int = 1024
    # Threads count too, and every process of the kernel's uid (one per kernel, gradekit.uids): a kernel with torch,
    # transformers and a DataLoader of 2 workers runs 21. A fork bomb stops at the limit before its copies fill the
    # memory cgroup: peak 1.47 GiB at 64, 2.88 GiB at 128, the full 4 GiB at 512, where the kernel no longer
    # answered an interrupt (`python benchmarks/bench_fork_bomb.py`).
    processes: int = 64
    # Sizes of the sandbox's writable tmpfs mounts (memory-backed, so they are capped as well).
    scratch_bytes: int = 1 * GIB
    tmp_bytes: int = 256 * MIB
    shm_bytes: int = 256 * MIB

    def prlimit_args(self) -> list[str]:
        return [
            f"--as={self.address_space}",
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_size}",
            f"--nofile={self.open_files}",
            f"--nproc={self.processes}",
        ]


_BWRAP_OK: bool | None = None
_PROBES: dict[tuple, bool] = {}


def bwrap_available() -> bool:
    """Whether bubblewrap exists and can create the namespaces we need on this machine (checked once)."""
    global _BWRAP_OK
    if _BWRAP_OK is None:
        exe = shutil.which("bwrap")
        if exe is None:
            _BWRAP_OK = False
        else:
            probe = [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                     "--proc", "/proc", "true"]
            _BWRAP_OK = _runs(probe)
    return _BWRAP_OK


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Sandbox:
    """The environment of one kernel. `mode` is "auto" (bubblewrap when it works), "on" or "off".

    `scratch` is the kernel's working directory. The host may put files there before the kernel starts; with
    bubblewrap they appear read-only inside a fresh, size-capped tmpfs at the same path, and nothing the
    kernel writes reaches the host. `readable` are further host folders the kernel may read (a local model
    cache, say); `hidden` are folders it must not see even where one of those mounts would show them.
    `memory_guard` is "auto" (a memory cgroup when one can be made, else the seccomp filter), "cgroup",
    "seccomp" or "off"; the last three are for tests and debugging."""

    scratch: Path
    hidden: list[Path] = field(default_factory=list)
    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    threads: int = 1
    readable: list[Path] = field(default_factory=list)
    memory_guard: str = "auto"
    ipc_dir: Path | None = None
    inbox: Path | None = None

    def __post_init__(self) -> None:
        self.scratch = Path(self.scratch).resolve()
        if self.mode not in ("auto", "on", "off"):
            raise ValueError(f"sandbox mode must be auto, on or off, not {self.mode!r}")
        if self.memory_guard not in ("auto", "cgroup", "seccomp", "off"):
            raise ValueError(f"memory_guard must be auto, cgroup, seccomp or off, not {self.memory_guard!r}")
        if self.mode == "on" and not bwrap_available():
            raise RuntimeError("--sandbox on was asked for, but bubblewrap (bwrap) cannot run here")
        self.enabled = self.mode != "off" and bwrap_available()
        self.ipc_dir = Path(tempfile.mkdtemp(prefix="gk-ipc-")).resolve()
        self.inbox = Path(tempfile.mkdtemp(prefix="gk-inbox-")).resolve()
        os.chmod(self.inbox, 0o755)
        # How the kernel's privileges are cut: "uid" (an unprivileged uid), "caps" (root without capabilities:
        # the fallback when the interpreter is unreadable by other users), "user" (the grader is not root).
        self.isolation = self._choose_isolation() if self.enabled else "off"
        # One uid per kernel (gradekit.uids): RLIMIT_NPROC is counted per uid across the whole machine.
        self._uid_lease: uids.UidLease | None = uids.lease() if self.isolation == "uid" else None
        if self._uid_lease is not None:  # released by cleanup(), or when a sandbox nobody cleaned up is collected
            self._release_uid = weakref.finalize(self, self._uid_lease.release)
        self.cgroup: MemoryCgroup | None = None
        self._filter_fds: list[int] = []

    @property
    def note(self) -> str | None:
        """What the report should say about isolation, once."""
        if self.enabled:
            return None
        why = "it was switched off" if self.mode == "off" else "bubblewrap is not available on this machine"
        return f"The sandbox was off ({why}): your code ran with resource limits only."

    @property
    def protections(self) -> Protections:
        if self.cgroup is not None:
            return Protections(self.isolation, self.cgroup.label, self.cgroup.limit)
        memory = "seccomp" if self._uses_seccomp() else "address space only"
        return Protections(self.isolation, memory, None)

    # -- privilege dropping ----------------------------------------------------------------------------------

    @property
    def uid(self) -> int | None:
        """The uid the kernel runs as when the grader is root, else None (it keeps the grader's own)."""
        return self._uid_lease.uid if self._uid_lease is not None else None

    def _choose_isolation(self) -> str:
        if os.geteuid() != 0:
            return "user"
        if shutil.which("setpriv") is None:
            return "caps"
        key = ("uid", tuple(str(p) for p in self._prefixes()))
        if key not in _PROBES:
            # The same stack the kernel gets, so that it fails here, not at the kernel's start: an interpreter
            # in a folder only root may enter (a venv made by mkdtemp) cannot run as another uid.
            limited = [shutil.which("prlimit") or "env", "--", sys.executable, "-c", "import os"]
            _PROBES[key] = _runs(self._stack("uid", probe=True, inner=self._inner_userns_block()) + limited)
        return "uid" if _PROBES[key] else "caps"

    def _inner_userns_block(self) -> bool:
        """Whether an unprivileged inner bubblewrap can forbid new user namespaces here (checked once)."""
        key = ("inner",)
        if key not in _PROBES:
            _PROBES[key] = _runs(self._stack("uid", probe=True, inner=True) + ["true"])
        return _PROBES[key]

    def _prefixes(self) -> list[Path]:
        return sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})

    # -- memory ------------------------------------------------------------------------------------------------

    def _memory_cgroup(self) -> MemoryCgroup | None:
        """The kernel's cgroup, made on first use and reused by a replacement kernel (it is empty by then)."""
        if self.cgroup is None and self.memory_guard in ("auto", "cgroup"):
            self.cgroup = MemoryCgroup.create(self.limits.memory)
            if self.cgroup is None and self.memory_guard == "cgroup":
                raise RuntimeError("a memory cgroup was asked for, but none can be created here")
        return self.cgroup

    def _uses_seccomp(self) -> bool:
        return (self.enabled and self.cgroup is None and self.memory_guard in ("auto", "seccomp")
                and shared_memory_filter() is not None)

    def launch_options(self) -> dict[str, Any]:
        """Extra arguments for the kernel's Popen: the file descriptor bubblewrap reads the seccomp filter from.
        Call before each kernel start; `started()` closes what it opened."""
        self._memory_cgroup()
        if not self._uses_seccomp():
            return {}
        program = shared_memory_filter()
        assert program is not None
        read, write = os.pipe()
        os.write(write, program)  # a few hundred bytes: fits in the pipe's buffer
        os.close(write)
        self._filter_fds.append(read)
        return {"pass_fds": (read,)}

    def started(self) -> None:
        for fd in self._filter_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._filter_fds.clear()

    def oom_killed(self) -> bool:
        """Whether the kernel's memory cgroup had to kill a process (the kernel ran out of memory)."""
        return self.cgroup is not None and self.cgroup.oom_kills() > 0

    # -- the kernel's environment ------------------------------------------------------------------------------

    def configure_kernel_manager(self, km: Any) -> None:
        """Put the kernel's sockets and connection file in the shared IPC folder, and interrupt by message.

        jupyter_client's default interrupt is SIGINT to the process group it launched: that is bubblewrap,
        which dies of it and takes the kernel along. An interrupt_request makes ipykernel signal its own
        process group, inside the sandbox."""
        assert self.ipc_dir is not None
        km.kernel_spec.interrupt_mode = "message"
        km.transport = "ipc"
        km.ip = str(self.ipc_dir / "kernel")
        km.connection_file = str(self.ipc_dir / "kernel.json")

    def kernel_env(self, base: os._Environ | dict) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")
        env = {k: v for k, v in base.items() if k in keep}
        home = self.scratch / ".home"
        if not self.enabled:  # with bubblewrap both are made inside the sandbox's own tmpfs
            home.mkdir(parents=True, exist_ok=True)
            (self.scratch / ".tmp").mkdir(exist_ok=True)
        env.update({
            "HOME": str(home),
            "USER": "student",
            "IPYTHONDIR": str(home / ".ipython"),
            "JUPYTER_RUNTIME_DIR": str(self.ipc_dir),
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(home / ".mpl"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": str(self.threads),
            "MKL_NUM_THREADS": str(self.threads),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "TMPDIR": str(self.scratch / ".tmp"),
        })
        return env

    # -- the command line --------------------------------------------------------------------------------------

    def wrap(self, cmd: list[str]) -> list[str]:
        """The kernel command line: in its memory cgroup, in bubblewrap (when enabled), under resource limits.

        Called by the kernel manager after it wrote the connection file, so the IPC folder can be handed to
        the kernel's uid here."""
        limited = [shutil.which("prlimit") or "prlimit", *self.limits.prlimit_args(), "--", *cmd]
        if not shutil.which("prlimit"):
            limited = cmd
        if self.enabled:
            if self.uid is not None:
                self._give_ipc_to(self.uid)
            inner = self.isolation == "uid" and self._inner_userns_block()
            limited = self._stack(self.isolation, inner=inner) + limited
        cgroup = self._memory_cgroup()
        return cgroup.join_command(limited) if cgroup is not None else limited

    def _stack(self, isolation: str, *, probe: bool = False, inner: bool = False) -> list[str]:
        """bubblewrap (mounts and namespaces), then the privilege drop, up to the `--` before the command."""
        if isolation == "uid":
            # No user namespace: bubblewrap runs privileged, so the kernel's uid is a real, unprivileged one.
            args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try"]
        elif isolation == "caps":
            args = ["bwrap", "--unshare-all", "--cap-drop", "ALL"]
        else:
            args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns"]
        args += ["--die-with-parent", "--new-session"]
        if not probe and self._filter_fds:
            args += ["--seccomp", str(self._filter_fds[-1])]
        made: set[Path] = set()
        args += self._system_args(made)
        args += ["--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", str(self.limits.shm_bytes), "--tmpfs", "/dev/shm"]
        # The interpreter (and folders the assignment lets the kernel read) go on top of the /tmp mount: a
        # checkout under /tmp, with its virtual environment inside, must not vanish behind the private /tmp.
        visible = [*self._prefixes(), *([] if probe else [Path(p).resolve() for p in self.readable])]
        visible = [p for p in dict.fromkeys(visible) if p.exists()]
        for path in visible:
            args += self._mkdirs(path, made) + ["--ro-bind", str(path), str(path)]
        # Hidden folders inside a visible one (a data folder inside the environment, say) are covered by an
        # empty read-only tmpfs; anything else hidden is simply not mounted.
        hidden = [] if probe else [Path(p).resolve() for p in self.hidden]
        hidden = [h for h in dict.fromkeys(hidden)
                  if h.is_dir() and any(h != v and h.is_relative_to(v) for v in visible)]
        for path in hidden:
            args += ["--perms", "0755", "--tmpfs", str(path), "--remount-ro", str(path)]
        if not probe:
            args += self._workdir_args(made)
        # The sandbox's own root (the folders made above to hold the mounts) is read-only too: as the grader's
        # own uid the kernel could otherwise fill it, and it is not size-capped.
        args += ["--remount-ro", "/", "--hostname", "sandbox",
                 # ipykernel exits when its parent pid changes; inside a PID namespace it never matches, and
                 # --die-with-parent already ties the kernel's life to the grader's. 1 switches the check off.
                 "--setenv", "JPY_PARENT_PID", "1", "--"]
        if isolation == "uid":
            uid = PROBE_UID if probe or self.uid is None else self.uid
            args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
            if inner:
                args += ["bwrap", "--unshare-user", "--disable-userns", "--die-with-parent", "--dev-bind", "/", "/"]
                if not probe:
                    args += ["--chdir", str(self.scratch)]
                args += ["--"]
        return args

    @staticmethod
    def _system_args(made: set[Path]) -> list[str]:
        """The read-only view of the system: SYSTEM_PATHS, the listed /etc entries and SYS_PATHS."""
        args: list[str] = []
        etc = [f"/etc/{name}" for name in ETC_PATHS]
        for raw in [*SYSTEM_PATHS, *etc, *SYS_PATHS]:
            path = Path(raw)
            if path.is_symlink():
                args += Sandbox._mkdirs(path, made) + ["--symlink", os.readlink(path), raw]
            elif path.exists():
                args += Sandbox._mkdirs(path, made) + ["--ro-bind", raw, raw]
        return args

    @staticmethod
    def _mkdirs(target: Path, made: set[Path]) -> list[str]:
        """`--dir` for each folder above `target` on the sandbox's own root: bubblewrap would otherwise create
        them 0700 (as root), and the unprivileged kernel could not pass through to what is mounted below."""
        args = []
        for ancestor in reversed(target.parents):
            if ancestor != Path("/") and ancestor not in made:
                made.add(ancestor)
                args += ["--perms", "0755", "--dir", str(ancestor)]
        return args

    def _workdir_args(self, made: set[Path]) -> list[str]:
        assert self.ipc_dir is not None and self.inbox is not None
        args = [*self._mkdirs(self.ipc_dir, made), "--bind", str(self.ipc_dir), str(self.ipc_dir),
                *self._mkdirs(self.inbox, made), "--ro-bind", str(self.inbox), str(self.inbox),
                *self._mkdirs(self.scratch, made),
                "--perms", "1777", "--size", str(self.limits.scratch_bytes), "--tmpfs", str(self.scratch)]
        for entry in sorted(self.scratch.iterdir()):
            if entry.name in (".home", ".tmp"):
                continue
            args += ["--ro-bind", str(entry), str(entry)]
        for name in (".home", ".tmp"):
            args += ["--perms", "1777", "--dir", str(self.scratch / name)]
        return [*args, "--chdir", str(self.scratch)]

    def _give_ipc_to(self, uid: int) -> None:
        """The kernel creates its sockets in the IPC folder and reads the connection file from it."""
        assert self.ipc_dir is not None
        os.chown(self.ipc_dir, uid, uid)
        for entry in self.ipc_dir.iterdir():
            os.chown(entry, uid, uid)

    def seal(self) -> None:
        """Once the kernel has bound its sockets it needs no more write access to the shared folder (it is on
        the host's disk, outside the size-capped tmpfs): the folder and every file in it go back to root,
        read-only to others (the connection file was read at start-up). Only possible when the kernel runs as
        another uid; sockets stay the kernel's, and a socket holds no data on disk."""
        if self.uid is None or self.ipc_dir is None or not self.ipc_dir.exists():
            return
        os.chown(self.ipc_dir, 0, 0)
        os.chmod(self.ipc_dir, 0o755)
        for entry in self.ipc_dir.iterdir():
            info = entry.lstat()
            if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
                os.chown(entry, 0, 0, follow_symlinks=False)
                os.chmod(entry, 0o444 if stat.S_ISREG(info.st_mode) else 0o555)
            elif not stat.S_ISSOCK(info.st_mode):
                entry.unlink()  # nothing else belongs there (a symlink or a fifo the kernel made)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Remove what the sandbox made on the host (its IPC and inbox folders, its cgroup). Safe to repeat."""
        self.started()
        if self._uid_lease is not None:
            self._release_uid()
        if self.cgroup is not None:
            self.cgroup.remove()
        for folder in (self.ipc_dir, self.inbox):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
