"""`grade doctor`: what this machine can do to contain a student's kernel, each part tried for real.

A grading host that cannot sandbox still grades (with resource limits only, and every report says so), which
is right for a laptop and wrong for a course's server or CI: there a missing sandbox must stop the run, not
pass quietly. `grade doctor` says which protection is missing and how to get it; it exits 1 when one that
the sandbox needs is missing, so `.ci/run` and a server's start-up can refuse to go on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gradekit.cgroups import MemoryCgroup
from gradekit.sandbox import GIB, Sandbox, bwrap_available
from gradekit.seccomp import shared_memory_filter


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # the sandbox's guarantees need it (else: a weaker fallback is in force)


def examine() -> list[Finding]:
    findings = [_tool("prlimit", "resource limits (address space, CPU, files, processes)", "util-linux")]
    if shutil.which("bwrap") is None:
        findings.append(Finding("bubblewrap", False, "not installed",
                                "install the Debian package bubblewrap (setup.sh does, as root)"))
    elif not bwrap_available():
        findings.append(Finding(
            "namespaces", False, "bubblewrap is installed but cannot create namespaces here",
            "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 or "
            "user.max_user_namespaces > 0), or run in a container whose seccomp profile permits them "
            "(containers/bubblewrap#505)"))
    else:
        findings.append(Finding("namespaces", True, "bubblewrap creates mount, network and PID namespaces"))
        findings.append(_isolation())
    if os.geteuid() == 0:
        findings.append(_tool("setpriv", "dropping the kernel to an unprivileged uid", "util-linux"))
    cgroup = MemoryCgroup.create(GIB)
    if cgroup is not None:
        cgroup.remove()
        findings.append(Finding("memory cgroup", True, f"a memory limit per kernel ({cgroup.label})"))
    else:
        seccomp = shared_memory_filter() is not None and bwrap_available()
        findings.append(Finding(
            "memory cgroup", False,
            "no memory cgroup can be made here" + ("; shared memory is refused by seccomp instead" if seccomp
                                                   else "; only the address-space limit bounds memory"),
            "run as root with the v1 memory controller mounted, or delegate cgroup v2's memory controller to "
            "this user (systemd: Delegate=memory)", required=not seccomp))
    return findings


def _tool(name: str, purpose: str, package: str) -> Finding:
    path = shutil.which(name)
    return Finding(name, path is not None, f"{purpose}: {path or 'not found'}",
                   f"install the Debian package {package}")


def _isolation() -> Finding:
    with tempfile.TemporaryDirectory() as scratch:
        sandbox = Sandbox(scratch=Path(scratch), mode="on", memory_guard="off")
        try:
            isolation = sandbox.isolation
        finally:
            sandbox.cleanup()
    if isolation == "caps":
        return Finding("unprivileged uid", False, "the kernel would run as root without capabilities (the "
                       "interpreter is not readable by other users), so RLIMIT_NPROC cannot stop a fork bomb",
                       "put the virtual environment where other users can read it (not in a 0700 folder)")
    what = {"uid": "each kernel runs as an unprivileged uid of its own, with no capabilities",
            "user": "the kernel runs as this user inside a user namespace"}[isolation]
    return Finding("unprivileged uid", True, what)


def report(findings: list[Finding]) -> tuple[str, bool]:
    """The table a person reads, and whether every required protection is there."""
    lines = []
    for f in findings:
        mark = "ok " if f.ok else ("MISSING" if f.required else "weaker")
        lines.append(f"{mark:8} {f.what:18} {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"{'':8} {'':18} fix: {f.fix}")
    ready = all(f.ok or not f.required for f in findings)
    lines.append("\nThe sandbox is complete on this machine." if ready else
                 "\nThe sandbox is NOT complete on this machine: kernels would run with weaker protection.")
    return "\n".join(lines), ready
