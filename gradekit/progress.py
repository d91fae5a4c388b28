"""Where a grading is, for a person waiting on it (`grade check` takes seconds before its table): each cell of
the notebook as it starts, then each question as its checks start. Typed steps, so that a terminal, a log or a
server's live page can each say them their own way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Step:
    phase: Literal["cell", "question"]
    index: int  # 1-based, of `total`
    total: int
    label: str  # "cell 12", "the course's set-up", or the question's title

    def describe(self) -> str:
        doing = "running" if self.phase == "cell" else "checking"
        return f"{doing} {self.label} ({self.index} of {self.total})"


Reporter = Callable[[Step], None]
