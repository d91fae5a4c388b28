"""Send a notebook to the course server and print its feedback: `grade submit`, and from a notebook cell

    from gradekit.client import submit
    submit("rnn_sentiment.ipynb", server="https://grading.example.edu", token="...")

(save the notebook first: what is sent is the file on disk). The server and token may also come from
$GRADEKIT_SERVER and $GRADEKIT_TOKEN. Only the standard library talks to the server; the table printed is
`grade check`'s own, from the results JSON the server sends back (the public checks only).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from gradekit.results import SubmissionResult


class ClientError(Exception):
    """Something the student can act on: no server given, a refused upload (the server's sentence), no answer."""


def _request(url: str, token: str, data: bytes | None = None, content_type: str = "") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        raise ClientError(f"the server refused it: {message}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ClientError(f"could not reach the course server at {url.split('/api/')[0]} ({reason}); check the "
                          "address, or try again in a minute") from None


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "gradekit" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="notebook"; filename="{filename}"\r\n'
                 "Content-Type: application/x-ipynb+json\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def notebook_assignment_name(path: Path) -> str | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    name = (meta.get("gradekit") or {}).get("assignment") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def submit(notebook: str | Path, server: str | None = None, token: str | None = None, *, action: str = "submit",
           assignment: str | None = None, poll: float = 1.0, out: IO[str] | None = None) -> SubmissionResult:
    """Upload `notebook` for a check or a submission, wait for its grading, print the per-question table."""
    out = out or sys.stdout
    server = (server or os.environ.get("GRADEKIT_SERVER", "")).rstrip("/")
    token = token or os.environ.get("GRADEKIT_TOKEN", "")
    if not server or not token:
        raise ClientError("give the course server's address and your token (--server and --token, or "
                          "$GRADEKIT_SERVER and $GRADEKIT_TOKEN): your token is the last part of your sign-in link")
    path = Path(notebook)
    if not path.is_file():
        raise ClientError(f"no such file: {path} (save the notebook first)")
    assignment = assignment or notebook_assignment_name(path)
    if not assignment:
        raise ClientError(f"could not tell which assignment {path.name} is for; pass assignment=... (--assignment)")
    body, content_type = _multipart({"action": action}, path.name, path.read_bytes())
    made = _request(f"{server}/api/assignments/{assignment}/attempts", token, body, content_type)
    print(f"{'checking' if action == 'check' else 'submitted'} {path.name}: attempt {made['id']} "
          f"({server}{made['url']})", file=sys.stderr)
    last = ""
    while True:
        status = _request(f"{server}/api/attempts/{made['id']}", token)
        if status["result"] is not None:
            break
        text = status["progress"]["text"]
        if text != last:
            print(f"  {text}", file=sys.stderr)
            last = text
        time.sleep(poll)
    from gradekit.cli import format_table  # here: the command line's table, without its imports at start

    result = SubmissionResult.from_dict(status["result"])
    if status["late"]:
        print("note: this submission is late (after the due time)", file=out)
    print(format_table(result), file=out)
    print(f"\nFeedback page: {server}{made['url']}", file=out)
    return result
