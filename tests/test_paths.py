"""The paths a grading takes when something runs long or breaks, each taken for real: the whole-notebook time
limit, a student function that hangs when a grader calls it, the learning check's own time limit, a worker
process that crashes or runs past its wall-clock limit, a warm worker's recycling and its fresh torch
settings per notebook, and `--resume` over a damaged or half-written result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from gradekit.batch import BatchOptions, rerun_command, run_batch, worker_command
from gradekit.config import Assignment, load_assignment
from gradekit.kernel import KernelSession
from gradekit.pool import PoolLimits, WorkerPool
from gradekit.proxy import Submission, SubmissionTimeout
from gradekit.results import SubmissionResult
from gradekit.runner import GraderError, grade_notebook
from gradekit.sandbox import Sandbox

from toys import graders_folder

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
RNN_SOLUTION = ROOT / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb"


@contextlib.contextmanager
def kernel(tmp_path: Path, **limits):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Sandbox(scratch=scratch) as sandbox, KernelSession(scratch, sandbox, **limits) as session:
        yield session


# ------------------------------------------------------------------------------------------ time limits


def test_the_whole_notebook_limit_stops_at_the_cell_it_reaches(tmp_path):
    with kernel(tmp_path, cell_timeout=30, notebook_timeout=4) as session:
        report = session.run_notebook([(1, "import time; time.sleep(1.5)"), (2, "time.sleep(1.5)"),
                                       (3, "time.sleep(1.5)"), (4, "never = 1")])
    assert report.aborted is not None and report.aborted.startswith("the notebook ran past its 4 s limit; cells "
                                                                     "from cell 3 on were not run")
    assert report.cells_run == 2


def test_a_function_that_hangs_when_a_grader_calls_it_costs_that_call(tmp_path):
    code = "import time\ndef slow():\n    time.sleep(600)\n\ndef fast():\n    return 'fast'"
    with kernel(tmp_path, cell_timeout=30) as session:
        session.run_notebook([(1, code)])
        submission = Submission(session)
        with pytest.raises(SubmissionTimeout, match=r"slow\(\) ran past its 2 s limit"):
            submission.call("slow", timeout=2)
        assert submission.call("fast") == "fast"  # interrupted, the same kernel answers again


def test_the_learning_check_has_its_own_time_limit(tmp_path):
    """A train that is correct but far too slow fails the learning check with a time-limit message; the probe
    of train and evaluate (a few batches) still passes."""
    nb = nbformat.read(RNN_SOLUTION, as_version=4)
    cell = next(c for c in nb.cells if "def train(" in c.source)
    cell.source = "import time\n" + cell.source.replace("    for batch in iterator:\n",
                                                        "    for batch in iterator:\n        time.sleep(0.3)\n", 1)
    assert "time.sleep(0.3)" in cell.source
    assignment = load_assignment("rnn_sentiment", ROOT)
    assignment = dataclasses.replace(assignment, settings={**assignment.settings, "learn_timeout": 6})
    notebook = tmp_path / "slow_train.ipynb"
    nbformat.write(nb, notebook)
    result = grade_notebook(notebook, assignment)
    learning = next(q for q in result.questions() if q.id == "accuracy_threshold")
    assert learning.points == 0
    assert any("training RNNClassifier with your train ran past its 6 s limit" in m for m in learning.messages), \
        learning.messages
    assert result.question_scores()["build_vocab"] == 6  # nothing else is charged for the learning check's time


def test_a_course_side_failure_before_the_kernel_starts_leaves_no_folder_behind(tmp_path, monkeypatch):
    """The sandbox's IPC and inbox folders are the runner's to remove, whatever fails before the kernel runs."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def broken(self, workdir, data):
        raise GraderError("the training data is missing from the course's data folder")

    monkeypatch.setattr(Assignment, "prepare_workspace", broken)
    result = grade_notebook(RNN_SOLUTION, load_assignment("rnn_sentiment", ROOT))
    assert "the training data is missing" in (result.error or "")
    assert sorted(p.name for p in temp.iterdir()) == []


# ------------------------------------------------------------------------------------ the batch's workers


def fake_project(tmp_path: Path, conftest: str) -> Path:
    """A project with one assignment whose graders' conftest does `conftest` when it is imported."""
    root = tmp_path / "project"
    (root / "assignments" / "toy").mkdir(parents=True)
    (root / "assignments" / "toy" / "assignment.toml").write_text(
        '[assignment]\ntitle = "Toy"\n\n[[questions]]\nid = "q1"\ntitle = "Q1"\n')
    graders = graders_folder(root, "toy")
    (graders / "conftest.py").write_text(textwrap.dedent(conftest))
    (graders / "test_q1.py").write_text("import pytest\n\n@pytest.mark.question('q1', points=1)\ndef test_x():\n"
                                        "    pass\n")
    return root


def submissions(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in names:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), folder / f"{name}.ipynb")
    return folder


def test_a_worker_that_crashes_costs_its_own_row(tmp_path):
    root = fake_project(tmp_path, "import os\nos._exit(3)\n")
    results = run_batch(submissions(tmp_path, "ann"), load_assignment("toy", root), tmp_path / "out",
                        BatchOptions(quiet=True))
    assert [r.student for r in results] == ["ann"]
    assert results[0].error.startswith("the grader process for this notebook failed")
    assert (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1].startswith("ann,,0,not graded,")


def test_a_worker_past_its_wall_clock_limit_is_stopped(tmp_path):
    root = fake_project(tmp_path, "import time\ntime.sleep(600)\n")
    results = run_batch(submissions(tmp_path, "bob"), load_assignment("toy", root), tmp_path / "out",
                        BatchOptions(quiet=True, worker_timeout=5))
    assert results[0].error == "grading this notebook took longer than 5 s and was stopped"


def test_resume_regrades_a_damaged_result_and_ignores_a_half_written_one(tmp_path):
    root = fake_project(tmp_path, "")
    assignment = load_assignment("toy", root)
    folder, out = submissions(tmp_path, "cat", "dan"), tmp_path / "out"
    run_batch(folder, assignment, out, BatchOptions(quiet=True))
    good = (out / "results" / "dan.json").read_text()
    (out / "results" / "cat.json").write_text(good[: len(good) // 2])  # damaged: a truncated file
    (out / "results" / ".dan.json.x1y2.tmp").write_text("{")  # what a kill during an atomic write leaves
    results = run_batch(folder, assignment, out, BatchOptions(quiet=True, resume=True))
    assert [r.student for r in results] == ["cat", "dan"] and all(r.score == 1 for r in results)
    assert json.loads((out / "results" / "cat.json").read_text())["student"] == "cat"
    assert (out / "results" / "dan.json").read_text() == good  # kept, not regraded
    assert SubmissionResult.read_json(out / "results" / "cat.json").checks[0].passed


def notebooks(tmp_path: Path, **sources: str) -> Path:
    """A submissions folder: one notebook per student, its one cell `source`."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, source in sources.items():
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), folder / f"{name}.ipynb")
    return folder


CRASHES_ON_ITS_NOTEBOOK = """\
import os
import pytest

@pytest.fixture(autouse=True)
def crash_for_the_crasher(notebook):
    if "crash" in notebook.cells[0].source:
        os._exit(3)
"""


def test_a_crash_costs_its_notebook_and_the_slots_next_notebook_gets_a_new_worker(tmp_path):
    root = fake_project(tmp_path, CRASHES_ON_ITS_NOTEBOOK)
    folder = notebooks(tmp_path, ann="x = 1", bob="crash = 1", cat="x = 1")
    results = run_batch(folder, load_assignment("toy", root), tmp_path / "out", BatchOptions(quiet=True, jobs=1))
    assert [(r.student, r.score) for r in results] == [("ann", 1), ("bob", 0), ("cat", 1)]
    assert results[1].error.startswith("the grader process for this notebook failed")
    assert results[0].error is None and results[2].error is None


@pytest.mark.parametrize("recycle_after, started", [(40, 1), (2, 2), (1, 3)])
def test_one_warm_worker_grades_notebook_after_notebook_until_it_is_recycled(tmp_path, recycle_after, started):
    root = fake_project(tmp_path, "")
    assignment = load_assignment("toy", root)
    folder, out = notebooks(tmp_path, ann="x = 1", bob="x = 2", cat="x = 3"), tmp_path / "out"
    (out / "results").mkdir(parents=True)
    limits = PoolLimits(per_notebook=300, recycle_after=recycle_after)
    with WorkerPool(worker_command(assignment, BatchOptions()), 1, limits) as pool:
        for name in ("ann", "bob", "cat"):
            pool.grade(folder / f"{name}.ipynb", out / "results" / f"{name}.json")
        assert pool.started == started
    assert [SubmissionResult.read_json(out / "results" / f"{n}.json").score for n in ("ann", "bob", "cat")] == [1] * 3


LEAVES_TORCH_CHANGED = """\
import pytest
import torch

@pytest.fixture(autouse=True)
def torch_as_a_new_process_has_it():
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    torch.set_grad_enabled(False)  # as a grader that fails inside its own no_grad() leaves it
    torch.set_default_dtype(torch.float64)
"""


def test_a_warm_worker_gives_each_notebook_torch_as_a_new_process_has_it(tmp_path):
    root = fake_project(tmp_path, LEAVES_TORCH_CHANGED)
    folder = notebooks(tmp_path, ann="x = 1", bob="x = 2")
    results = run_batch(folder, load_assignment("toy", root), tmp_path / "out", BatchOptions(quiet=True, jobs=1))
    assert [(r.student, r.score, r.error) for r in results] == [("ann", 1, None), ("bob", 1, None)]


def test_the_progress_line_counts_what_the_notebook_cost_the_batch(tmp_path, capsys):
    """The seconds printed per notebook are the batch's wall clock, the worker's start included, not only the
    time the worker measured inside its grading."""
    root = fake_project(tmp_path, "")
    results = run_batch(notebooks(tmp_path, ann="x = 1"), load_assignment("toy", root), tmp_path / "out",
                        BatchOptions(jobs=1))
    line = next(x for x in capsys.readouterr().err.splitlines() if "ann: 1/1" in x)
    printed = float(line.rsplit("(", 1)[1].split(" s)")[0])
    assert printed > results[0].duration_s + 0.5, (line, results[0].duration_s)  # starting Python and torch


@pytest.mark.parametrize("folder, out, shown", [
    ("{cwd}/examples/subs", "reports/hw", "grade batch examples/subs --assignment toy --out reports/hw --resume"),
    ("subs", "{cwd}/out", "grade batch subs --assignment toy --out out --resume"),
    ("/elsewhere/subs", "out", "grade batch /elsewhere/subs --assignment toy --out out --resume"),
])
def test_the_resume_command_names_both_folders_the_same_way(tmp_path, monkeypatch, folder, out, shown):
    """Relative to the current folder when inside it, else absolute, whichever way each was given."""
    monkeypatch.chdir(tmp_path)
    assignment = load_assignment("toy", fake_project(tmp_path, ""))
    command = rerun_command(Path(folder.format(cwd=tmp_path)), assignment, Path(out.format(cwd=tmp_path)),
                            BatchOptions())
    assert command == shown
