"""What the sandbox costs per submission: kernel start + shutdown with the sandbox on and off (median of several
runs), and grading one small notebook (rnn_sentiment's solution) on and off. Prints figures, asserts nothing.

Run: `python benchmarks/bench_sandbox.py [REPETITIONS]`. Run it on an otherwise idle machine.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradekit.config import load_assignment  # noqa: E402
from gradekit.kernel import KernelSession  # noqa: E402
from gradekit.runner import grade_notebook  # noqa: E402
from gradekit.sandbox import Sandbox, bwrap_available  # noqa: E402


def kernel_cycle(mode: str) -> tuple[float, float]:
    """(start until the kernel answers a first request, shutdown), seconds."""
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        (scratch / "data").mkdir()  # the host's files are mounted into the sandbox one by one
        start = time.monotonic()
        sandbox = Sandbox(scratch=scratch, mode=mode)
        session = KernelSession(scratch, sandbox)
        session.__enter__()
        session.execute("x = 1")
        started = time.monotonic()
        session.__exit__(None, None, None)
        sandbox.cleanup()
        return started - start, time.monotonic() - started


def main(repetitions: int = 7) -> None:
    if not bwrap_available():
        print("bubblewrap cannot run here: there is no sandbox to measure")
        return
    modes = ("off", "on")
    Sandbox(scratch=Path(tempfile.gettempdir()), mode="on").cleanup()  # the one-off probes, not counted below
    cycles: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    for _ in range(repetitions):
        for mode in modes:  # interleaved, so that drift in the machine's load hits both alike
            cycles[mode].append(kernel_cycle(mode))
    isolation = Sandbox(scratch=Path(tempfile.gettempdir()), mode="on")
    print(f"kernel start + shutdown, median of {repetitions} (sandbox isolation: {isolation.isolation}):")
    isolation.cleanup()
    for mode in modes:
        starts, stops = zip(*cycles[mode], strict=True)
        print(f"  sandbox {mode:3}: start {statistics.median(starts):.3f} s, shutdown {statistics.median(stops):.3f} s")
    overhead = (statistics.median(a + b for a, b in cycles["on"]) - statistics.median(a + b for a, b in cycles["off"]))
    print(f"  overhead of the sandbox per kernel: {overhead * 1000:+.0f} ms")

    assignment = load_assignment("rnn_sentiment")
    notebook = assignment.root / "examples" / "submissions" / "rnn_sentiment" / "solution.ipynb"
    grading: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(max(1, repetitions // 2)):
        for mode in modes:
            result = grade_notebook(notebook, assignment, sandbox_mode=mode)
            assert result.score == result.max_score, "the solution must score full marks in both modes"
            grading[mode].append(result.duration_s)
    print(f"grading rnn_sentiment's solution, median of {len(grading['on'])}:")
    for mode in modes:
        print(f"  sandbox {mode:3}: {statistics.median(grading[mode]):.2f} s")
    print(f"  overhead of the sandbox per submission: "
          f"{(statistics.median(grading['on']) - statistics.median(grading['off'])) * 1000:+.0f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
