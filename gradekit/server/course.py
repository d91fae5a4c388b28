"""A course folder: `course.toml` (the assignments offered, their times and self-check limits) and `roster.csv`
(who may sign in). Read once at start into frozen records; anything malformed is a ConfigError naming the line."""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gradekit.config import Assignment, ConfigError, load_assignment, project_root
from gradekit.server.deadlines import Deadline, LatePolicy

ROLES = ("student", "ta", "instructor")
LMS_COLUMNS = ("canvas_id", "sis_user_id", "sis_login_id")
# Ids become folder names (uploads/<job>/<id>.ipynb) and the student field of results: nothing that can climb.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Offering:
    """One assignment as the course offers it."""

    assignment: Assignment
    opens: datetime
    due: datetime
    checks_per_hour: int = 10
    late_due: datetime | None = None
    late_policy: LatePolicy = LatePolicy()

    @property
    def name(self) -> str:
        return self.assignment.name

    @property
    def template(self) -> Path:
        return self.assignment.root / "student_template" / f"{self.name}.ipynb"

    def is_open(self, now: datetime) -> bool:
        return now >= self.opens

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.due, self.late_due, self.late_policy)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str = ""
    section: str = ""
    role: str = "student"
    lms_ids: tuple[tuple[str, str], ...] = ()  # roster columns the LMS keys on: canvas_id, sis_user_id, sis_login_id

    def lms_id(self, name: str) -> str:
        return dict(self.lms_ids).get(name, "")

    @property
    def staff(self) -> bool:
        return self.role in ("ta", "instructor")


@dataclass(frozen=True)
class Course:
    folder: Path
    title: str
    offerings: dict[str, Offering]
    roster: tuple[Person, ...]
    public_url: str = ""  # where students reach the server, for invite links ("" : the address it listens on)
    max_upload_mb: int = 20
    timezone: str = "UTC"  # how times are shown on the pages (an IANA name: Europe/Berlin)
    people: dict[str, Person] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "people", {p.id: p for p in self.roster})

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'gradekit.db'}"


def parse_time(value: object, where: str) -> datetime:
    """A course.toml time: a TOML datetime or an ISO 8601 string; one without a zone is taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a time (write it as 2026-12-01T09:00:00Z)") from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{where}: expected a date and time such as 2026-12-01T09:00:00Z, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_course(folder: Path) -> Course:
    folder = Path(folder).resolve()
    path = folder / "course.toml"
    if not path.is_file():
        raise ConfigError(f"{folder} has no course.toml (see README: running a course server)")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    meta = data.get("course", {})
    root = Path(meta["root"]).expanduser() if meta.get("root") else project_root()
    root = root if root.is_absolute() else (folder / root).resolve()
    offerings: dict[str, Offering] = {}
    for i, item in enumerate(data.get("assignments", []), start=1):
        where = f"{path}, assignment {i}"
        if "name" not in item:
            raise ConfigError(f"{where}: no name")
        opens = parse_time(item.get("opens", "1970-01-01T00:00:00Z"), f"{where} opens")
        due = parse_time(item.get("due"), f"{where} due") if "due" in item else datetime.max.replace(tzinfo=UTC)
        limit = item.get("checks_per_hour", 10)
        if not isinstance(limit, int) or limit < 0:
            raise ConfigError(f"{where}: checks_per_hour must be a whole number, 0 or more")
        late_due = parse_time(item["late_due"], f"{where} late_due") if "late_due" in item else None
        if late_due is not None and late_due < due:
            raise ConfigError(f"{where}: late_due is before due")
        offerings[item["name"]] = Offering(load_assignment(item["name"], root), opens, due, limit, late_due,
                                           LatePolicy.parse(item.get("late_penalty"), where))
    if not offerings:
        raise ConfigError(f"{path}: no [[assignments]]")
    return Course(folder=folder, title=str(meta.get("title", folder.name)), offerings=offerings,
                  roster=read_roster(folder / "roster.csv"), public_url=str(meta.get("public_url", "")).rstrip("/"),
                  max_upload_mb=int(meta.get("max_upload_mb", 20)), timezone=zone(meta.get("timezone", "UTC"), path))


def zone(name: object, where: Path) -> str:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: timezone {name!r} is not a time zone name such as Europe/Berlin or UTC") from None
    return str(name)


def read_roster(path: Path) -> tuple[Person, ...]:
    """roster.csv: `id,name,email,section[,role]` with a header; role is student (default), ta or instructor.
    Optional `canvas_id`, `sis_user_id`, `sis_login_id` columns are what the Canvas export keys on."""
    if not path.is_file():
        raise ConfigError(f"{path.parent} has no roster.csv (columns: id,name,email,section,role)")
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    people: dict[str, Person] = {}
    for line, row in enumerate(rows, start=2):
        pid = (row.get("id") or "").strip()
        if not ID_PATTERN.match(pid):
            raise ConfigError(f"{path}, line {line}: id {pid!r} must be letters, digits, '.', '_' or '-'")
        role = (row.get("role") or "student").strip().lower()
        if role not in ROLES:
            raise ConfigError(f"{path}, line {line}: role {role!r} is not one of {', '.join(ROLES)}")
        if pid in people:
            raise ConfigError(f"{path}, line {line}: id {pid!r} is listed twice")
        lms = tuple((k, (row.get(k) or "").strip()) for k in LMS_COLUMNS if (row.get(k) or "").strip())
        people[pid] = Person(pid, (row.get("name") or pid).strip(), (row.get("email") or "").strip(),
                             (row.get("section") or "").strip(), role, lms)
    return tuple(people.values())
