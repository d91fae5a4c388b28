"""The server's database (SQLAlchemy 2; SQLite in WAL mode by default, PostgreSQL through the same URL): sign-in
tokens, sign-in failures and jobs. People are the roster's, read from roster.csv; the database keys on their ids.

Rows leave this module as frozen records (`JobRecord`), read once inside a transaction, never as live ORM objects
shared between the server's threads. Every state change is one transaction, so a server killed at any moment
leaves each job queued, running (re-run at the next start) or finished, never half of one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text, create_engine, event, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

Kind = Literal["check", "submit", "grade"]  # grade: staff's grading of a submission, every check, hidden included
State = Literal["queued", "running", "done", "error"]
MAX_TRIES = 2  # a job whose grader dies this many times ends as an error instead of being run again


def now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every time stored here is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Base(DeclarativeBase):
    pass


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class SigninFailureRow(Base):
    __tablename__ = "signin_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    assignment: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8), index=True, default="queued")
    created: Mapped[datetime] = mapped_column(DateTime)
    started: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255))  # as the student named it
    notebook: Mapped[str] = mapped_column(Text, default="")  # where it is stored, relative to the course folder
    sha256: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it could not be graded, for the student
    source: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # a grade job's submission


class PublicationRow(Base):
    __tablename__ = "publications"
    assignment: Mapped[str] = mapped_column(String(64), primary_key=True)
    published: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(64))


class ExtensionRow(Base):
    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    assignment: Mapped[str] = mapped_column(String(64), index=True)
    due: Mapped[datetime] = mapped_column(DateTime)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class JobRecord:
    id: int
    person: str
    assignment: str
    kind: Kind
    state: State
    created: datetime
    started: datetime | None
    finished: datetime | None
    tries: int
    filename: str
    notebook: str
    sha256: str
    late: bool
    score: float | None
    max_score: float | None
    error: str | None
    source: int | None = None

    @classmethod
    def of(cls, row: JobRow) -> JobRecord:
        return cls(id=row.id, person=row.person, assignment=row.assignment, kind=row.kind,  # type: ignore[arg-type]
                   state=row.state, created=_utc(row.created), started=_utc(row.started),  # type: ignore[arg-type]
                   finished=_utc(row.finished), tries=row.tries, filename=row.filename, notebook=row.notebook,
                   sha256=row.sha256, late=row.late, score=row.score, max_score=row.max_score, error=row.error,
                   source=row.source)

    @property
    def finished_ok(self) -> bool:
        return self.state == "done"


@dataclass(frozen=True)
class Recovery:
    """What a start found of the last run's jobs: re-queued, and ended as errors (their grader died twice)."""

    requeued: tuple[int, ...]
    failed: tuple[int, ...]


class Store:
    def __init__(self, url: str):
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as s:
            yield s

    # ---------------------------------------------------------------- sign-in tokens

    def issue_token(self, person: str, valid_for: timedelta) -> str:
        """A new sign-in token for `person`; their older tokens stop working. Only its hash is stored."""
        token = secrets.token_urlsafe(24)
        at = now()
        with self.session() as s:
            s.execute(sql_update(TokenRow).where(TokenRow.person == person).values(revoked=True))
            s.add(TokenRow(person=person, hash=token_hash(token), created=at, expires=at + valid_for))
        return token

    def revoke(self, person: str) -> int:
        with self.session() as s:
            done = s.execute(sql_update(TokenRow).where(TokenRow.person == person, TokenRow.revoked.is_(False))
                             .values(revoked=True))
            return done.rowcount or 0

    def token_owner(self, token: str) -> tuple[str, int] | None:
        """(person, token id) for a token that is neither expired nor revoked."""
        with self.session() as s:
            row = s.scalar(select(TokenRow).where(TokenRow.hash == token_hash(token)))
            if row is None or row.revoked or _utc(row.expires) <= now():
                return None
            return row.person, row.id

    def token_valid(self, token_id: int) -> bool:
        with self.session() as s:
            row = s.get(TokenRow, token_id)
            return row is not None and not row.revoked and _utc(row.expires) > now()

    def signin_failures(self, client: str, since: datetime) -> list[datetime]:
        with self.session() as s:
            times = s.scalars(select(SigninFailureRow.at).where(SigninFailureRow.client == client,
                                                                SigninFailureRow.at >= since.replace(tzinfo=None)))
            return sorted(_utc(t) for t in times)  # type: ignore[misc]

    def record_signin_failure(self, client: str) -> None:
        with self.session() as s:
            s.add(SigninFailureRow(client=client, at=now()))

    # ---------------------------------------------------------------- jobs

    def add_job(self, *, person: str, assignment: str, kind: Kind, filename: str, sha256: str, late: bool,
                store_file: Callable[[int], str]) -> int:
        """A queued job, its notebook stored by `store_file(job id)` (which returns where) inside the same
        transaction: a job row never exists without its notebook."""
        with self.session() as s:
            row = JobRow(person=person, assignment=assignment, kind=kind, filename=filename, sha256=sha256,
                         late=late, created=now(), state="queued")
            s.add(row)
            s.flush()
            row.notebook = store_file(row.id)
            return row.id

    def add_grading(self, submission: JobRecord) -> int:
        """A staff grading of `submission` (every check), queued: the notebook is the submission's own file."""
        with self.session() as s:
            row = JobRow(person=submission.person, assignment=submission.assignment, kind="grade",
                         filename=submission.filename, sha256=submission.sha256, late=submission.late,
                         created=now(), state="queued", notebook=submission.notebook, source=submission.id)
            s.add(row)
            s.flush()
            return row.id

    def published(self, assignment: str) -> datetime | None:
        """When staff published `assignment`'s grades, if they have."""
        with self.session() as s:
            row = s.get(PublicationRow, assignment)
            return _utc(row.published) if row is not None else None

    def publish(self, assignment: str, by: str, *, on: bool) -> None:
        with self.session() as s:
            row = s.get(PublicationRow, assignment)
            if row is not None:
                s.delete(row)
            if on:
                s.add(PublicationRow(assignment=assignment, published=now(), by=by))

    def extensions(self, assignment: str) -> dict[str, datetime]:
        """Each student's extended due time for `assignment` (the latest one granted)."""
        with self.session() as s:
            rows = s.scalars(select(ExtensionRow).where(ExtensionRow.assignment == assignment)
                             .order_by(ExtensionRow.id))
            return {r.person: _utc(r.due) for r in rows}  # type: ignore[misc]

    def extend(self, person: str, assignment: str, due: datetime | None, granted_by: str) -> None:
        """Give `person` a new due time for `assignment`; None takes their extension back."""
        with self.session() as s:
            for row in s.scalars(select(ExtensionRow).where(ExtensionRow.person == person,
                                                            ExtensionRow.assignment == assignment)):
                s.delete(row)
            if due is not None:
                s.add(ExtensionRow(person=person, assignment=assignment, due=due.astimezone(UTC).replace(tzinfo=None),
                                   granted_by=granted_by, granted=now()))

    def job(self, job_id: int) -> JobRecord | None:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            return JobRecord.of(row) if row is not None else None

    def jobs(self, *, person: str | None = None, assignment: str | None = None,
             kinds: tuple[Kind, ...] | None = None) -> list[JobRecord]:
        """Newest first."""
        query = select(JobRow).order_by(JobRow.id.desc())
        if kinds is not None:
            query = query.where(JobRow.kind.in_(kinds))
        if person is not None:
            query = query.where(JobRow.person == person)
        if assignment is not None:
            query = query.where(JobRow.assignment == assignment)
        with self.session() as s:
            return [JobRecord.of(r) for r in s.scalars(query)]

    def checks_since(self, person: str, assignment: str, since: datetime) -> list[datetime]:
        """When `person`'s self-checks of `assignment` since `since` were made, oldest first."""
        with self.session() as s:
            times = s.scalars(select(JobRow.created).where(
                JobRow.person == person, JobRow.assignment == assignment, JobRow.kind == "check",
                JobRow.created >= since.replace(tzinfo=None)).order_by(JobRow.created))
            return [_utc(t) for t in times]  # type: ignore[misc]

    def queue_position(self, job_id: int) -> int:
        """1 for the next job to run."""
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.state == "queued", JobRow.id <= job_id)) or 0)

    def claim(self) -> JobRecord | None:
        """The oldest queued job, now running (its try counted). The update only takes a row still queued, so two
        runners can never both take one."""
        with self.session() as s:
            for job_id in s.scalars(select(JobRow.id).where(JobRow.state == "queued").order_by(JobRow.id).limit(8)):
                taken = s.execute(sql_update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued")
                                  .values(state="running", started=now(), tries=JobRow.tries + 1))
                if taken.rowcount:
                    return JobRecord.of(s.get(JobRow, job_id, populate_existing=True))  # type: ignore[arg-type]
            return None

    def finish(self, job_id: int, *, score: float, max_score: float, error: str | None) -> None:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None:
                row.state, row.finished = "done", now()
                row.score, row.max_score, row.error = score, max_score, error

    def fail(self, job_id: int, message: str) -> None:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None:
                row.state, row.finished, row.error = "error", now(), message

    def release(self, job_id: int, *, counted: bool) -> None:
        """Back to the queue: after its grader died (`counted`), or when the server stopped under it (not)."""
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None and row.state == "running":
                row.state, row.started = "queued", None
                if not counted:
                    row.tries = max(0, row.tries - 1)

    def recover(self, died: str) -> Recovery:
        """At start: jobs left running by a server that was killed are run again, once per death of their
        grader; a job that has already been tried MAX_TRIES times ends as an error with `died`."""
        requeued, failed = [], []
        with self.session() as s:
            for row in s.scalars(select(JobRow).where(JobRow.state == "running")):
                if row.tries >= MAX_TRIES:
                    row.state, row.finished, row.error = "error", now(), died
                    failed.append(row.id)
                else:
                    row.state, row.started = "queued", None
                    requeued.append(row.id)
        return Recovery(tuple(requeued), tuple(failed))


def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 - SQLAlchemy's connect event
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")  # a stored upload survives a power cut too
    cursor.close()
