"""The committed example submissions are exactly what tools/make_examples.py writes from today's solutions: a
change to a solution that is not carried into the examples (or an example edited by hand) fails here, and the
end-to-end tests never grade stale notebooks."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import make_examples  # noqa: E402


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_committed_examples_are_what_make_examples_writes(tmp_path, capsys):
    make_examples.write_all(tmp_path)
    written, committed = files(tmp_path), files(ROOT / "examples" / "submissions")
    assert sorted(written) == sorted(committed), "run `python tools/make_examples.py` and commit what it writes"
    stale = [name for name in written if written[name] != committed[name]]
    assert not stale, f"stale examples (run `python tools/make_examples.py`): {stale}"
