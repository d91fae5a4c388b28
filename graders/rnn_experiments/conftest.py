"""Fixtures for the rnn_experiments graders: the reference, the data, the report as read from the notebook, and
the re-run of two of the study's configurations that the code and report questions share.

`submission`, `assignment`, `data_path`, `notebook` and the per-run randomness (`seed`, `gen`, `pyrng`) come from
gradekit's pytest plugin.
"""

import pytest

import reference.rnn_experiments as ref
from gradekit.proxy import SubmissionError

from . import classifiers, rerun, study_report, workspace


@pytest.fixture(scope="session")
def reference():
    return ref


@pytest.fixture(scope="session")
def splits(data_path):
    return workspace.splits(data_path)


@pytest.fixture(scope="session")
def pool(splits):
    """The reviews the notebook reads."""
    return workspace.pool(splits)


@pytest.fixture(scope="session")
def held_out(splits):
    return workspace.held_out(splits)


@pytest.fixture(scope="session")
def ref_vocab(pool) -> dict[str, int]:
    return ref.build_vocab([r.text for r in pool], ref.HyperParams.MIN_FREQ, ref.HyperParams())


@pytest.fixture(scope="session")
def table(notebook) -> study_report.Table:
    """The student's results table, read from the notebook file (raises a ReportProblem saying what is wrong)."""
    return study_report.read_table(notebook)


@pytest.fixture(scope="session")
def reruns(submission, assignment) -> dict[str, rerun.History]:
    """The study's SGD and Adam configurations, re-run once per grading with the student's
    train_and_test_model_with_hparams; a run that fails fails every check that needs it, with its reason."""
    return {optimizer: rerun.run(submission, assignment.settings, optimizer) for optimizer in rerun.OPTIMIZERS}


@pytest.fixture(scope="session")
def built(submission):
    """built("GRUClassifier"): returns when the class can be built on a small fixed configuration (with
    runs=True: and has an embedding table and runs once), else raises the one reason it cannot, the same for
    every check that calls it."""
    failures: dict[tuple[str, bool], SubmissionError | None] = {}

    def check(name: str, runs: bool = False) -> None:
        key = (name, runs)
        if key not in failures:
            try:
                classifiers.constructible(submission, name, forward=runs)
                failures[key] = None
            except SubmissionError as exc:
                failures[key] = exc
        if failures[key] is not None:
            raise failures[key]

    return check
