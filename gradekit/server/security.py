"""Who is asking: sign-in links, the session's CSRF token, and the limit on failed sign-ins.

A sign-in link carries a random token of which the database keeps only the hash (gradekit.server.store). Signing
in puts the person and the token's id in a signed session cookie (Starlette's SessionMiddleware: HttpOnly,
SameSite=Lax, Secure behind https); every request checks that token is still valid, so revoking or reissuing a
link ends the sessions made with it. Forms that change anything carry the session's CSRF token.
"""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from gradekit.server.store import Store, now

SIGNIN_WINDOW = timedelta(minutes=15)
SIGNIN_FAILURES = 10  # failed sign-ins from one client within the window before it must wait


def session_secret(folder: Path) -> str:
    """The key that signs session cookies, made once per course folder and readable by its owner only."""
    path = folder / ".session-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret


def csrf_token(session: dict) -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def csrf_ok(session: dict, given: object) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and isinstance(given, str) and hmac.compare_digest(expected, given)


def signin_blocked_until(store: Store, client: str) -> datetime | None:
    """When `client` may try again, if it has failed too often lately; None when it may try now."""
    failures = store.signin_failures(client, now() - SIGNIN_WINDOW)
    if len(failures) < SIGNIN_FAILURES:
        return None
    return failures[-SIGNIN_FAILURES] + SIGNIN_WINDOW
