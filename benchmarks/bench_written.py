"""How long checking one notebook's written answers takes: the math worker's start, each math answer, and
the whole notebook graded (kernel included). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_written.py [NOTEBOOK]
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from gradekit.config import load_assignment  # noqa: E402
from gradekit.runner import grade_notebook  # noqa: E402
from gradekit.written.answers import find_answer  # noqa: E402
from gradekit.written.client import MathChecker  # noqa: E402
from reference.theory_rnn_attention import MATH  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples/submissions/theory_rnn_attention/seed000.ipynb"
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    with MathChecker() as checker:
        times = []
        for answer_id, (kind, spec) in MATH.items():
            answer = find_answer(nb, answer_id)
            if answer.problem:
                continue
            t = time.monotonic()
            verdict = checker.check(kind, spec, answer.text)["verdict"]
            times.append(time.monotonic() - t)
            print(f"  {answer_id:<16} {verdict:<8} {times[-1]:.2f} s")
    total = time.monotonic() - start
    print(f"{len(times)} math answers of {path.name}: {total:.2f} s in all (worker start included); "
          f"median {statistics.median(times):.2f} s, slowest {max(times):.2f} s per answer")

    assignment = load_assignment("theory_rnn_attention", ROOT)
    start = time.monotonic()
    result = grade_notebook(path, assignment)
    print(f"whole notebook graded (sandboxed kernel, code question, all written answers): "
          f"{time.monotonic() - start:.1f} s, {result.score:g} / {result.max_score:g}")


if __name__ == "__main__":
    main()
