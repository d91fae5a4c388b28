"""What a fork bomb reaches under each process limit: the peak of the kernel's memory cgroup, how long the bomb's
cell took, and how it ended (BlockingIOError in the student's loop, or a timeout and a kernel that had to be shut
down). The figures behind `Limits.processes`. Prints figures, asserts nothing; needs root and a v1 memory cgroup
(where the peak is `memory.max_usage_in_bytes`).

Run: `python benchmarks/bench_fork_bomb.py [LIMIT ...]` (default: 64 128 512).
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradekit.kernel import KernelSession  # noqa: E402
from gradekit.sandbox import Limits, Sandbox  # noqa: E402

CELLS = [(1, "import torch\nx = torch.randn(1000, 1000)"), (2, "import os\nwhile True:\n    os.fork()"),
         (3, "print('after')")]


def bomb(processes: int) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    with Sandbox(scratch=scratch, hidden=[], limits=Limits(processes=processes)) as box, \
            KernelSession(scratch, box, cell_timeout=10) as session:
        start = time.monotonic()
        report = session.run_notebook(CELLS)
        took = time.monotonic() - start
        peak_file = box.cgroup.path / "memory.max_usage_in_bytes" if box.cgroup else None
        peak = f"{int(peak_file.read_text()) / 2**30:.2f} GiB" if peak_file and peak_file.exists() else "n/a"
        ended = report.aborted or ", ".join(f"cell {e.cell}: {e.ename}" for e in report.errors) or "no error"
        return f"processes={processes:>4}: memory peak {peak}, {took:5.1f} s; {ended}"


if __name__ == "__main__":
    for limit in [int(a) for a in sys.argv[1:]] or [64, 128, 512]:
        print(bomb(limit), flush=True)
