"""Toy assignments for the engine's tests: a course root with `graders/<name>/` laid out as the engine expects
(packages, as the bundled graders are: `graders.<name>` is what pytest collects)."""

from __future__ import annotations

from pathlib import Path


def graders_folder(root: Path, name: str) -> Path:
    """root/graders/<name>/, made a package (with the `graders` package around it); returned for the test files."""
    folder = root / "graders" / name
    folder.mkdir(parents=True, exist_ok=True)
    for package in (folder.parent, folder):
        (package / "__init__.py").touch()
    return folder
