"""A real course server for tests: a course folder on disk, `grade roster invite` for its sign-in links, and
`grade serve` started as its own process on a free port (killed with SIGKILL when a test says so)."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nbformat

from toys import graders_folder

PROJECT = Path(__file__).resolve().parent.parent
STUDENTS = [f"s{i:02d}" for i in range(1, 11)]

TOY_GRADERS = {
    "test_q1.py": '''
        import os
        import time

        import pytest


        @pytest.mark.question("q1", points=2)
        def test_answer(submission):
            """The answer is 42"""
            answer = submission.get("answer")
            assert answer == 42, f"answer is {answer!r}; it should be 42"


        @pytest.mark.question("q1", points=1)
        def test_who(submission, record_property):
            """Says who wrote it"""
            who = submission.get("who")
            assert isinstance(who, str), "set `who` to your name"
            record_property("info", f"who={who}")


        @pytest.mark.question("q2", points=1)
        def test_behaves(submission):
            """Takes its time, or brings its grader down, when told to"""
            if submission.get("crash"):
                os._exit(3)
            time.sleep(float(submission.get("delay")))


        @pytest.mark.question("q2", points=1, hidden=True)
        def test_secret_xyzzy(submission):
            """The hidden xyzzy check"""
            assert submission.get("answer") == 42
    ''',
}


def toy_root(root: Path) -> Path:
    """A project with three toy assignments (toy, other, later): one kernel cell each, graded in about a second."""
    for name in ("toy", "other", "later"):
        folder = root / "assignments" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "assignment.toml").write_text(
            f'[assignment]\ntitle = "Toy {name}"\n\n[[questions]]\nid = "q1"\ntitle = "Q1 the answer"\n\n'
            '[[questions]]\nid = "q2"\ntitle = "Q2 behaviour"\n')
        graders = graders_folder(root, name)
        for file, text in TOY_GRADERS.items():
            (graders / file).write_text(textwrap.dedent(text))
        (root / "student_template").mkdir(exist_ok=True)
        nbformat.write(toy_notebook(name, "", answer="None"), root / "student_template" / f"{name}.ipynb")
    return root


def toy_notebook(assignment: str, who: str, *, answer: str = "42", delay: float = 0, crash: bool = False):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"answer = {answer}\nwho = {who!r}\ndelay = {delay}\ncrash = {crash}")])
    nb.metadata["gradekit"] = {"assignment": assignment}
    return nb


def toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return f'"{value}"' if isinstance(value, str) else str(value)


def course_folder(folder: Path, root: Path | str, assignments: list[dict], staff: bool = True,
                  names: dict[str, str] | None = None) -> Path:
    """course.toml and roster.csv: STUDENTS (named "Student sNN" unless `names` says otherwise), and a TA."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[course]", 'title = "Test course"', f'root = "{root}"', ""]
    for a in assignments:
        lines.append("[[assignments]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in a.items()]
        lines.append("")
    (folder / "course.toml").write_text("\n".join(lines))
    with (folder / "roster.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "section", "role"])
        for s in STUDENTS:
            w.writerow([s, (names or {}).get(s, f"Student {s}"), f"{s}@example.edu", "A", "student"])
        if staff:
            w.writerow(["ta1", "Tess TA", "ta1@example.edu", "", "ta"])
    return folder


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grade(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT / "grade.py"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


class CourseServer:
    """`grade serve --course FOLDER` on a free port; `tokens` are each person's sign-in token."""

    def __init__(self, folder: Path, jobs: int = 2):
        self.folder, self.jobs = folder, jobs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        invited = grade("roster", "invite", str(folder), "--base-url", self.url)
        assert invited.returncode == 0, invited.stderr
        with (folder / "invites.csv").open() as f:
            self.links = {row["id"]: row["link"] for row in csv.DictReader(f)}
        self.tokens = {pid: link.rsplit("/", 1)[1] for pid, link in self.links.items()}
        self.log = folder / "server.log"

    def start(self) -> CourseServer:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([sys.executable, str(PROJECT / "grade.py"), "serve", "--course",
                                          str(self.folder), "--port", str(self.port), "--jobs", str(self.jobs)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited: {self.log.read_text()[-3000:]}"
            try:
                httpx.get(self.url + "/", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer in 60 s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @contextmanager
    def client(self, person: str | None = None) -> Iterator[httpx.Client]:
        """A browser-like client: cookies kept, signed in as `person` through their link."""
        with httpx.Client(base_url=self.url, timeout=60) as client:
            if person is not None:
                reply = client.get(f"/signin/{self.tokens[person]}")
                assert reply.status_code == 303, reply.text
            yield client

    def api(self, person: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.tokens[person]}"})

    def wait(self, person: str, job_id: int, timeout: float = 180) -> dict:
        """The attempt once graded, as the JSON API gives it."""
        deadline = time.monotonic() + timeout
        with self.api(person) as api:
            while time.monotonic() < deadline:
                status = api.get(f"/api/attempts/{job_id}").json()
                if status["result"] is not None:
                    return status
                time.sleep(0.3)
        raise AssertionError(f"attempt {job_id} was not graded in {timeout} s: {self.log.read_text()[-3000:]}")
