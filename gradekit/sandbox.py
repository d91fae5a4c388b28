"""Where a student's kernel runs: a bubblewrap sandbox with resource limits, or limits alone.

Inside bubblewrap the kernel has no network (its own empty network namespace), a read-only view of the
system, its own PID namespace, dies with the grader, and one writable place: its working directory, a
size-capped tmpfs (so a cell that fills the disk fills only that). What the host prepared for the notebook
(training data) is mounted into it read-only. The project (reference/, graders/, hidden data), the
submissions folder and the report folder are hidden behind empty read-only mounts. Because the kernel has
no network, it talks to the host over IPC sockets in a folder that only this sandbox and the host share;
request blobs travel through a second, read-only folder ("inbox").

When the grader runs as root (CI does), the kernel must not: root inside the sandbox could remount `/`
read-write or unmount the tmpfs that hides `reference/`, and RLIMIT_NPROC does not bind root, so a fork
bomb would fill the host's process table. So bubblewrap sets up the mounts as root and then `setpriv` drops
the kernel to an unprivileged uid with no capabilities, and an inner bubblewrap forbids new user
namespaces (where a private, unsized tmpfs could eat the host's memory).

Where bubblewrap cannot run, grading still works with the resource limits alone, and the report says so.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3
MIB = 1024**2
SANDBOX_UID = 65534  # "nobody": owns nothing on the host


@dataclass
class Limits:
    # Importing torch needs ~5 GB of address space; below that every notebook breaks.
    address_space: int = 10 * GIB
    cpu_seconds: int = 3600
    file_size: int = 1 * GIB
    open_files: int = 1024
    processes: int = 512  # threads count too; binds only a non-root uid (see the module docstring)
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


def _world_traversable(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & stat.S_IXOTH)
    except OSError:
        return False


def _closed_ancestor(path: Path) -> Path | None:
    """The topmost folder above `path` that other users cannot enter (a 0700 home or mkdtemp folder), or None.

    The unprivileged kernel could not reach the interpreter through it, so it is covered by an empty tmpfs and
    the interpreter re-mounted on top, which also hides the rest of that private folder."""
    for ancestor in reversed(path.parents):
        if ancestor != Path("/") and not _world_traversable(ancestor):
            return ancestor
    return None


@dataclass
class Sandbox:
    """The environment of one kernel. `mode` is "auto" (bubblewrap when it works), "on" or "off".

    `scratch` is the kernel's working directory. The host may put files there before the kernel starts; with
    bubblewrap they appear read-only inside a fresh, size-capped tmpfs at the same path, and nothing the
    kernel writes reaches the host."""

    scratch: Path
    hidden: list[Path] = field(default_factory=list)
    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    threads: int = 1
    ipc_dir: Path | None = None
    inbox: Path | None = None

    def __post_init__(self) -> None:
        self.scratch = Path(self.scratch).resolve()
        if self.mode not in ("auto", "on", "off"):
            raise ValueError(f"sandbox mode must be auto, on or off, not {self.mode!r}")
        if self.mode == "on" and not bwrap_available():
            raise RuntimeError("--sandbox on was asked for, but bubblewrap (bwrap) cannot run here")
        self.enabled = self.mode != "off" and bwrap_available()
        self.ipc_dir = Path(tempfile.mkdtemp(prefix="gk-ipc-")).resolve()
        self.inbox = Path(tempfile.mkdtemp(prefix="gk-inbox-")).resolve()
        os.chmod(self.inbox, 0o755)
        # How the kernel's privileges are cut: "uid" (an unprivileged uid), "caps" (root without capabilities:
        # the fallback when the interpreter is unreadable by other users), "user" (the grader is not root).
        self.isolation = self._choose_isolation() if self.enabled else "off"

    @property
    def note(self) -> str | None:
        """What the report should say about isolation, once."""
        if self.enabled:
            return None
        why = "it was switched off" if self.mode == "off" else "bubblewrap is not available on this machine"
        return f"The sandbox was off ({why}): your code ran with resource limits only."

    # -- privilege dropping ----------------------------------------------------------------------------------

    @property
    def uid(self) -> int | None:
        """The uid the kernel runs as when the grader is root, else None (it keeps the grader's own)."""
        return SANDBOX_UID if self.isolation == "uid" else None

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
        """The kernel command line, wrapped in resource limits and (when enabled) bubblewrap.

        Called by the kernel manager after it wrote the connection file, so the IPC folder can be handed to
        the kernel's uid here."""
        limited = [shutil.which("prlimit") or "prlimit", *self.limits.prlimit_args(), "--", *cmd]
        if not shutil.which("prlimit"):
            limited = cmd
        if not self.enabled:
            return limited
        if self.uid is not None:
            self._give_ipc_to(self.uid)
        return self._stack(self.isolation, inner=self.isolation == "uid" and self._inner_userns_block()) + limited

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
        args += ["--die-with-parent", "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", str(self.limits.shm_bytes), "--tmpfs", "/dev/shm"]
        # Hide what the kernel must never see (empty read-only tmpfs over each folder), then re-expose the
        # interpreter read-only: a virtual environment inside the project, or under /tmp, would be hidden
        # with it. The parents of our own temporary folders are hidden too (other submissions' scratch).
        visible = [*self._prefixes()] if probe else [*self._prefixes(), self.scratch, self.ipc_dir, self.inbox]
        hidden = [] if probe else [Path(p).resolve() for p in self.hidden]
        if not probe:
            hidden += [p.parent for p in (self.scratch, self.ipc_dir, self.inbox) if p is not None]
        if isolation == "uid":
            hidden += [a for a in map(_closed_ancestor, visible) if a is not None]
        hidden = [p for p in dict.fromkeys(hidden) if p.is_dir() and p not in (Path("/"), Path("/tmp"))]
        fresh = [Path("/tmp")]  # folders on a tmpfs of ours: what bubblewrap creates there we create 0755
        made: set[Path] = set()
        for path in sorted(hidden, key=lambda p: len(p.parts)):
            args += self._mkdirs(path, fresh, made) + ["--perms", "0755", "--tmpfs", str(path)]
            fresh.append(path)
        for prefix in self._prefixes():
            args += self._mkdirs(prefix, fresh, made) + ["--ro-bind", str(prefix), str(prefix)]
        if not probe:
            args += self._workdir_args(fresh, made)
        for path in hidden:
            args += ["--remount-ro", str(path)]
        args += ["--hostname", "sandbox",
                 # ipykernel exits when its parent pid changes; inside a PID namespace it never matches, and
                 # --die-with-parent already ties the kernel's life to the grader's. 1 switches the check off.
                 "--setenv", "JPY_PARENT_PID", "1", "--"]
        if isolation == "uid":
            args += ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
            if inner:
                args += ["bwrap", "--unshare-user", "--disable-userns", "--die-with-parent", "--dev-bind", "/", "/"]
                if not probe:
                    args += ["--chdir", str(self.scratch)]
                args += ["--"]
        return args

    @staticmethod
    def _mkdirs(target: Path, fresh: list[Path], made: set[Path]) -> list[str]:
        """`--dir` for each folder between one of our tmpfs mounts and `target`: bubblewrap would otherwise
        create them 0700, and the unprivileged kernel could not pass through to what is mounted below."""
        args = []
        for ancestor in reversed(target.parents):
            inside = any(ancestor != root and ancestor.is_relative_to(root) for root in fresh)
            if inside and ancestor not in made:
                made.add(ancestor)
                args += ["--perms", "0755", "--dir", str(ancestor)]
        return args

    def _workdir_args(self, fresh: list[Path], made: set[Path]) -> list[str]:
        assert self.ipc_dir is not None and self.inbox is not None
        args = [*self._mkdirs(self.ipc_dir, fresh, made), "--bind", str(self.ipc_dir), str(self.ipc_dir),
                *self._mkdirs(self.inbox, fresh, made), "--ro-bind", str(self.inbox), str(self.inbox),
                *self._mkdirs(self.scratch, fresh, made),
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
        the host's disk, outside the size-capped tmpfs). Only possible when the kernel runs as another uid."""
        if self.uid is not None and self.ipc_dir is not None and self.ipc_dir.exists():
            os.chown(self.ipc_dir, 0, 0)
            os.chmod(self.ipc_dir, 0o755)

    def cleanup(self) -> None:
        for folder in (self.ipc_dir, self.inbox):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
