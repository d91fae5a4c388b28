"""`grade doctor`, for real, on this machine and on machines made to lack a part (a PATH without bubblewrap,
a bubblewrap that cannot create namespaces): CI must be able to tell a complete sandbox from a missing one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def doctor(path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), "doctor"], capture_output=True, text=True,
                          env=env, timeout=120)


def tools_without(tmp_path: Path, missing: str) -> Path:
    """A bin folder holding the sandbox's tools except `missing`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bwrap", "prlimit", "setpriv", "sh", "true", "env", "unshare"):
        found = shutil.which(tool)
        if tool != missing and found:
            (folder / tool).symlink_to(found)
    return folder


def test_on_this_machine_the_sandbox_is_complete():
    """CI's machine has everything; .ci/run stops before the tests when this fails."""
    out = doctor()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "The sandbox is complete on this machine." in out.stdout


def test_without_bubblewrap_doctor_fails_and_says_how_to_fix_it(tmp_path):
    out = doctor(str(tools_without(tmp_path, "bwrap")))
    assert out.returncode == 1
    assert "MISSING  bubblewrap" in out.stdout and "install the Debian package bubblewrap" in out.stdout


def test_a_bubblewrap_that_cannot_create_namespaces_is_caught(tmp_path):
    folder = tools_without(tmp_path, "bwrap")
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    out = doctor(str(folder))
    assert out.returncode == 1
    assert "cannot create namespaces here" in out.stdout and "user namespaces" in out.stdout


@pytest.mark.root_only
def test_as_root_without_setpriv_doctor_fails(tmp_path):
    out = doctor(str(tools_without(tmp_path, "setpriv")))
    assert out.returncode == 1 and "MISSING  setpriv" in out.stdout
