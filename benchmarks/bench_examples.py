"""Time grading the bundled example submissions, as a TA's batch would, side by side: a new worker process per
notebook (what the batch did before warm workers; `recycle_after=1`) and warm workers that grade notebook after
notebook. Prints wall time per job count, per-submission durations and the workers' peak memory.
Run: `python benchmarks/bench_examples.py [ASSIGNMENT] [--jobs 1,2]`."""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradekit.batch import BatchOptions, run_batch  # noqa: E402
from gradekit.config import load_assignment  # noqa: E402
from gradekit.pool import PoolLimits  # noqa: E402

WORKERS = {"a new worker per notebook": 1, "warm workers": PoolLimits.recycle_after}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment", nargs="?", default="rnn_sentiment")
    parser.add_argument("--jobs", default="1,2", help="job counts to time, comma-separated")
    args = parser.parse_args()
    assignment = load_assignment(args.assignment)
    folder = assignment.root / "examples" / "submissions" / args.assignment
    scores = {}
    for jobs in (int(j) for j in args.jobs.split(",")):
        for how, recycle_after in WORKERS.items():
            with tempfile.TemporaryDirectory() as out:
                start = time.monotonic()
                results = run_batch(folder, assignment, Path(out),
                                    BatchOptions(jobs=jobs, quiet=True, recycle_after=recycle_after))
                wall = time.monotonic() - start
            scores[how, jobs] = {r.student: r.score for r in results}
            per = sorted(r.duration_s for r in results)
            print(f"{args.assignment}: {len(results)} notebooks, jobs={jobs}, {how}: {wall:.1f} s wall "
                  f"({wall / len(results):.1f} s per notebook); one submission takes {per[0]:.1f}-{per[-1]:.1f} s "
                  f"inside its worker (median {per[len(per) // 2]:.1f} s)", flush=True)
    same = len({tuple(sorted(s.items())) for s in scores.values()}) == 1
    print(f"every run gave the same scores: {same}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of one worker (grader + its kernel counted separately): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
