"""Time `grade similarity` on a generated class of rnn_sentiment notebooks (prints seconds; no timed assert).

Each generated student answers every question with one of three written solutions (the reference and the two
independent ones in tests/similarity_corpus.py), picked at random per question, and is then disguised (names,
comments, formatting, cell order), so every notebook is different text; one in twenty is a disguised copy of
another student. Wall and CPU seconds are both printed: on a shared machine the CPU figure is the one that
shows the scaling. Each student also gets a few statements of their own (`_trace = <number>`), so that two
students who picked the same written solution differ as real students do. Run:

    .venv/bin/python benchmarks/bench_similarity.py            # 100, 300 and 1000 notebooks
    .venv/bin/python benchmarks/bench_similarity.py 300
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import similarity_corpus as corpus  # noqa: E402

from gradekit.config import load_assignment  # noqa: E402
from gradekit.similarity import compare, write_report  # noqa: E402


def variants() -> list[nbformat.NotebookNode]:
    return [corpus.example("solution"), corpus.fill_template(corpus.INDEPENDENT_GATES),
            corpus.fill_template(corpus.INDEPENDENT_SLICES)]


def generate(n: int, out: Path, seed: int = 0, copy_every: int = 20) -> list[tuple[str, str]]:
    """Write n notebooks into out; returns the planted (copy, source) pairs."""
    rng = random.Random(seed)
    sources = variants()
    answer_cells = [i for i, c in enumerate(sources[0].cells) if c.cell_type == "code" and corpus._cell_key(c.source)]
    written: list[nbformat.NotebookNode] = []
    planted = []
    for k in range(n):
        name = f"student{k:04d}"
        if k and k % copy_every == 0:
            original = rng.randrange(len(written))
            nb = corpus.disguise(written[original], seed=rng.randrange(1 << 30))
            planted.append((name, f"student{original:04d}"))
        else:
            nb = nbformat.from_dict(sources[0])
            for i in answer_cells:
                nb.cells[i] = nbformat.from_dict(rng.choice(sources).cells[i])
            nb = corpus.disguise(corpus.personalise(nb, rng), seed=rng.randrange(1 << 30), reorder=rng.random() < 0.3)
        written.append(nb)
        corpus.write(nb, out / f"{name}.ipynb")
    return planted


def run(n: int) -> None:
    assignment = load_assignment("rnn_sentiment", ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        planted = generate(n, folder)
        clock, cpu = time.perf_counter(), time.process_time()
        result = compare(sorted(folder.glob("*.ipynb")), assignment)
        compared, cpu = time.perf_counter() - clock, time.process_time() - cpu
        clock = time.perf_counter()
        write_report(result, Path(tmp) / "report")
        written = time.perf_counter() - clock
    found = {frozenset((p.a.name, p.b.name)) for p in result.listed}
    hits = sum(frozenset(p) in found for p in planted)
    top = {frozenset((p.a.name, p.b.name)) for p in result.pairs[: len(planted)]}
    stages = ", ".join(f"{k} {v:.2f}" for k, v in result.seconds.items())
    print(f"{n:>5} notebooks: {compared:6.2f} s wall, {cpu:6.2f} s CPU to compare (wall: {stages}), "
          f"{written:5.2f} s to write the report "
          f"({min(len(result.listed), result.settings.max_pairs)} pair pages); "
          f"{result.candidates} candidate pairs of {n * (n - 1) // 2}; common limit {result.common_limit}; "
          f"planted copies listed {hits}/{len(planted)}, in the top {len(planted)}: "
          f"{sum(frozenset(p) in top for p in planted)}")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [100, 300, 1000]:
        run(size)
