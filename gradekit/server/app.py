"""The Starlette application: routes, who may see what, and the pages.

Pages are rendered from the reports' own jinja2 templates (gradekit/templates, autoescaped); the feedback page is
the feedback template itself with the server's navigation and the attempt history around it. Every route that
takes an id answers 404 for anyone but its owner (staff excepted), exactly as for an id that does not exist, so
an id never tells a student whether someone else's attempt is there. Only public checks run here (a self-check's
mode); what a student is shown is filtered once more so that a hidden check could never reach them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import os
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gradekit.export import gradescope_results
from gradekit.formatting import format_number, percent
from gradekit.report import _feedback_context, environment, script_hash
from gradekit.results import CheckResult, SubmissionResult
from gradekit.server import gradebook
from gradekit.server.course import Course, Offering, Person
from gradekit.server.deadlines import Deadline
from gradekit.server.jobs import Runner
from gradekit.server.security import csrf_ok, csrf_token, session_secret, signin_blocked_until
from gradekit.server.store import JobRecord, Store, now
from gradekit.server.uploads import BodyLimit, UploadRefused, check_upload, too_large

CHECK_WINDOW = timedelta(hours=1)
SESSION_DAYS = 14
FORM_OVERHEAD = 64 << 10  # what a multipart body holds besides the file: boundaries, the CSRF token, the action
LIVE_SCRIPT = (Path(__file__).parent.parent / "templates" / "live.js").read_text()
LIVE_CSP = f"; script-src '{script_hash(LIVE_SCRIPT)}'; connect-src 'self'"


def released_view(result: SubmissionResult, visible: Callable[[CheckResult], bool]) -> SubmissionResult:
    """What a student may see of staff's grading: the checks whose visibility allows it now."""
    return dataclasses.replace(result, checks=[c for c in result.checks if visible(c)])


def public_view(result: SubmissionResult) -> SubmissionResult:
    """What a student may see of a result: its public checks. The server grades in self-check mode, so there are
    no others; this holds it should that ever change."""
    return dataclasses.replace(result, checks=[c for c in result.checks if not c.hidden])


class Server:
    def __init__(self, course: Course, store: Store, runner: Runner):
        self.course, self.store, self.runner = course, store, runner
        self.zone = ZoneInfo(course.timezone)
        self.upload_limit = course.max_upload_mb << 20

    # ------------------------------------------------------------------ who is asking

    def person(self, request: Request) -> Person | None:
        """The signed-in person: their session names a sign-in token that still works."""
        pid, token = request.session.get("person"), request.session.get("token")
        if not isinstance(pid, str) or not isinstance(token, int) or not self.store.token_valid(token):
            return None
        return self.course.people.get(pid)

    def bearer(self, request: Request) -> Person | None:
        """For `grade submit`: the student's own sign-in token in an Authorization header."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        owner = self.store.token_owner(token.strip()) if scheme.lower() == "bearer" and token else None
        return self.course.people.get(owner[0]) if owner else None

    def signed_in(self, request: Request) -> Person:
        person = self.person(request)
        if person is None:
            raise HTTPException(401, "You are not signed in. Open the sign-in link your course staff sent you.")
        return person

    def offering(self, name: str) -> Offering:
        offering = self.course.offerings.get(name)
        if offering is None:
            raise HTTPException(404, f"This course offers no assignment called {name!r}.")
        return offering

    def own_job(self, person: Person, job_id: str) -> JobRecord:
        job = self.store.job(int(job_id)) if job_id.isdigit() else None
        # A staff grading holds hidden checks: no student sees it before its release.
        if job is None or (not person.staff and (job.person != person.id or job.kind == "grade")):
            raise HTTPException(404, "There is no such attempt among yours.")
        return job

    # ------------------------------------------------------------------ pages

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        person = self.person(request)
        context.setdefault("csp_extra", "")
        html = environment().get_template(template).render(
            course=self.course, person=person, csrf=csrf_token(request.session) if person else "",
            when=self.when, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(self.zone)
        year = f" {local.year}" if local.year != now().astimezone(self.zone).year else ""
        return f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M} {local.tzname()}"

    def deadline(self, person: Person, offering: Offering) -> Deadline:
        """The student's own deadline: the course's, moved by their extension if they have one."""
        return offering.deadline.for_student(self.store.extensions(offering.name).get(person.id))

    def checks_left(self, person: Person, offering: Offering) -> tuple[int, datetime | None]:
        """Self-checks left in the current hour, and when the next one frees up when none are left."""
        times = self.store.checks_since(person.id, offering.name, now() - CHECK_WINDOW)
        left = max(0, offering.checks_per_hour - len(times))
        if left:
            return left, None
        return 0, (times[-offering.checks_per_hour] + CHECK_WINDOW) if times else now() + CHECK_WINDOW

    def assignment_view(self, person: Person, offering: Offering) -> dict[str, Any]:
        jobs = self.store.jobs(person=person.id, assignment=offering.name, kinds=("check", "submit"))
        submitted = [j for j in jobs if j.kind == "submit"]
        counted = next((j for j in submitted if not j.late), None) or (submitted[0] if submitted else None)
        left, next_at = self.checks_left(person, offering)
        published = self.store.published(offering.name)
        return {"offering": offering, "jobs": jobs, "counted": counted, "checks_left": left, "next_check": next_at,
                "published": published,
                "open": offering.is_open(now()), "past_due": now() > offering.due,
                "job_score": _score}

    async def home(self, request: Request) -> Response:
        person = self.person(request)
        if person is None:
            return self.page(request, "server_signin.html.j2")
        rows = [await run_in_threadpool(self.assignment_view, person, o) for o in self.course.offerings.values()]
        return self.page(request, "server_home.html.j2", rows=rows)

    async def assignment(self, request: Request) -> Response:
        person = self.signed_in(request)
        offering = self.offering(request.path_params["name"])
        return self.page(request, "server_assignment.html.j2", **self.assignment_view(person, offering))

    async def template(self, request: Request) -> Response:
        self.signed_in(request)
        offering = self.offering(request.path_params["name"])
        if not offering.template.is_file():
            raise HTTPException(404, "The template of this assignment has not been released yet; tell your staff.")
        return FileResponse(offering.template, filename=f"{offering.name}.ipynb",
                            media_type="application/x-ipynb+json")

    async def upload(self, request: Request) -> Response:
        person = self.signed_in(request)
        offering = self.offering(request.path_params["name"])
        try:
            form = await self.read_form(request)
            if not csrf_ok(request.session, form.get("csrf")):
                raise UploadRefused("This page had expired (or was opened from elsewhere), so nothing was uploaded: "
                                    "reload the page and upload again.", status=403)
            job_id = await self.accept(person, offering, form)
        except UploadRefused as exc:
            view = self.assignment_view(person, offering)
            return self.page(request, "server_assignment.html.j2", status=exc.status, error=str(exc), **view)
        return RedirectResponse(f"/attempts/{job_id}", status_code=303)

    async def read_form(self, request: Request):  # noqa: ANN201 - starlette's FormData
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.upload_limit + FORM_OVERHEAD:
            raise too_large(self.upload_limit)  # refused on the header alone: none of the body is read
        limited = Request(request.scope, BodyLimit(request.receive, self.upload_limit + FORM_OVERHEAD))
        try:
            return await limited.form(max_files=1, max_fields=8)
        except HTTPException as exc:  # starlette's own refusals of a malformed form
            raise UploadRefused(f"The upload could not be read ({exc.detail}); choose the file and try again.") \
                from None

    async def accept(self, person: Person, offering: Offering, form: Any) -> int:
        """Store an upload as a queued job, or refuse it with the sentence the student reads."""
        action = form.get("action")
        if action not in ("check", "submit"):
            raise UploadRefused("Press Check (the public checks, counted against your hourly checks) or Submit "
                                "(your notebook for grading).")
        moment = now()
        if not offering.is_open(moment):
            raise UploadRefused(f"{offering.assignment.title} opens {self.when(offering.opens)}.", status=403)
        if action == "check":
            left, next_at = self.checks_left(person, offering)
            if not left:
                raise UploadRefused(
                    f"You have used all {offering.checks_per_hour} self-checks of the last hour. Your next check is "
                    f"allowed at {self.when(next_at)} (in {_minutes(next_at - moment)}). Submit does not count "
                    "against this limit.", status=429)
        upload = form.get("notebook")
        if not isinstance(upload, UploadFile):
            raise UploadRefused("No file was chosen: pick your .ipynb notebook, then press Check or Submit.")
        data = await upload.read()
        accepted = await run_in_threadpool(check_upload, data, upload.filename or "", offering, self.upload_limit)
        folder = self.course.folder

        def store_file(job_id: int) -> str:
            where = Path("uploads") / str(job_id) / f"{person.id}.ipynb"
            (folder / where).parent.mkdir(parents=True, exist_ok=True)
            with open(folder / where, "wb") as f:
                f.write(accepted.data)
                f.flush()
                os.fsync(f.fileno())
            return str(where)

        job_id = await run_in_threadpool(
            lambda: self.store.add_job(person=person.id, assignment=offering.name, kind=action,
                                       filename=accepted.filename, sha256=accepted.sha256,
                                       late=action == "submit" and self.deadline(person, offering).penalty(moment).late,
                                       store_file=store_file))
        self.runner.wake.set()
        return job_id

    def grade_row(self, person: Person, offering: Offering) -> gradebook.GradeRow:
        return next(r for r in self.grade_rows(offering) if r.person.id == person.id)

    async def my_grade(self, request: Request) -> Response:
        """The student's graded submission, once staff published the assignment: the checks released to them
        (assignment.toml's visibility), the TA's comments, and the grade with any late penalty."""
        person = self.signed_in(request)
        offering = self.offering(request.path_params["name"])
        published = await run_in_threadpool(self.store.published, offering.name)
        row = await run_in_threadpool(self.grade_row, person, offering) if not person.staff else None
        if published is None or row is None or row.result is None or row.grading is None:
            raise HTTPException(404, "Your grade for this assignment has not been published yet.")
        moment, assignment = now(), offering.assignment

        def visible(c: CheckResult) -> bool:
            seen = assignment.visibility(c.question, c.hidden)
            return seen == "visible" or seen == "after_published" or (
                seen == "after_due_date" and moment > row.deadline.due)

        shown = released_view(row.result, visible)
        view = self.assignment_view(person, offering)
        context = _feedback_context(shown)
        # The score is the whole grading's, withheld checks included, as the grade above it says.
        context.update(score=row.result.score, max_score=row.result.max_score,
                       percent=percent(row.result.score, row.result.max_score))
        return self.page(request, "server_feedback.html.j2", job=row.grading, grade=row,
                         withheld=len(row.result.checks) - len(shown.checks), **context, **view)

    async def attempt(self, request: Request) -> Response:
        person = self.signed_in(request)
        job = self.own_job(person, request.path_params["id"])
        offering = self.offering(job.assignment)
        view = self.assignment_view(self.course.people.get(job.person, person), offering)
        result = self.runner.result(job)
        if result is None:
            return self.page(request, "server_attempt.html.j2", job=job, progress=self.runner.progress(job),
                             live_script=LIVE_SCRIPT, script_hash=script_hash(LIVE_SCRIPT), csp_extra=LIVE_CSP,
                             **view)
        shown = result if person.staff else public_view(result)
        return self.page(request, "server_feedback.html.j2", job=job, grade=None, withheld=0,
                         **_feedback_context(shown), **view)

    async def events(self, request: Request) -> Response:
        person = self.signed_in(request)
        job_id = self.own_job(person, request.path_params["id"]).id

        async def stream() -> AsyncIterator[str]:
            last = None
            while True:
                job = await run_in_threadpool(self.store.job, job_id)
                state = await run_in_threadpool(self.runner.progress, job)
                if state.to_dict() != last:
                    last = state.to_dict()
                    yield f"data: {json.dumps(last)}\n\n"
                if job is None or job.state in ("done", "error") or await request.is_disconnected():
                    return
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def signin(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        blocked = await run_in_threadpool(signin_blocked_until, self.store, client)
        if blocked is not None:
            return self.page(request, "server_message.html.j2", status=429, title="Too many sign-in attempts",
                             message=f"Too many sign-in links that did not work were opened from your network. "
                                     f"Try again at {self.when(blocked)}.")
        owner = await run_in_threadpool(self.store.token_owner, request.path_params["token"])
        if owner is None or owner[0] not in self.course.people:
            await run_in_threadpool(self.store.record_signin_failure, client)
            return self.page(request, "server_message.html.j2", status=404, title="This sign-in link does not work",
                             message="It has expired, or a newer link has replaced it. Ask your course staff for a "
                                     "new one.")
        request.session.clear()
        request.session.update({"person": owner[0], "token": owner[1]})
        csrf_token(request.session)
        return RedirectResponse("/", status_code=303)

    async def signout(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=4)
        if not csrf_ok(request.session, form.get("csrf")):
            raise HTTPException(403, "This page had expired, so you are still signed in: reload it and try again.")
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    def staff_member(self, request: Request) -> Person:
        """Staff only; a student is told there is no such page, as for any page that does not exist."""
        person = self.signed_in(request)
        if not person.staff:
            raise HTTPException(404, "There is no such page.")
        return person

    async def staff(self, request: Request) -> Response:
        self.staff_member(request)
        jobs = await run_in_threadpool(self.store.jobs)
        return self.page(request, "server_staff.html.j2", jobs=jobs, job_score=_score)

    def grade_rows(self, offering: Offering) -> list[gradebook.GradeRow]:
        return gradebook.rows(self.course, self.store, offering, self.runner.result)

    async def dashboard(self, request: Request) -> Response:
        self.staff_member(request)
        offering = self.offering(request.path_params["name"])
        rows = await run_in_threadpool(self.grade_rows, offering)
        counts = {"students": len(rows), "submitted": sum(r.submission is not None for r in rows),
                  "graded": sum(r.raw is not None for r in rows), "late": sum(bool(r.penalty and r.penalty.late)
                                                                            for r in rows),
                  "errors": sum(r.status == "could not be graded" for r in rows),
                  "grading": sum(r.pending for r in rows)}
        published = await run_in_threadpool(self.store.published, offering.name)
        return self.page(request, "server_dashboard.html.j2", offering=offering, rows=rows, counts=counts,
                         published=published,
                         possible=gradebook.possible(rows), num=format_number,
                         local_input=lambda d: d.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if d else "",
                         notice=request.query_params.get("done", ""))

    async def staff_form(self, request: Request) -> tuple[Person, Offering, Any]:
        person = self.staff_member(request)
        offering = self.offering(request.path_params["name"])
        form = await request.form(max_files=0, max_fields=8)
        if not csrf_ok(request.session, form.get("csrf")):
            raise HTTPException(403, "This page had expired, so nothing was changed: reload it and try again.")
        return person, offering, form

    async def grade_submissions(self, request: Request) -> Response:
        """Queue staff gradings (every check) of the submissions that count: those not graded yet, all of them
        (after a grader fix), or one student's. A regrade keeps the old result until the new one is in."""
        _, offering, form = await self.staff_form(request)
        which, student = form.get("which", "new"), form.get("student", "")
        rows = await run_in_threadpool(self.grade_rows, offering)
        chosen = [r for r in rows if r.submission is not None and not r.pending and (
            (which == "new" and r.grading is None) or which == "all" or (which == "one" and r.person.id == student))]
        for r in chosen:
            await run_in_threadpool(self.store.add_grading, r.submission)
        self.runner.wake.set()
        return RedirectResponse(f"/staff/assignments/{offering.name}?done=queued+{len(chosen)}", status_code=303)

    async def set_extension(self, request: Request) -> Response:
        person, offering, form = await self.staff_form(request)
        student = form.get("student", "")
        if student not in self.course.people:
            raise HTTPException(404, f"{student!r} is not on the roster.")
        due = None
        if form.get("action") != "remove":
            try:
                due = datetime.fromisoformat(str(form.get("due", ""))).replace(tzinfo=self.zone)
            except ValueError:
                raise HTTPException(400, "Write the new due time as a date and a time.") from None
        await run_in_threadpool(self.store.extend, student, offering.name, due, person.id)
        return RedirectResponse(f"/staff/assignments/{offering.name}?done=extension", status_code=303)

    async def publish(self, request: Request) -> Response:
        person, offering, form = await self.staff_form(request)
        on = form.get("action") != "unpublish"
        await run_in_threadpool(lambda: self.store.publish(offering.name, person.id, on=on))
        return RedirectResponse(f"/staff/assignments/{offering.name}?done={'published' if on else 'unpublished'}",
                                status_code=303)

    async def gradescope(self, request: Request) -> Response:
        """Gradescope's results.json per student (the graded submission that counts), with each check's
        visibility from assignment.toml, in one zip: <student>.json."""
        self.staff_member(request)
        offering = self.offering(request.path_params["name"])
        rows = await run_in_threadpool(self.grade_rows, offering)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for r in rows:
                if r.result is not None:
                    data = gradescope_results(r.result, lambda c: offering.assignment.visibility(c.question, c.hidden))
                    zf.writestr(f"{r.person.id}.json", json.dumps(data, indent=2))
        return Response(buf.getvalue(), media_type="application/zip", headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{offering.name}-gradescope.zip"'})

    async def export(self, request: Request) -> Response:
        self.staff_member(request)
        kind = request.path_params["kind"]
        if kind == "gradebook":
            offering = self.offering(request.query_params.get("assignment", ""))
            text = gradebook.gradebook_csv(await run_in_threadpool(self.grade_rows, offering))
            filename = f"{offering.name}-gradebook.csv"
        elif kind in ("canvas", "moodle"):
            per = {name: await run_in_threadpool(self.grade_rows, o) for name, o in self.course.offerings.items()}
            text = (gradebook.canvas_csv if kind == "canvas" else gradebook.moodle_csv)(self.course, per)
            filename = f"{kind}-grades.csv"
        else:
            raise HTTPException(404, "There is no such export.")
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})

    # ------------------------------------------------------------------ the JSON API (`grade submit`)

    def api_person(self, request: Request) -> Person:
        person = self.bearer(request)
        if person is None:
            raise HTTPException(401, "the token is not valid (expired or replaced): ask your course staff for a new "
                                     "sign-in link; its last part is your token")
        return person

    async def api_upload(self, request: Request) -> Response:
        person = await run_in_threadpool(self.api_person, request)
        offering = self.offering(request.path_params["name"])
        try:
            job_id = await self.accept(person, offering, await self.read_form(request))
        except UploadRefused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return JSONResponse({"id": job_id, "url": f"/attempts/{job_id}"}, status_code=201)

    async def api_attempt(self, request: Request) -> Response:
        person = await run_in_threadpool(self.api_person, request)
        job = self.own_job(person, request.path_params["id"])
        result = self.runner.result(job)
        return JSONResponse({
            "id": job.id, "assignment": job.assignment, "kind": job.kind, "state": job.state, "late": job.late,
            "created": job.created.isoformat(), "progress": self.runner.progress(job).to_dict(),
            "result": None if result is None else (result if person.staff else public_view(result)).to_dict(),
        })


def _score(job: JobRecord) -> str:
    if job.state in ("queued", "running"):
        return job.state
    if job.error or job.score is None:
        return "not graded"
    return f"{format_number(job.score, 2)} / {format_number(job.max_score or 0, 2)}"


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def build_app(course: Course, store: Store, runner: Runner, *, https: bool = False) -> Starlette:
    server = Server(course, store, runner)

    async def on_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Something went wrong on the server."
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": detail}, status_code=status)
        titles = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}
        return server.page(request, "server_message.html.j2", status=status, title=titles.get(status, "Error"),
                           message=detail)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(runner.stop)

    routes = [
        Route("/", server.home),
        Route("/signin/{token}", server.signin),
        Route("/signout", server.signout, methods=["POST"]),
        Route("/assignments/{name}", server.assignment),
        Route("/assignments/{name}/template.ipynb", server.template),
        Route("/assignments/{name}/upload", server.upload, methods=["POST"]),
        Route("/attempts/{id}", server.attempt),
        Route("/attempts/{id}/events", server.events),
        Route("/staff", server.staff),
        Route("/staff/assignments/{name}", server.dashboard),
        Route("/staff/assignments/{name}/grade", server.grade_submissions, methods=["POST"]),
        Route("/staff/assignments/{name}/extensions", server.set_extension, methods=["POST"]),
        Route("/staff/assignments/{name}/publish", server.publish, methods=["POST"]),
        Route("/staff/exports/{kind}.csv", server.export),
        Route("/staff/exports/gradescope/{name}.zip", server.gradescope),
        Route("/assignments/{name}/grade", server.my_grade),
        Route("/api/assignments/{name}/attempts", server.api_upload, methods=["POST"]),
        Route("/api/attempts/{id}", server.api_attempt),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=session_secret(course.folder),
                             session_cookie="gradekit_session", max_age=SESSION_DAYS * 86400, same_site="lax",
                             https_only=https)]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={HTTPException: on_error, 500: on_error})
