"""The server's job runner: `--jobs` threads, each owning one job slot with a warm worker (gradekit.pool), taking
queued jobs from the database one after another. Grading is the engine's own path (`python -m gradekit.worker`,
`grade_notebook`, the results JSON), so a notebook checked here gets the result `grade check` gives it.

A slot keeps its worker while its next job is for the same assignment, and starts one for the other assignment
when it is not. A job whose worker dies is run again once (the worker's death may be the machine's doing: memory
pressure, a killed process); the second death ends it as an error, for the student and for staff. A notebook past
its wall-clock limit is a result at once: running it again would only cost the same time again.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from gradekit.batch import worker_limit
from gradekit.pool import PoolLimits, WarmWorker, WorkerFailed, WorkerTimedOut
from gradekit.progress import Step
from gradekit.results import SubmissionResult
from gradekit.server.course import Course
from gradekit.server.store import MAX_TRIES, JobRecord, Store

SERVER_FAULT = ("grading failed on the server's side, not yours; please try again later and tell your course staff "
                "if it happens again.")
DIED_TWICE = ("grading stopped twice while your notebook was being checked (its grader process died), so it was "
              "not tried again. This can be the server's doing, not yours: try again later, and tell your course "
              "staff if it happens again.")


@dataclass(frozen=True)
class Progress:
    """Where a job is, for the live page: its place in the queue, or the grading's current step."""

    state: str
    position: int = 0  # in the queue, 1 for next
    step: Step | None = None

    def describe(self) -> str:
        if self.state == "queued":
            return "queued: next to run" if self.position <= 1 else f"queued: {self.position - 1} ahead of yours"
        if self.state == "running":
            if self.step is None:
                return "starting: preparing a fresh kernel for your notebook"
            what = "running" if self.step.phase == "cell" else "grading"
            return f"{what} {self.step.label} ({self.step.index} of {self.step.total})"
        return {"done": "done", "error": "could not be graded"}.get(self.state, self.state)

    def to_dict(self) -> dict[str, object]:
        step = None if self.step is None else {"phase": self.step.phase, "index": self.step.index,
                                               "total": self.step.total, "label": self.step.label}
        return {"state": self.state, "position": self.position, "step": step, "text": self.describe()}


class Runner:
    def __init__(self, course: Course, store: Store, *, jobs: int = 1, sandbox: str = "auto"):
        self.course, self.store, self.sandbox = course, store, sandbox
        self.slots = max(1, jobs)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.claiming = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.workers: list[WarmWorker | None] = [None] * self.slots

    # ------------------------------------------------------------------ where things are kept

    def results_path(self, job_id: int) -> Path:
        return self.course.folder / "results" / f"{job_id}.json"

    def progress_path(self, job_id: int) -> Path:
        return self.course.folder / "progress" / f"{job_id}.json"

    def result(self, job: JobRecord) -> SubmissionResult | None:
        path = self.results_path(job.id)
        try:
            return SubmissionResult.read_json(path) if job.state in ("done", "error") else None
        except (OSError, ValueError, KeyError):
            return None

    def progress(self, job: JobRecord) -> Progress:
        if job.state == "queued":
            return Progress("queued", position=self.store.queue_position(job.id))
        if job.state == "running":
            try:
                step = Step(**json.loads(self.progress_path(job.id).read_text()))
            except (OSError, ValueError, TypeError):
                step = None
            return Progress("running", step=step)
        return Progress(job.state)

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        recovery = self.store.recover(DIED_TWICE)
        for job_id in recovery.failed:
            self._write_error(job_id, DIED_TWICE)
        if recovery.requeued:
            print(f"gradekit serve: re-running {len(recovery.requeued)} job(s) the last run left unfinished",
                  file=sys.stderr)
        (self.course.folder / "progress").mkdir(parents=True, exist_ok=True)
        for slot in range(self.slots):
            thread = threading.Thread(target=self._loop, args=(slot,), name=f"gradekit-slot-{slot}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        """Stop taking jobs; a job being graded goes back to the queue uncounted (the next start runs it)."""
        self.stopping.set()
        self.wake.set()
        for worker in self.workers:
            if worker is not None:
                worker.stop(kill=True)
        for thread in self.threads:
            thread.join(timeout=30)

    def _loop(self, slot: int) -> None:
        """One slot's life. Nothing a job does may end it: a slot that stopped would leave the queue unserved."""
        key: str | None = None
        while not self.stopping.is_set():
            try:
                with self.claiming:
                    job = self.store.claim()
            except Exception:  # noqa: BLE001 - the database busy or gone for a moment: try again shortly
                traceback.print_exc()
                self.stopping.wait(2)
                continue
            if job is None:
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            try:
                key = self._take(slot, key, job)
            except Exception:  # noqa: BLE001 - a bug of ours costs this job, said to the student, not the slot
                traceback.print_exc()
                with contextlib.suppress(Exception):
                    self._write_error(job.id, SERVER_FAULT)
                    self.store.fail(job.id, SERVER_FAULT)

    def _take(self, slot: int, key: str | None, job: JobRecord) -> str | None:
        """Grade `job` in the slot's worker, started anew when it is for another assignment; the slot's key after."""
        offering = self.course.offerings.get(job.assignment)
        if offering is None:
            self.store.fail(job.id, f"the course no longer offers {job.assignment}; tell your course staff")
            return key
        worker = self.workers[slot]
        mode = "batch" if job.kind == "grade" else "check"  # staff's grading runs every check, hidden included
        wanted = f"{job.assignment}:{mode}"
        if key != wanted or worker is None:
            if worker is not None:
                worker.stop()
            assignment = offering.assignment
            command = [sys.executable, "-m", "gradekit.worker", "--assignment", assignment.name, "--root",
                       str(assignment.root), "--sandbox", self.sandbox, "--mode", mode]
            worker = self.workers[slot] = WarmWorker(command, PoolLimits(per_notebook=worker_limit(assignment)))
        self._run(worker, job)
        return wanted

    def _run(self, worker: WarmWorker, job: JobRecord) -> None:
        out, progress = self.results_path(job.id), self.progress_path(job.id)
        try:
            worker.grade(self.course.folder / job.notebook, out, progress)
            result = SubmissionResult.read_json(out)
            self.store.finish(job.id, score=result.score, max_score=result.max_score, error=result.error)
        except WorkerTimedOut as exc:
            result = self._write_error(job.id, str(exc))
            self.store.finish(job.id, score=0, max_score=result.max_score, error=str(exc))
        except WorkerFailed as exc:
            if self.stopping.is_set():
                self.store.release(job.id, counted=False)
            elif job.tries >= MAX_TRIES:
                print(f"gradekit serve: job {job.id} failed twice: {exc}", file=sys.stderr)
                self._write_error(job.id, DIED_TWICE)
                self.store.fail(job.id, DIED_TWICE)
            else:
                self.store.release(job.id, counted=True)
                self.wake.set()
        except (OSError, ValueError, KeyError) as exc:  # the worker said done but left no readable result
            message = f"the grader left no readable result ({exc}); please tell your course staff"
            self._write_error(job.id, message)
            self.store.fail(job.id, message)
        finally:
            progress.unlink(missing_ok=True)

    def _write_error(self, job_id: int, message: str) -> SubmissionResult:
        """A result for a job that could not be graded: every question at 0 with the reason, as a batch's row."""
        job = self.store.job(job_id)
        assert job is not None
        assignment = self.course.offerings[job.assignment].assignment
        result = SubmissionResult(student=job.person, assignment=assignment.name, error=message,
                                  mode="batch" if job.kind == "grade" else "check",
                                  assignment_title=assignment.title, question_titles=assignment.question_titles)
        result.write_json(self.results_path(job_id))
        return result
