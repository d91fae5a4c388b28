"""Time grading the bundled example submissions, as a TA's batch would: prints wall time per job count,
per-submission durations and the host's peak memory. Run: `python benchmarks/bench_examples.py [ASSIGNMENT]`."""

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradekit.batch import BatchOptions, run_batch  # noqa: E402
from gradekit.config import load_assignment  # noqa: E402


def main(name: str = "rnn_sentiment") -> None:
    assignment = load_assignment(name)
    folder = assignment.root / "examples" / "submissions" / name
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            start = time.monotonic()
            results = run_batch(folder, assignment, Path(out), BatchOptions(jobs=jobs, quiet=True))
            wall = time.monotonic() - start
        per = sorted(r.duration_s for r in results)
        print(f"{name}: {len(results)} notebooks, jobs={jobs}: {wall:.1f} s wall "
              f"({wall / len(results):.1f} s per notebook); one submission takes {per[0]:.1f}-{per[-1]:.1f} s "
              f"(median {per[len(per) // 2]:.1f} s)")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of one worker (grader + its kernel counted separately): {peak:.0f} MiB")


if __name__ == "__main__":
    main(*sys.argv[1:])
