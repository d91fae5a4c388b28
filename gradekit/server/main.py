"""Starting the server and managing its roster: what `grade serve` and `grade roster` do."""

from __future__ import annotations

import csv
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gradekit.config import list_assignments
from gradekit.server.course import Course, load_course
from gradekit.server.store import Store


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    jobs: int = 1
    db: str | None = None
    sandbox: str = "auto"
    https: bool = False  # behind a reverse proxy that terminates https: session cookies get the Secure flag
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For names the client (sign-in limits)


def base_url(course: Course, options: ServeOptions | None = None) -> str:
    if course.public_url:
        return course.public_url
    options = options or ServeOptions()
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    return f"http://{host}:{options.port}"


def invite(course: Course, store: Store, people: list[str] | None, valid_for: timedelta, url: str) -> list[dict]:
    """A new sign-in link for each person (everyone on the roster by default); their older links stop working."""
    unknown = [p for p in people or [] if p not in course.people]
    if unknown:
        raise ValueError(f"not on the roster: {', '.join(unknown)}")
    chosen = [course.people[p] for p in people] if people else list(course.roster)
    expires = datetime.now(UTC) + valid_for
    return [{"id": p.id, "name": p.name, "email": p.email, "section": p.section, "role": p.role,
             "link": f"{url}/signin/{store.issue_token(p.id, valid_for)}",
             "expires": expires.isoformat(timespec="minutes")}
            for p in chosen]


def write_invites(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "name", "email", "section", "role", "link", "expires"])
        writer.writeheader()
        writer.writerows(rows)
    path.chmod(0o600)


def serve(course: Course, options: ServeOptions) -> None:
    import uvicorn

    from gradekit.server.app import build_app
    from gradekit.server.jobs import Runner

    store = Store(options.db or course.database_url)
    runner = Runner(course, store, jobs=options.jobs, sandbox=options.sandbox)
    app = build_app(course, store, runner, https=options.https)
    print(f"gradekit serve: {course.title} ({len(course.offerings)} assignment(s), {len(course.roster)} people) "
          f"on http://{options.host}:{options.port}/ with {options.jobs} job slot(s); press Ctrl-C to stop",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=options.forwarded_allow_ips)


DEMO_ROSTER = [("ada", "Ada Lovelace", "ada@example.edu", "A", "student"),
               ("alan", "Alan Turing", "alan@example.edu", "B", "student"),
               ("grace", "Grace Hopper", "grace@example.edu", "", "ta")]


def demo_course(folder: Path | None = None) -> Course:
    """A throwaway course offering every bundled assignment, open since yesterday and due in a week."""
    folder = Path(folder or tempfile.mkdtemp(prefix="gradekit-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    opens = datetime.now(UTC) - timedelta(days=1)
    due = datetime.now(UTC) + timedelta(days=7)
    lines = ['[course]', 'title = "Deep learning (demo course)"', '']
    for name in list_assignments():
        lines += ["[[assignments]]", f'name = "{name}"', f"opens = {opens:%Y-%m-%dT%H:%M:%SZ}",
                  f"due = {due:%Y-%m-%dT%H:%M:%SZ}", "checks_per_hour = 10", ""]
    (folder / "course.toml").write_text("\n".join(lines))
    with (folder / "roster.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "email", "section", "role"])
        writer.writerows(DEMO_ROSTER)
    return load_course(folder)
