"""The contract between the engine and an assignment's graders/<name>/workspace.py (gradekit.config.WorkspaceHooks):
the hooks it defines are used, the ones it leaves out have their defaults, and the module is imported once."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradekit.config import Assignment, ConfigError, Question, WorkspaceHooks, workspace_hooks

from toys import graders_folder

WORKSPACE = '''
from pathlib import Path

IMPORTS = Path(__file__).with_name("imports.txt")
IMPORTS.write_text(IMPORTS.read_text() + "x" if IMPORTS.exists() else "x")


def prepare(workdir, data):
    (workdir / "train.csv").write_text("review,sentiment\\n")


def readable(data):
    return ["/opt/models"]


def helper():  # a function of the graders' own, not a hook
    return 1
'''


def assignment(root: Path, name: str, workspace: str | None) -> Assignment:
    graders = graders_folder(root, name)
    if workspace is not None:
        (graders / "workspace.py").write_text(workspace)
    return Assignment(name=name, title=name, root=root, notebook="x.ipynb", questions=[Question("q", "q")])


def test_the_hooks_a_workspace_defines_are_used_and_the_rest_default(tmp_path):
    a = assignment(tmp_path, "defines_two", WORKSPACE)
    a.prepare_workspace(tmp_path, None)
    assert (tmp_path / "train.csv").exists()
    assert a.readable_paths(None) == [Path("/opt/models")]
    assert a.hooks.setup_values(None) == {}
    with pytest.raises(ConfigError, match="does not take --data"):
        a.validate_data(tmp_path)


def test_the_workspace_is_imported_once(tmp_path):
    a = assignment(tmp_path, "imported_once", WORKSPACE)
    a.prepare_workspace(tmp_path, None)
    a.readable_paths(None)
    a.setup_code(None)
    assert (a.graders / "imports.txt").read_text() == "x"


def test_an_assignment_without_a_workspace_has_every_default(tmp_path):
    a = assignment(tmp_path, "no_workspace", None)
    assert workspace_hooks(a) == WorkspaceHooks()
    a.prepare_workspace(tmp_path, None)
    assert a.readable_paths(None) == []
