"""Due times, late due times, late penalties and per-student extensions: what a submission's time costs it.

In course.toml, per assignment:

    due = 2026-11-15T23:59:00Z
    late_due = 2026-11-18T23:59:00Z                       # after it a submission scores 0 (optional)
    late_penalty = { percent = 10, per = "day", cap = 30 } # per started day (or "hour") late, at most cap (optional)

Without `late_penalty` a late submission is marked late and loses nothing until `late_due`. An extension moves a
student's due time, and their late due time by as much. Everything here is a pure function of times, so the
gradebook, the student's page and the exports all say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from gradekit.config import ConfigError

PERIODS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


@dataclass(frozen=True)
class LatePolicy:
    percent: float = 0.0  # lost per started period late
    per: str = "day"
    cap: float = 100.0  # the most a penalty takes, in percent

    @classmethod
    def parse(cls, value: object, where: str) -> LatePolicy:
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: late_penalty is a table such as {{ percent = 10, per = \"day\", cap = 30 }}")
        per = value.get("per", "day")
        if per not in PERIODS:
            raise ConfigError(f"{where}: late_penalty's per is \"day\" or \"hour\", not {per!r}")
        percent, cap = value.get("percent", 0), value.get("cap", 100)
        for name, number in (("percent", percent), ("cap", cap)):
            if not isinstance(number, int | float) or not 0 <= number <= 100:
                raise ConfigError(f"{where}: late_penalty's {name} is a percentage from 0 to 100, not {number!r}")
        return cls(float(percent), per, float(cap))

    def describe(self) -> str:
        if not self.percent:
            return "no penalty"
        cap = f", at most {self.cap:g}%" if self.cap < 100 else ""
        return f"{self.percent:g}% per {self.per} late{cap}"


@dataclass(frozen=True)
class Penalty:
    """What lateness costs one submission, in percent of its score (0 when on time)."""

    percent: float
    late_by: timedelta
    reason: str  # "", "2 days late: 10% per day late", "after the late due time"

    @property
    def late(self) -> bool:
        return self.late_by > timedelta(0)

    def points(self, score: float) -> float:
        return round(score * self.percent / 100, 4)


@dataclass(frozen=True)
class Deadline:
    due: datetime
    late_due: datetime | None = None
    policy: LatePolicy = LatePolicy()

    def for_student(self, extended_due: datetime | None) -> Deadline:
        """The deadline with an extension: the due time moved, and the late due time by as much."""
        if extended_due is None:
            return self
        shift = extended_due - self.due
        return Deadline(extended_due, self.late_due + shift if self.late_due else None, self.policy)

    def penalty(self, submitted: datetime) -> Penalty:
        late_by = submitted - self.due
        if late_by <= timedelta(0):
            return Penalty(0.0, timedelta(0), "")
        if self.late_due is not None and submitted > self.late_due:
            return Penalty(100.0, late_by, "submitted after the late due time, so it scores 0")
        period = PERIODS[self.policy.per]
        periods = math.ceil(late_by / period)
        percent = min(self.policy.cap, periods * self.policy.percent)
        unit = f"{periods} {self.policy.per}{'s' if periods != 1 else ''} late"
        return Penalty(percent, late_by, f"{unit}: {self.policy.describe()}")
