"""Where a student's kernel runs: a bubblewrap sandbox with resource limits, or limits alone.

Inside bubblewrap the kernel has no network (its own empty network namespace), a read-only view of the
system, its own PID namespace, dies with the grader, and sees one writable folder: its scratch folder.
The project (reference/, graders/, hidden data), the submissions folder and the report folder are hidden
behind empty tmpfs mounts. Because the kernel has no network, it talks to the host over IPC sockets in a
folder that only this sandbox and the host share.

Where bubblewrap cannot run, grading still works with the resource limits alone, and the report says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3


@dataclass
class Limits:
    # Importing torch needs ~5 GB of address space; below that every notebook breaks.
    address_space: int = 10 * GIB
    cpu_seconds: int = 3600
    file_size: int = 1 * GIB
    open_files: int = 1024
    processes: int = 512

    def prlimit_args(self) -> list[str]:
        return [
            f"--as={self.address_space}",
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_size}",
            f"--nofile={self.open_files}",
            f"--nproc={self.processes}",
        ]


_BWRAP_OK: bool | None = None


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
            try:
                _BWRAP_OK = subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                _BWRAP_OK = False
    return _BWRAP_OK


@dataclass
class Sandbox:
    """The environment of one kernel. `mode` is "auto" (bubblewrap when it works), "on" or "off"."""

    scratch: Path
    hidden: list[Path] = field(default_factory=list)
    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    threads: int = 1
    ipc_dir: Path | None = None

    def __post_init__(self) -> None:
        self.scratch = Path(self.scratch).resolve()
        if self.mode not in ("auto", "on", "off"):
            raise ValueError(f"sandbox mode must be auto, on or off, not {self.mode!r}")
        if self.mode == "on" and not bwrap_available():
            raise RuntimeError("--sandbox on was asked for, but bubblewrap (bwrap) cannot run here")
        self.enabled = self.mode != "off" and bwrap_available()
        self.ipc_dir = Path(tempfile.mkdtemp(prefix="gk-ipc-"))

    @property
    def note(self) -> str | None:
        """What the report should say about isolation, once."""
        if self.enabled:
            return None
        why = "it was switched off" if self.mode == "off" else "bubblewrap is not available on this machine"
        return f"The sandbox was off ({why}): your code ran with resource limits only."

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
        home.mkdir(parents=True, exist_ok=True)
        env.update({
            "HOME": str(home),
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
        (self.scratch / ".tmp").mkdir(exist_ok=True)
        return env

    def wrap(self, cmd: list[str]) -> list[str]:
        """The kernel command line, wrapped in resource limits and (when enabled) bubblewrap."""
        limited = [shutil.which("prlimit") or "prlimit", *self.limits.prlimit_args(), "--", *cmd]
        if not shutil.which("prlimit"):
            limited = cmd
        if not self.enabled:
            return limited
        args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        # Hide what the kernel must never see (empty tmpfs over each folder), then re-expose the interpreter
        # read-only: a virtual environment inside the project, or under /tmp, would be hidden with it.
        for path in self.hidden:
            path = Path(path).resolve()
            if path.exists():
                args += ["--tmpfs", str(path)]
        for prefix in sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}):
            args += ["--ro-bind", str(prefix), str(prefix)]
        args += ["--bind", str(self.scratch), str(self.scratch),
                 "--bind", str(self.ipc_dir), str(self.ipc_dir),
                 "--chdir", str(self.scratch), "--hostname", "sandbox",
                 # ipykernel exits when its parent pid changes; inside a PID namespace it never matches, and
                 # --die-with-parent already ties the kernel's life to the grader's.
                 "--setenv", "JPY_PARENT_PID", "1"]
        return [*args, "--", *limited]

    def cleanup(self) -> None:
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
