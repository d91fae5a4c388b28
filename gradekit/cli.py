"""The command line: `grade check | batch | release | data | similarity | doctor | serve | roster | submit` (also
`python grade.py ...`)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from gradekit.batch import BatchOptions, default_jobs, find_submissions, run_batch
from gradekit.config import ConfigError, list_assignments, load_assignment
from gradekit.formatting import cell_landmark, listed, self_check_note
from gradekit.notebook import NotebookLoadError, load_notebook, notebook_assignment
from gradekit.progress import Step
from gradekit.release import ReleaseError, release
from gradekit.report import write_feedback
from gradekit.results import SubmissionResult


class UsageError(Exception):
    pass


def infer_assignment(notebook: Path, given: str | None) -> str:
    if given:
        return given
    try:
        name = notebook_assignment(load_notebook(notebook))
    except NotebookLoadError as exc:  # what is wrong with the file comes first: no assignment could grade it
        raise UsageError(str(exc)) from None
    if not name:
        known = ", ".join(list_assignments()) or "none"
        raise UsageError(f"could not tell which assignment {notebook.name} belongs to (its metadata does not say); "
                         f"pass --assignment NAME (one of: {known})")
    return name


def cmd_check(args: argparse.Namespace) -> int:
    notebook = Path(args.notebook)
    if not notebook.exists():
        raise UsageError(f"no such file: {notebook}")
    assignment = load_assignment(infer_assignment(notebook, args.assignment))
    if args.data:
        assignment.validate_data(args.data)
    print(f"Checking {notebook.name} against the public checks of {assignment.title} ...", file=sys.stderr)
    from gradekit.runner import grade_notebook  # here: it imports torch, which `grade --help` need not wait for

    terminal = sys.stderr  # bound now: the graders' run redirects sys.stderr while its checks run
    live = terminal.isatty()  # a log or a pipe gets the table only, not a line per cell

    def show(step: Step) -> None:
        print(f"\r  {step.describe()}"[:100].ljust(100), end="", file=terminal, flush=True)

    result = grade_notebook(notebook, assignment, mode="check", sandbox_mode=args.sandbox, data=args.data,
                            on_step=show if live else None)
    if live:
        print("\r" + " " * 100 + "\r", end="", file=terminal, flush=True)
    out = Path(args.out) if args.out else notebook.with_suffix(".feedback.html")
    write_feedback(result, out)
    print(format_table(result))
    print(f"\nFeedback page: {out}")
    return 1 if result.error else 0


def format_table(result: SubmissionResult) -> str:
    """The per-question table a student reads in the terminal: points, and one message per failing question."""
    lines = []
    if result.error:
        lines.append(f"Could not grade: {result.error}\n")
    for note in result.notes:
        lines.append(f"note: {note}")
    for err in result.cell_errors:
        lines.append(f"note: cell {err['cell']} raised {err['ename']}: {err['evalue'][:120]}")
        if landmark := cell_landmark(err):
            lines.append(f"      ({landmark})")
    for cause, questions in result.shared_causes():  # one mistake behind several questions' failures: said first
        fix = f" ({cause.fix})" if cause.fix else ""
        text = f"{cause.summary}{fix}; it costs checks in {listed([q.title for q in questions])}"
        lines.append(textwrap.fill(text, width=100, initial_indent="start here: ", subsequent_indent="    "))
    if lines:
        lines.append("")
    width = max([len(q.title) for q in result.questions()] + [8])
    for q in result.questions():
        status = {"passed": "passed", "partial": "partial", "failed": "failed", "review": "awaiting a TA",
                  "empty": "no checks"}[q.state]
        if not q.max_points:
            status = "answers read; marked by staff" if q.checks and q.passed else "no checks"
        lines.append(f"{q.title:<{width}}  {q.points:>5g} / {q.max_points:<5g} {status}")
        for message in q.messages[:3]:
            lines.append(textwrap.fill(message, width=100, initial_indent="    - ", subsequent_indent="      "))
        if explain := result.may_explain(q):
            places = listed([f"{o.title} ({o.points:g}/{o.max_points:g})" for o in explain])
            lines.append(textwrap.fill(f"look first at {places}: this check runs that code, which lost points too",
                                       width=100, initial_indent="    - ", subsequent_indent="      "))
        for c in q.awaiting_ta:
            # free text: the check's name says it all; math the machine could not decide: also why
            text = c.name if c.review is not None and c.review.kind == "free_text" else f"{c.name}: {c.message}"
            lines.append(textwrap.fill(text, width=100, initial_indent="    - awaiting a TA: ",
                                       subsequent_indent="      "))
        for c in q.checks:
            if c.reading is not None and c.reading.parsed:
                example = f"; {c.reading.example}" if c.reading.example else ""
                lines.append(textwrap.fill(f"{c.name}: read as {c.reading.parsed}{example}", width=100,
                                           initial_indent="    . ", subsequent_indent="      "))
    pending = sum(c.max_points for c in result.checks if c.awaiting_ta)
    label = "public checks" if result.mode == "check" else "all checks"
    awaiting = f", {pending:g} awaiting a TA" if pending else ""
    lines.append(f"\nScore: {result.score:g} / {result.max_score:g} ({label}{awaiting})")
    if result.mode == "check":
        lines.append(self_check_note(result.hidden_left_out))
    if result.routine_notes:  # how the course ran it: last, quietly, never as a `note:` to act on
        lines.append("How your notebook was run (nothing to fix): " + "; ".join(result.routine_notes))
    return "\n".join(lines)


def cmd_batch(args: argparse.Namespace) -> int:
    assignment = load_assignment(args.assignment)
    folder = submissions_folder(args.submissions)
    if args.data:
        assignment.validate_data(args.data)
    options = BatchOptions(jobs=args.jobs, sandbox=args.sandbox, data=args.data, resume=args.resume)
    results = run_batch(folder, assignment, Path(args.out), options)
    errors = [r.student for r in results if r.error]
    print(f"{len(results)} notebook{'s' if len(results) != 1 else ''}: {len(results) - len(errors)} graded"
          + (f", {len(errors)} could not be graded ({', '.join(errors[:5])}{', ...' if len(errors) > 5 else ''}: "
             "see index.html)" if errors else "")
          + f"; reports in {args.out} (index.html, gradebook.csv, feedback/, results/)")
    return 1 if errors else 0


def submissions_folder(given: str) -> Path:
    folder = Path(given)
    if folder.is_file():
        raise UsageError(f"{folder} is a file; this command takes a folder of notebooks, one per student (the file "
                         f"name is the student id). For one notebook: grade check {folder}")
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    return folder


def cmd_doctor(args: argparse.Namespace) -> int:
    from gradekit.doctor import examine, report

    text, ready = report(examine())
    print(text)
    return 0 if ready else 1


def cmd_similarity(args: argparse.Namespace) -> int:
    from gradekit import similarity

    assignment = load_assignment(args.assignment)
    folder = submissions_folder(args.submissions)
    paths = find_submissions(folder)
    if not paths:
        raise UsageError(f"no .ipynb files in {folder}")
    if not 0 <= args.threshold <= 100:
        raise UsageError("--threshold is a percentage from 0 to 100")
    settings = similarity.Settings(threshold=args.threshold / 100, common=args.common)
    result = similarity.compare(paths, assignment, settings)
    index = similarity.write_report(result, Path(args.out))
    for sub in result.unreadable:
        print(f"not compared: {sub.name}: {sub.error}", file=sys.stderr)
    listed = result.listed
    for rank, pair in enumerate(listed[:20], start=1):
        print(f"{rank:>3}. {pair.a.name} · {pair.b.name}: {100 * pair.code.similarity:.0f}% of code shared "
              f"(longest passage {pair.code.longest} tokens), written answers {100 * pair.text.similarity:.0f}%")
    more = " (first 20 shown)" if len(listed) > 20 else ""
    print(f"{len(listed)} pair{'s' if len(listed) != 1 else ''} from {args.threshold:g}% up among "
          f"{len(paths)} notebooks{more}; open {index}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    names = args.assignment or list_assignments()
    for name in names:
        target = release(load_assignment(name), args.out)
        print(f"{name}: wrote {target}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    assignment = load_assignment(args.assignment)
    out = Path(args.out)
    assignment.prepare_workspace(out, args.data)
    print(f"wrote the {assignment.name} data under {out / 'data'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Grade every assignment's bundled example submissions into REPORTS/<assignment>/."""
    out = Path(args.out)
    for name in args.assignment or list_assignments():
        assignment = load_assignment(name)
        folder = assignment.root / "examples" / "submissions" / name
        if not folder.is_dir():
            continue
        print(f"{name}: grading {folder}", file=sys.stderr)
        results = run_batch(folder, assignment, out / name, BatchOptions(jobs=args.jobs, sandbox=args.sandbox))
        print(f"{name}: {len(results)} graded; open {out / name / 'index.html'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gradekit.server.course import load_course
    from gradekit.server.main import ServeOptions, base_url, demo_course, invite, serve
    from gradekit.server.store import Store

    if args.demo == bool(args.course):
        raise UsageError("give a course folder (--course COURSE_DIR) or --demo")
    options = ServeOptions(host=args.host, port=args.port, jobs=args.jobs, db=args.db, sandbox=args.sandbox,
                           https=args.https, forwarded_allow_ips=args.forwarded_allow_ips)
    course = demo_course() if args.demo else load_course(Path(args.course))
    if args.demo:
        links = invite(course, Store(options.db or course.database_url), None, timedelta(days=1),
                       base_url(course, options))
        print(f"demo course in {course.folder}; sign in as")
        for row in links:
            print(f"  {row['name']} ({row['role']}): {row['link']}")
    serve(course, options)
    return 0


def cmd_roster(args: argparse.Namespace) -> int:
    from gradekit.server.course import load_course
    from gradekit.server.main import base_url, invite, write_invites
    from gradekit.server.store import Store

    course = load_course(Path(args.course))
    store = Store(args.db or course.database_url)
    if args.action == "revoke":
        if not args.student:
            raise UsageError("name the people whose links to revoke: --student ID (repeatable)")
        for pid in args.student:
            if pid not in course.people:
                raise UsageError(f"{pid} is not on the roster")
            print(f"{pid}: {store.revoke(pid)} sign-in link(s) revoked")
        return 0
    rows = invite(course, store, args.student, timedelta(days=args.days), args.base_url or base_url(course))
    out = Path(args.out) if args.out else course.folder / "invites.csv"
    write_invites(rows, out)
    print(f"wrote {len(rows)} sign-in link(s), valid for {args.days} days, to {out} (readable by you only: each link "
          "signs its owner in; send each person their own). Older links of these people no longer work.")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from gradekit.client import ClientError, submit

    try:
        result = submit(Path(args.notebook), server=args.server, token=args.token,
                        action="check" if args.check else "submit", assignment=args.assignment)
    except ClientError as exc:
        raise UsageError(str(exc)) from None
    return 1 if result.error else 0


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too few: at least 1")
    return value


CHECK_EXAMPLES = """examples:
  grade check my_notebook.ipynb                 (the notebook's metadata names its assignment)
  grade check hw.ipynb --assignment rnn_sentiment --out hw.html"""
BATCH_EXAMPLES = """examples:
  grade batch submissions/ --assignment rnn_sentiment --out reports/
  grade batch submissions/ --assignment rnn_sentiment --out reports/ --resume   (after filling ta_review.csv)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade", description="Grade deep-learning notebooks safely.")
    sub = parser.add_subparsers(dest="command", required=True)
    known = ", ".join(list_assignments()) or "none found"
    assignment_help = f"the assignment's name, one of: {known}"

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sandbox", choices=["auto", "on", "off"], default="auto",
                       help="run kernels in bubblewrap (auto: when it works here)")
        p.add_argument("--data", type=Path, help="real data instead of the bundled set (e.g. an aclImdb folder)")

    p = sub.add_parser("check", help="a student's self-check: public checks only", epilog=CHECK_EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", help="the .ipynb file to check")
    p.add_argument("--assignment", help=f"{assignment_help} (default: read from the notebook's metadata)")
    p.add_argument("--out", help="where to write the HTML feedback (default: NOTEBOOK.feedback.html)")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("batch", help="grade every notebook in a folder (a TA's run)", epilog=BATCH_EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", help="a folder of .ipynb files, one per student; the file name is the student id")
    p.add_argument("--assignment", required=True, help=assignment_help)
    p.add_argument("--out", required=True, help="the folder for index.html, gradebook.csv, feedback/, results/")
    p.add_argument("--jobs", type=positive_int, default=default_jobs(),
                   help=f"notebooks graded at once (default: {default_jobs()}, this machine's cores up to 2)")
    p.add_argument("--resume", action="store_true", help="keep results already written to --out")
    common(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("similarity", help="pairs of submissions that share student-written code, side by side")
    p.add_argument("submissions", help="a folder of .ipynb files, one per student")
    p.add_argument("--assignment", required=True, help=assignment_help)
    p.add_argument("--out", required=True, help="folder for index.html, pairs/, similarity.csv and .json")
    p.add_argument("--threshold", type=float, default=30.0, help="list pairs from this %% of shared code up")
    p.add_argument("--common", type=int, help="ignore passages found in more than this many notebooks "
                   "(default: 10, or a tenth of the notebooks when more)")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("release", help="write student_template/ from the solution notebooks")
    p.add_argument("--assignment", action="append", help="(repeatable) default: every assignment")
    p.add_argument("--out", type=Path)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("demo", help="grade every assignment's example submissions into HTML reports")
    p.add_argument("--out", default="reports")
    p.add_argument("--jobs", type=positive_int, default=default_jobs())
    p.add_argument("--sandbox", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable); default: all")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="the course server: students upload notebooks and get the public checks' feedback")
    p.add_argument("--course", help="the course folder: course.toml and roster.csv (see README)")
    p.add_argument("--demo", action="store_true", help="a throwaway course with every bundled assignment")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=positive_int, default=8000)
    p.add_argument("--jobs", type=positive_int, default=default_jobs(), help="notebooks graded at once")
    p.add_argument("--db", help="an SQLAlchemy URL (default: SQLite at COURSE_DIR/gradekit.db)")
    p.add_argument("--sandbox", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--https", action="store_true", help="behind a reverse proxy serving https: Secure cookies")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help="the reverse proxy's address, trusted to name the client in X-Forwarded-For")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("roster", help="sign-in links for the course server: invite (write them) or revoke")
    p.add_argument("action", choices=["invite", "revoke"])
    p.add_argument("course", help="the course folder")
    p.add_argument("--student", action="append", help="(repeatable) only these people; default: the whole roster")
    p.add_argument("--days", type=positive_int, default=30, help="how long the links work (default: 30 days)")
    p.add_argument("--out", help="where to write the links (default: COURSE_DIR/invites.csv)")
    p.add_argument("--base-url", help="the server's address as students reach it (default: course.toml's "
                   "public_url, else http://127.0.0.1:8000)")
    p.add_argument("--db", help="an SQLAlchemy URL (default: SQLite at COURSE_DIR/gradekit.db)")
    p.set_defaults(func=cmd_roster)

    p = sub.add_parser("submit", help="send a notebook to the course server and print its feedback")
    p.add_argument("notebook")
    p.add_argument("--server", help="the course server's address (default: $GRADEKIT_SERVER)")
    p.add_argument("--token", help="your token: the last part of your sign-in link (default: $GRADEKIT_TOKEN)")
    p.add_argument("--check", action="store_true", help="a self-check only (counted against the hourly limit)")
    p.add_argument("--assignment", help="default: read from the notebook's metadata")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("doctor", help="what this machine can do to sandbox a kernel; exit 1 when something is missing")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("data", help="write an assignment's bundled data set for local work")
    p.add_argument("assignment", help=assignment_help)
    p.add_argument("--out", default=".")
    p.add_argument("--data", type=Path)
    p.set_defaults(func=cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ConfigError, ReleaseError, FileNotFoundError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # DataError and friends: a bad --data path, for example
        print(f"grade: {exc}", file=sys.stderr)
        return 2
