"""A uid of its own for each running kernel.

RLIMIT_NPROC counts every process and thread of a uid on the whole machine. Were all kernels one uid (say
"nobody"), a fork bomb in one student's notebook would use up the limit for every other kernel running at the
same time, and an honest notebook graded beside it would fail to start a thread. So each kernel leases a uid of
its own from a block no account on the host uses; the lease is an flock on a file only root can reach, so it
is released even when the grader dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

FIRST_UID = 720_000  # above the usual /etc/subuid blocks (100000 + 65536 per user) and below 2**31
COUNT = 1024


@dataclass(frozen=True)
class UidLease:
    uid: int
    fd: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)  # closing the file drops the flock


def _lock_dir() -> Path:
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        folder = base / "gradekit-uids"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            continue
        info = folder.lstat()
        if info.st_uid == os.geteuid() and not folder.is_symlink() and info.st_mode & 0o077 == 0:
            return folder
    raise RuntimeError("no private folder for kernel uid leases (/run/gradekit-uids or $TMPDIR/gradekit-uids)")


def lease() -> UidLease:
    """The first free uid of the block, held until `release()` (or until this process exits)."""
    folder = _lock_dir()
    for uid in range(FIRST_UID, FIRST_UID + COUNT):
        fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return UidLease(uid, fd)
    raise RuntimeError(f"all {COUNT} kernel uids are in use: too many kernels run at once on this machine")
