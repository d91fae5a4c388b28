#!/usr/bin/env python3
"""Entry point: `python grade.py check | batch | release | data ...` (the same as the `grade` command)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradekit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
