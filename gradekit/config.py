"""Assignments: where they live and what their `assignment.toml` says.

A question's whole story is in three places with the same name: `assignments/<name>/` (solution notebook
and this config), `reference/<topic>.py`, and `graders/<name>/`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any


class ConfigError(ValueError):
    pass


def project_root() -> Path:
    """The folder holding assignments/ and graders/: $GRADEKIT_ROOT, else the nearest such folder upward from
    the working directory, else the checkout this package was installed from."""
    env = os.environ.get("GRADEKIT_ROOT")
    if env:
        return Path(env).resolve()
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "assignments").is_dir() and (folder / "graders").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's names


@dataclass
class Question:
    id: str
    title: str
    visibility: str | None = None  # for students, as Gradescope names it; None: hidden checks hidden, others visible


@dataclass
class Assignment:
    name: str
    title: str
    root: Path
    notebook: str
    questions: list[Question]
    cell_timeout: float = 60
    notebook_timeout: float = 600
    call_timeout: float = 60
    skip_tags: tuple[str, ...] = ("skip-grading",)
    replace_tags: tuple[str, ...] = ("download",)
    replace_patterns: tuple[str, ...] = ()
    setup_file: str | None = None
    memory_limit: int = 4 * 1024**3  # bytes the kernel may hold (its memory cgroup), [execution] memory_gib
    settings: dict[str, Any] = field(default_factory=dict)  # assignment-specific: thresholds, budgets

    @property
    def folder(self) -> Path:
        return self.root / "assignments" / self.name

    @property
    def graders(self) -> Path:
        return self.root / "graders" / self.name

    @property
    def solution_path(self) -> Path:
        return self.folder / self.notebook

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def question_titles(self) -> dict[str, str]:
        return {q.id: q.title for q in self.questions}

    def visibility(self, question: str, hidden: bool) -> str:
        """When students may see a check's result: its question's `visibility` in assignment.toml, else "hidden"
        for a hidden check and "visible" for a public one."""
        chosen = next((q.visibility for q in self.questions if q.id == question), None)
        return chosen or ("hidden" if hidden else "visible")

    def setup_code(self, data: Path | None = None) -> str:
        """Code run in the kernel before the student's cells (offline models, seeds, thread counts).

        Values only the host can decide (which local BERT folder to load, say) come from the workspace hook's
        `setup_values(data)` and are written as plain assignments above the assignment's set-up file."""
        if not self.setup_file:
            return ""
        lines = [f"{name} = {value!r}" for name, value in self.hooks.setup_values(data).items()]
        return "\n".join([*lines, (self.folder / self.setup_file).read_text()])

    @property
    def hooks(self) -> WorkspaceHooks:
        return workspace_hooks(self)

    def readable_paths(self, data: Path | None) -> list[Path]:
        """Host folders the kernel may read beyond the system and the interpreter (a local model cache). The
        sandbox mounts nothing else of the host."""
        return [Path(p) for p in self.hooks.readable(data)]

    def prepare_workspace(self, workdir: Path, data: Path | None) -> None:
        """Let the assignment put what the notebook may read (training data) into the kernel's scratch
        folder. Held-out labels never go there."""
        self.hooks.prepare(Path(workdir), data)

    def validate_data(self, data: Path) -> None:
        """Fail once, before a batch starts, when --data does not hold what this assignment reads
        (raises the hook's own error, whose message says what was expected)."""
        if self.hooks.splits is None:
            raise ConfigError(f"assignment {self.name} does not take --data")
        self.hooks.splits(Path(data))


@dataclass(frozen=True)
class WorkspaceHooks:
    """The contract between the engine and an assignment's `graders/<name>/workspace.py`: the host-side hooks it
    may define (trusted code; it runs on the host, never in the kernel), each with what it is for. A hook the
    module leaves out has the default here; a function of another name is the graders' own business."""

    # prepare(workdir, data): put what the notebook may read (training data) into the kernel's scratch folder
    prepare: Callable[[Path, Path | None], None] = lambda workdir, data: None
    # splits(data): read --data, raising an error that says what was expected; None: the assignment takes no --data
    splits: Callable[[Path], Any] | None = None
    # setup_values(data): {name: value} written above the set-up file (values only the host can decide)
    setup_values: Callable[[Path | None], dict[str, Any]] = lambda data: {}
    # readable(data): host folders the sandboxed kernel may read (a local model cache)
    readable: Callable[[Path | None], list[Path]] = lambda data: []


HOOK_NAMES = tuple(WorkspaceHooks.__dataclass_fields__)


def root_package(root: Path, name: str) -> ModuleType:
    """The package `name` (`graders`, `reference`) of the course root `root`, imported from that folder whatever
    sys.path holds, so that graders import `reference.<topic>` and their own modules (`from . import workspace`)
    without a conftest touching sys.path. A package of that name imported earlier from another root is dropped
    with its submodules: graded one after the other in one process, each root answers for itself."""
    folder = (root / name).resolve()
    loaded = sys.modules.get(name)
    if loaded is not None:
        if [Path(p).resolve() for p in getattr(loaded, "__path__", [])] == [folder]:
            return loaded
        for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
            del sys.modules[key]
    init = folder / "__init__.py"
    if not init.is_file():
        raise ConfigError(f"{folder} is not a package: create an empty {init} (README, Layout)")
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def graders_package(assignment: Assignment) -> ModuleType:
    """`graders.<assignment>`, the package pytest collects the checks from (its --import-mode=importlib finds
    the same modules in sys.modules by the same names, so each module is imported once per process, one way)."""
    if (assignment.root / "reference" / "__init__.py").is_file():
        root_package(assignment.root, "reference")
    root_package(assignment.root, "graders")
    if not (assignment.graders / "__init__.py").is_file():
        raise ConfigError(f"{assignment.graders} is not a package: create an empty "
                          f"{assignment.graders / '__init__.py'} (README, Layout)")
    return importlib.import_module(f"graders.{assignment.name}")


def graders_module(assignment: Assignment, module: str) -> ModuleType:
    """graders/<assignment>/<module>.py, the same module object the graders use (tests, benchmarks and tools
    read the learning budget or the drawn cases from it)."""
    graders_package(assignment)
    return importlib.import_module(f"graders.{assignment.name}.{module}")


def workspace_hooks(assignment: Assignment) -> WorkspaceHooks:
    """The hooks `graders/<name>/workspace.py` defines (imported once per process: it reads data files)."""
    if not (assignment.graders / "workspace.py").exists():
        return WorkspaceHooks()
    module = graders_module(assignment, "workspace")
    return WorkspaceHooks(**{name: vars(module)[name] for name in HOOK_NAMES if callable(vars(module).get(name))})


def load_assignment(name: str, root: Path | None = None) -> Assignment:
    root = Path(root) if root else project_root()
    path = root / "assignments" / name / "assignment.toml"
    if not path.exists():
        known = ", ".join(list_assignments(root)) or "none"
        raise ConfigError(f"unknown assignment {name!r} (known: {known})")
    data = tomllib.loads(path.read_text())
    meta = data.get("assignment", {})
    execution = data.get("execution", {})
    questions = [Question(q["id"], q.get("title", q["id"]), q.get("visibility")) for q in data.get("questions", [])]
    for q in questions:
        if q.visibility is not None and q.visibility not in VISIBILITIES:
            raise ConfigError(f"{path}: question {q.id}'s visibility is one of {', '.join(VISIBILITIES)}, "
                              f"not {q.visibility!r}")
    if not questions:
        raise ConfigError(f"{path}: no [[questions]]")
    return Assignment(
        name=name,
        title=meta.get("title", name),
        root=root,
        notebook=meta.get("notebook", f"{name}.ipynb"),
        questions=questions,
        cell_timeout=float(execution.get("cell_timeout", 60)),
        notebook_timeout=float(execution.get("notebook_timeout", 600)),
        call_timeout=float(execution.get("call_timeout", 60)),
        skip_tags=tuple(execution.get("skip_tags", ["skip-grading"])),
        replace_tags=tuple(execution.get("replace_tags", ["download"])),
        replace_patterns=tuple(execution.get("replace_patterns", [])),
        setup_file=execution.get("setup"),
        memory_limit=int(float(execution.get("memory_gib", 4)) * 1024**3),
        settings=data.get("settings", {}),
    )


def list_assignments(root: Path | None = None) -> list[str]:
    root = Path(root) if root else project_root()
    folder = root / "assignments"
    return sorted(p.parent.name for p in folder.glob("*/assignment.toml")) if folder.is_dir() else []
