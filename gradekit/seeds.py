"""The seeds of one grading: secret to the student, the same every time the same notebook is graded.

Graders draw their inputs (the plugin's `seed`) and the learning check's held-out set (`held_out`) at grading
time, so that no submission can be tuned to what it will be checked on. Drawn fresh per run, a verdict near an
edge (84.8% against an 85% threshold on 600 drawn reviews) could flip when a TA grades the same notebook again.
Derived instead from a course secret and the notebook's bytes, the draws stay unpredictable to whoever lacks
the secret, and re-grading an unchanged notebook reproduces every verdict.

The secret is `$GRADEKIT_SECRET` when set, else a file made on first use (`$GRADEKIT_STATE`, default
`~/.local/state/gradekit`, readable by its owner only). The kernel never sees either: its environment is a
short allow-list (Sandbox.kernel_env), it runs as another uid, and the grader's home is not in its file tree.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Seeds:
    cases: int  # the plugin's `seed`: its draws enter the kernel as inputs
    held_out: int  # the held-out set's: never sent to the kernel (see shared_checks.held_out_seed)


def state_dir() -> Path:
    return Path(os.environ.get("GRADEKIT_STATE") or Path.home() / ".local" / "state" / "gradekit")


def course_secret() -> bytes:
    """$GRADEKIT_SECRET, else the secret file (created on first use). Where neither can be had (a read-only
    home), a secret for this process only: draws are then still secret, but not reproducible across runs."""
    env = os.environ.get("GRADEKIT_SECRET")
    if env:
        return env.encode()
    path = state_dir() / "secret"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError:
        return _PROCESS_SECRET
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another grader made it first
        return path.read_bytes()
    except OSError:
        return _PROCESS_SECRET
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_hex(32).encode())
    return path.read_bytes()


_PROCESS_SECRET = secrets.token_hex(32).encode()


def for_notebook(content: bytes, secret: bytes | None = None) -> Seeds:
    """The seeds of grading a notebook whose file holds `content`."""
    key = course_secret() if secret is None else secret
    digest = hashlib.sha256(content).digest()

    def derive(purpose: bytes, bits: int) -> int:
        mac = hmac.new(key, purpose + b"\0" + digest, hashlib.sha256).digest()
        return int.from_bytes(mac[:8], "big") >> (64 - bits)

    # The held-out seed sits far above the small seeds the bundled data is generated from.
    return Seeds(cases=derive(b"cases", 31), held_out=2**32 + derive(b"held-out", 62))
