"""The course server over real HTTP: `grade serve` in its own process on a real port, a real SQLite file, toy
assignments graded in real sandboxed kernels. Each route is asked by its owner, by another student, by staff and
by nobody; uploads that must be refused are refused with the sentence a student reads, and nothing is stored."""

from __future__ import annotations

import html
import json
import re
import select
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import nbformat
import pytest
from server_harness import STUDENTS, CourseServer, course_folder, iso, toy_notebook, toy_root

pytestmark = pytest.mark.e2e


def offerings(checks_per_hour: int = 3) -> list[dict]:
    return [{"name": "toy", "opens": iso(-timedelta(days=1)), "due": iso(timedelta(days=7)),
             "checks_per_hour": checks_per_hour},
            {"name": "other", "opens": iso(-timedelta(days=2)), "due": iso(-timedelta(days=1))},
            {"name": "later", "opens": iso(timedelta(days=3)), "due": iso(timedelta(days=9))}]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return toy_root(tmp_path_factory.mktemp("toys"))


@pytest.fixture(scope="module")
def server(root, tmp_path_factory):
    running = CourseServer(course_folder(tmp_path_factory.mktemp("course"), root, offerings())).start()
    yield running
    running.stop()


def notebook_bytes(assignment: str = "toy", who: str = "s01", **kw) -> bytes:
    return nbformat.writes(toy_notebook(assignment, who, **kw)).encode()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def upload(client: httpx.Client, data: bytes, *, action: str = "check", csrf: str | None = "auto",
           name: str = "hw.ipynb", assignment: str = "toy") -> httpx.Response:
    fields = {"action": action}
    if csrf == "auto":
        csrf = csrf_of(client.get(f"/assignments/{assignment}").text)
    if csrf is not None:
        fields["csrf"] = csrf
    return client.post(f"/assignments/{assignment}/upload", data=fields, files={"notebook": (name, data)})


def job_count(server: CourseServer) -> int:
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        return db.execute("select count(*) from jobs").fetchone()[0]


def refusal(reply: httpx.Response) -> str:
    found = re.search(r'<p class="refusal">(.*?)</p>', reply.text, re.S)
    assert found, reply.text[:2000]
    return html.unescape(found.group(1))


# ------------------------------------------------------------------------------------------ signing in


def test_no_session_sees_the_sign_in_page_and_no_course_page(server):
    with server.client() as anyone:
        assert "open the personal sign-in link" in anyone.get("/").text
        for path in ("/assignments/toy", "/assignments/toy/template.ipynb", "/attempts/1", "/attempts/1/events",
                     "/staff"):
            reply = anyone.get(path)
            assert reply.status_code == 401, path
            assert "not signed in" in reply.text
        assert anyone.post("/assignments/toy/upload", files={"notebook": ("a.ipynb", b"{}")}).status_code == 401


def test_a_sign_in_link_signs_its_owner_in_with_a_safe_cookie(server):
    with server.client() as browser:
        reply = browser.get(f"/signin/{server.tokens['s01']}")
        cookie = reply.headers["set-cookie"].lower()
        assert reply.status_code == 303 and "httponly" in cookie and "samesite=lax" in cookie
        home = browser.get("/").text
        assert "Student s01" in home and "Toy toy" in home and "Toy other" in home


def test_a_wrong_link_says_what_to_do(server):
    with server.client() as browser:
        reply = browser.get("/signin/not-a-real-token")
        assert reply.status_code == 404 and "Ask your course staff for a new one" in reply.text


def test_a_reissued_link_ends_the_old_link_and_its_sessions(root, tmp_path):
    server = CourseServer(course_folder(tmp_path / "course", root, offerings())).start()
    try:
        with server.client("s01") as old:
            assert old.get("/assignments/toy").status_code == 200
            again = server.tokens["s01"]
            from server_harness import grade

            assert grade("roster", "invite", str(server.folder), "--student", "s01").returncode == 0
            assert old.get("/assignments/toy").status_code == 401  # the session made with the old link ended
            assert old.get(f"/signin/{again}").status_code == 404
        assert grade("roster", "revoke", str(server.folder), "--student", "s02").returncode == 0
        with server.client() as revoked:
            assert revoked.get(f"/signin/{server.tokens['s02']}").status_code == 404
    finally:
        server.stop()


def test_sign_in_attempts_are_rate_limited(root, tmp_path):
    server = CourseServer(course_folder(tmp_path / "course", root, offerings())).start()
    try:
        with server.client() as guesser:
            for i in range(10):
                assert guesser.get(f"/signin/guess-{i}").status_code == 404
            blocked = guesser.get(f"/signin/{server.tokens['s01']}")  # even a good link waits now
            assert blocked.status_code == 429 and "Try again at" in blocked.text
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ the forms


def test_an_upload_without_or_with_a_wrong_csrf_token_is_refused_and_not_stored(server):
    before = job_count(server)
    with server.client("s01") as browser:
        for token in (None, "forged"):
            reply = upload(browser, notebook_bytes(), csrf=token)
            assert reply.status_code == 403
            assert "nothing was uploaded: reload the page" in refusal(reply)
    assert job_count(server) == before


def test_sign_out_needs_the_csrf_token(server):
    with server.client("s01") as browser:
        assert browser.post("/signout", data={"csrf": "forged"}).status_code == 403
        assert browser.get("/assignments/toy").status_code == 200
        token = csrf_of(browser.get("/assignments/toy").text)
        assert browser.post("/signout", data={"csrf": token}).status_code == 303
        assert browser.get("/assignments/toy").status_code == 401


@pytest.mark.parametrize(("name", "data", "status", "says"), [
    ("report.pdf", b"%PDF-1.4 not a notebook", 415, "report.pdf is not a notebook: upload the .ipynb file"),
    ("hw.ipynb", b"this is not json", 422, "hw.ipynb is not valid JSON"),
    ("hw.ipynb", b"PK\x03\x04zipped", 422, "hw.ipynb is a zip archive, not a notebook"),
    ("hw.ipynb", b"", 400, "No file was chosen"),
], ids=["pdf", "not-json", "zip", "empty"])
def test_a_file_that_is_not_a_notebook_is_refused_with_a_sentence(server, name, data, status, says):
    before = job_count(server)
    with server.client("s03") as browser:
        reply = upload(browser, data, name=name)
    assert reply.status_code == status
    assert says in refusal(reply)
    assert job_count(server) == before


def test_a_notebook_for_another_assignment_is_refused(server):
    with server.client("s03") as browser:
        reply = upload(browser, notebook_bytes("other"))
    assert reply.status_code == 422
    assert "is the notebook of other, not of Toy toy" in refusal(reply)


def test_an_assignment_that_has_not_opened_takes_no_upload(server):
    with server.client("s03") as browser:
        page = browser.get("/assignments/later").text
        assert "This assignment opens" in page and 'type="file"' not in page
        reply = upload(browser, notebook_bytes("later"), assignment="later", csrf=csrf_of(page))
    assert reply.status_code == 403 and "Toy later opens" in refusal(reply)


def test_an_assignment_the_course_does_not_offer_is_not_found(server):
    with server.client("s03") as browser:
        assert browser.get("/assignments/nope").status_code == 404
        assert browser.get("/assignments/nope/template.ipynb").status_code == 404


def test_a_malformed_form_is_a_sentence_and_the_server_goes_on(server):
    with server.client("s03") as browser:
        csrf = csrf_of(browser.get("/assignments/toy").text)
        reply = browser.post("/assignments/toy/upload", content=b"--x\r\ngarbage" * 100,
                             headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert reply.status_code in (400, 403) and "Nothing was uploaded" in reply.text
        assert upload(browser, notebook_bytes(who="s03"), csrf=csrf).status_code == 303


def test_the_live_page_is_told_each_step_then_done(server):
    with server.client("s04") as browser:
        job_id = int(upload(browser, notebook_bytes(who="s04")).headers["location"].rsplit("/", 1)[1])
        with browser.stream("GET", f"/attempts/{job_id}/events") as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            states = [json.loads(line[6:]) for line in events.iter_lines() if line.startswith("data: ")]
    assert states[-1] == {"state": "done", "position": 0, "step": None, "text": "done"}
    steps = [s["step"] for s in states if s["step"]]
    assert all(s["phase"] in ("cell", "question") and 1 <= s["index"] <= s["total"] for s in steps)


def test_a_200_mb_upload_is_refused_on_its_header_before_its_body_is_read(server):
    with server.client("s03") as browser:
        cookie = browser.cookies["gradekit_session"]
    rss_before = _rss(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall((f"POST /assignments/toy/upload HTTP/1.1\r\nHost: x\r\nCookie: gradekit_session={cookie}\r\n"
                      "Content-Type: multipart/form-data; boundary=b\r\n"
                      f"Content-Length: {200 << 20}\r\n\r\n").encode() + b"--b\r\n" + b"x" * (1 << 20))
        reply = _read_reply(sock)
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    assert "The file is larger than 20 MB" in reply
    assert _rss(server) - rss_before < 50 << 20


def _read_reply(sock: socket.socket) -> str:
    """One HTTP reply, read whole by its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return (head + b"\r\n\r\n" + body).decode(errors="replace")


def test_a_200_mb_upload_without_a_length_is_cut_off_at_the_limit(server):
    """Chunked, so no header gives its size away: the server stops reading past 20 MB, and its memory stays flat."""
    with server.client("s03") as browser:
        cookie = browser.cookies["gradekit_session"]
    rss_before = _rss(server)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall((f"POST /assignments/toy/upload HTTP/1.1\r\nHost: x\r\nCookie: gradekit_session={cookie}\r\n"
                      "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
        head = b'--b\r\nContent-Disposition: form-data; name="notebook"; filename="big.ipynb"\r\n\r\n'
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        chunk = b"x" * (1 << 20)
        piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            while sent < 200 << 20 and not select.select([sock], [], [], 0)[0]:  # until the server answers
                sock.sendall(piece)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = _read_reply(sock)
    assert sent < 40 << 20, f"the server answered only after {sent >> 20} MB"
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    assert "The file is larger than 20 MB" in reply
    assert _rss(server) - rss_before < 100 << 20


def _rss(server: CourseServer) -> int:
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ------------------------------------------------------------------------------------------ grading


def test_a_check_is_graded_with_the_public_checks_only(server):
    with server.client("s04") as browser:
        reply = upload(browser, notebook_bytes(who="s04"))
        assert reply.status_code == 303
        job_id = int(reply.headers["location"].rsplit("/", 1)[1])
        status = server.wait("s04", job_id)
        page = browser.get(f"/attempts/{job_id}").text
    result = status["result"]
    assert (result["score"], result["max_score"]) == (4, 4)
    assert result["hidden_left_out"] == 1
    assert "xyzzy" not in json.dumps(status) and "xyzzy" not in page  # the hidden check, by name
    assert "Your attempts" in page and "who=s04" in page


def test_the_server_gives_the_result_grade_check_gives(server, root, tmp_path):
    from gradekit.config import load_assignment
    from gradekit.runner import grade_notebook

    path = tmp_path / "s05.ipynb"
    path.write_bytes(notebook_bytes(who="s05", answer="41"))
    with server.api("s05") as api:
        made = api.post("/api/assignments/toy/attempts", data={"action": "check"},
                        files={"notebook": ("s05.ipynb", path.read_bytes())}).json()
    served = server.wait("s05", made["id"])["result"]
    local = grade_notebook(path, load_assignment("toy", root), mode="check").to_dict()
    keep = ("name", "question", "points", "max_points", "status", "message")
    assert [{k: c[k] for k in keep} for c in served["checks"]] == [{k: c[k] for k in keep} for c in local["checks"]]
    assert served["score"] == local["score"] == 2


def test_the_self_check_limit_says_when_the_next_check_is_allowed(server):
    with server.client("s06") as browser:
        for _ in range(3):
            assert upload(browser, notebook_bytes(who="s06")).status_code == 303
        before = job_count(server)
        refused = upload(browser, notebook_bytes(who="s06"))
        assert refused.status_code == 429
        assert re.search(r"You have used all 3 self-checks of the last hour\. Your next check is allowed at .+ \(in "
                         r"(59|60) minutes\)", refusal(refused))
        assert job_count(server) == before
        assert upload(browser, notebook_bytes(who="s06"), action="submit").status_code == 303  # not counted


def test_a_submission_after_the_due_time_is_marked_late(server):
    with server.client("s07") as browser:
        reply = upload(browser, notebook_bytes("other", who="s07"), action="submit", assignment="other")
        job_id = int(reply.headers["location"].rsplit("/", 1)[1])
        assert server.wait("s07", job_id)["late"] is True
        assert "late" in browser.get("/assignments/other").text


def test_the_template_downloads(server):
    with server.client("s01") as browser:
        reply = browser.get("/assignments/toy/template.ipynb")
    assert reply.status_code == 200
    assert nbformat.reads(reply.text, as_version=4).metadata["gradekit"]["assignment"] == "toy"


# ------------------------------------------------------------------------------------------ whose is what


def test_another_students_attempt_is_not_found_on_any_route(server):
    with server.client("s08") as owner:
        job_id = int(upload(owner, notebook_bytes(who="s08")).headers["location"].rsplit("/", 1)[1])
    server.wait("s08", job_id)
    with server.client("s09") as other, server.api("s09") as other_api:
        for path in (f"/attempts/{job_id}", f"/attempts/{job_id}/events"):
            reply = other.get(path)
            assert reply.status_code == 404 and "who=s08" not in reply.text, path
        assert other_api.get(f"/api/attempts/{job_id}").status_code == 404
        assert other.get("/staff").status_code == 404
        assert "who=s08" not in other.get("/assignments/toy").text
    with server.client("ta1") as ta:
        assert "who=s08" in ta.get(f"/attempts/{job_id}").text
        assert "s08" in ta.get("/staff").text


def test_the_api_wants_a_valid_token(server):
    with httpx.Client(base_url=server.url) as nobody:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            reply = nobody.get("/api/attempts/1", headers=headers)
            assert reply.status_code == 401 and "token is not valid" in reply.json()["error"]


def test_fifty_concurrent_uploads_from_ten_students_are_all_graded_and_none_mixed_up(server):
    def send(i: int) -> tuple[str, str, int]:
        student, tag = STUDENTS[i % 10], f"{STUDENTS[i % 10]}-{i}"
        with server.api(student) as api:
            reply = api.post("/api/assignments/toy/attempts", data={"action": "submit"},
                             files={"notebook": (f"{tag}.ipynb", notebook_bytes(who=tag))})
        assert reply.status_code == 201, reply.text
        return student, tag, reply.json()["id"]

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        sent = list(pool.map(send, range(50)))
    assert len({job for _, _, job in sent}) == 50
    for student, tag, job in sent:
        result = server.wait(student, job, timeout=600)["result"]
        assert result["student"] == student
        assert f"who={tag}" in [c["message"] for c in result["checks"]]
    print(f"\n50 uploads graded in {time.monotonic() - start:.1f} s with 2 job slots")
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        states = {db.execute("select state, tries from jobs where id = ?", (job,)).fetchone() for *_, job in sent}
        assert states == {("done", 1)}


# ------------------------------------------------------------------------------------------ jobs that survive


def test_a_server_killed_mid_grading_finishes_every_job_once_after_a_restart(root, tmp_path):
    server = CourseServer(course_folder(tmp_path / "course", root, offerings(checks_per_hour=20)), jobs=2).start()
    try:
        with server.api("s01") as api:
            ids = [api.post("/api/assignments/toy/attempts", data={"action": "submit"},
                            files={"notebook": ("hw.ipynb", notebook_bytes(who=f"slow-{i}", delay=3))}).json()["id"]
                   for i in range(4)]
        deadline = time.monotonic() + 120
        while _states(server, ids).count("running") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _states(server, ids).count("running") == 2
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        server.kill()
        time.sleep(2)
        assert not [pid for pid in workers if _alive(pid)], "a warm worker outlived its server"
        server.start()
        for i, job in enumerate(ids):
            result = server.wait("s01", job, timeout=300)["result"]
            assert f"who=slow-{i}" in [c["message"] for c in result["checks"]]
        with sqlite3.connect(server.folder / "gradekit.db") as db:
            rows = db.execute("select state, tries from jobs order by id").fetchall()
        assert [state for state, _ in rows] == ["done"] * 4
        assert sorted(tries for _, tries in rows) == [1, 1, 2, 2]  # the two running at the kill ran again, once
    finally:
        server.stop()


def test_a_job_whose_grader_dies_twice_ends_as_an_error_for_the_student(root, tmp_path):
    server = CourseServer(course_folder(tmp_path / "course", root, offerings()), jobs=1).start()
    try:
        with server.client("s02") as browser:
            job_id = int(upload(browser, notebook_bytes(who="s02", crash=True)).headers["location"].rsplit("/", 1)[1])
            status = server.wait("s02", job_id)
            page = browser.get(f"/attempts/{job_id}").text
        assert status["state"] == "error"
        assert status["result"]["error"].startswith("grading stopped twice while your notebook was being checked")
        assert "grading stopped twice" in page and "Traceback" not in page
        with server.client("s02") as browser:
            again = upload(browser, notebook_bytes(who="s02"))  # the slot has a worker again
        assert server.wait("s02", int(again.headers["location"].rsplit("/", 1)[1]))["state"] == "done"
    finally:
        server.stop()


def _states(server: CourseServer, ids: list[int]) -> list[str]:
    with sqlite3.connect(server.folder / "gradekit.db") as db:
        return [db.execute("select state from jobs where id = ?", (i,)).fetchone()[0] for i in ids]


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for init to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


# ------------------------------------------------------------------------------------------ from the command line


def test_grade_submit_prints_the_check_table(server, tmp_path):
    from server_harness import grade

    path = tmp_path / "mine.ipynb"
    path.write_bytes(notebook_bytes(who="s10", answer="7"))
    done = grade("submit", str(path), "--server", server.url, "--token", server.tokens["s10"], "--check")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Q1 the answer +1 / 3 +partial$", done.stdout, re.M)
    assert "answer is 7; it should be 42" in done.stdout
    assert "Score: 2 / 4 (public checks)" in done.stdout and "1 hidden check" in done.stdout
    refused = grade("submit", str(path), "--server", server.url, "--token", "wrong")
    assert refused.returncode == 2 and "token is not valid" in refused.stderr


def test_the_demo_prints_sign_in_links_that_work():
    import subprocess
    import sys

    from server_harness import PROJECT, free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(PROJECT / "grade.py"), "serve", "--demo", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        links = dict(re.findall(r"^  (.+?) \((?:student|ta)\): (\S+)$", "".join(lines), re.M))
        assert set(links) == {"Ada Lovelace", "Alan Turing", "Grace Hopper"}
        deadline = time.monotonic() + 60
        while True:
            try:
                with httpx.Client() as browser:
                    assert browser.get(links["Ada Lovelace"]).status_code == 303
                    home = browser.get(f"http://127.0.0.1:{port}/").text
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert "Ada Lovelace" in home and "RNN sentiment analysis" in home
    finally:
        proc.terminate()
        proc.wait(timeout=30)
