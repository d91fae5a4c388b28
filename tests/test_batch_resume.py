"""Nothing is lost: a batch killed mid-way (SIGKILL to its whole process group: the batch, its workers and
their kernels) and run again with --resume finishes the rest and writes the same gradebook as a batch that
was never interrupted. Real command line, real workers, real kernels."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions" / "rnn_sentiment"


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    for student, example in [("alice", "solution"), ("bob", "binary_accuracy_no_sigmoid"), ("carol", "template")]:
        shutil.copy(EXAMPLES / f"{example}.ipynb", folder / f"{student}.ipynb")
    (folder / "dave.ipynb").write_text((EXAMPLES / "solution.ipynb").read_text()[:3000])  # truncated JSON
    return folder


def batch(submissions: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "grade.py"), "batch", str(submissions), "--assignment", "rnn_sentiment",
            "--out", str(out), "--jobs", "1", *extra]


def finished(run: subprocess.CompletedProcess) -> None:
    """The batch ran to its end: exit 1, since dave's truncated notebook could not be graded, and it says so."""
    assert run.returncode == 1, run.stderr[-2000:]
    assert b"1 could not be graded (dave" in run.stdout, run.stdout[-2000:]


def gradebook(out: Path) -> list[dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def uninterrupted(submissions, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("uninterrupted")
    finished(subprocess.run(batch(submissions, out), capture_output=True, timeout=900, cwd=ROOT))
    return gradebook(out)


@pytest.fixture(scope="module")
def killed_then_resumed(submissions, tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """The batch is killed as soon as the first result is written (one job: the others are still to come)."""
    out = tmp_path_factory.mktemp("killed")
    proc = subprocess.Popen(batch(submissions, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list((out / "results").glob("*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    assert 0 < len(kept) < 4, f"the kill came too late or too early to test anything: {sorted(kept)}"
    assert not (out / "gradebook.csv").exists()
    finished(subprocess.run(batch(submissions, out, "--resume"), capture_output=True, timeout=900, cwd=ROOT))
    return out, kept


def test_resume_gives_the_same_gradebook_as_an_uninterrupted_run(uninterrupted, killed_then_resumed):
    out, _ = killed_then_resumed
    assert gradebook(out) == uninterrupted
    assert [row["student"] for row in uninterrupted] == ["alice", "bob", "carol", "dave"]


def test_resume_keeps_the_results_written_before_the_kill(killed_then_resumed):
    out, kept = killed_then_resumed
    assert {name: (out / "results" / name).stat().st_mtime_ns for name in kept} == kept


def test_no_half_written_result_is_left_behind(killed_then_resumed):
    out, _ = killed_then_resumed
    assert sorted(p.name for p in (out / "results").iterdir()) == [f"{s}.json" for s in ("alice", "bob", "carol",
                                                                                         "dave")]
