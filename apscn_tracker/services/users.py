"""The people who use ``apscn serve``: accounts, passwords, tokens and browser sessions.

Passwords are hashed with Argon2 (argon2-cffi's defaults, RFC 9106's low-memory profile); the API token, the
calendar token and each session's cookie token are 32 random bytes, stored only as their SHA-256 (a random
secret that long needs no slow hash). A viewer reads; a coordinator also records steps.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from apscn_tracker.addresses import address_problem
from apscn_tracker.errors import InputError, NotFound, Refused
from apscn_tracker.ledger.models import WebSession, WebUser
from apscn_tracker.ledger.queries import utcnow
from apscn_tracker.services.app import App

ROLES = ("coordinator", "viewer")
TOKEN_KINDS = ("api", "calendar")
SESSION_HOURS = 12
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
USER, SESSION = WebUser.__table__, WebSession.__table__

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("a password nobody has")  # verified against for an unknown email: the same time either way


@dataclass(frozen=True)
class SignedIn:
    """Who a request is from: the user, and (for a browser session) the form token its forms must carry."""

    id: int
    email: str
    role: str
    csrf: str = ""

    @property
    def can_record(self) -> bool:
        return self.role == "coordinator"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_email(email: str) -> str:
    email = email.strip()
    problem = address_problem(email, local_domain=True)
    if problem:
        raise InputError(f"{email!r} is not an email address: {problem}")
    return email.lower()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use coordinator or viewer")
    return role


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters; nothing was changed")
    return password


def _user_id(s: Any, email: str) -> int:
    found = s.scalar(select(USER.c.id).where(USER.c.email == check_email(email)))
    if found is None:
        raise NotFound(f"no user {email.strip()!r}; `apscn user list` shows them")
    return int(found)


def add_user(app: App, *, email: str, role: str = "viewer", password: str) -> dict[str, Any]:
    email, role = check_email(email), check_role(role)
    hashed = _hasher.hash(check_password(password))  # slow on purpose: outside the unit of work
    now = utcnow()
    with app.ledger.write() as s:
        if s.scalar(select(USER.c.id).where(USER.c.email == email)) is not None:
            raise Refused(f"{email} is already a user; `apscn user password {email}` sets a new password")
        s.execute(USER.insert().values(email=email, role=role, password_hash=hashed, created_at=now, updated_at=now))
    return {"email": email, "role": role}


def list_users(app: App) -> list[dict[str, Any]]:
    u = USER.c
    with app.ledger.read() as s:
        rows = s.execute(
            select(
                u.email, u.role, u.api_token_hash.is_not(None), u.calendar_token_hash.is_not(None), u.created_at
            ).order_by(u.email)
        ).all()
    return [
        {"email": e, "role": r, "api_token": bool(a), "calendar_token": bool(c), "created_at": f"{at:%Y-%m-%d}"}
        for e, r, a, c, at in rows
    ]


def remove_user(app: App, *, email: str) -> dict[str, Any]:
    with app.ledger.write() as s:
        uid = _user_id(s, email)
        s.execute(delete(SESSION).where(SESSION.c.user_id == uid))
        s.execute(delete(USER).where(USER.c.id == uid))
    return {"email": check_email(email), "removed": True}


def set_password(app: App, *, email: str, password: str) -> dict[str, Any]:
    hashed = _hasher.hash(check_password(password))
    with app.ledger.write() as s:
        uid = _user_id(s, email)
        s.execute(update(USER).where(USER.c.id == uid).values(password_hash=hashed, updated_at=utcnow()))
        s.execute(delete(SESSION).where(SESSION.c.user_id == uid))  # every browser signs in again
    return {"email": check_email(email), "password": "changed", "sessions_ended": True}


def new_token(app: App, *, email: str, kind: str = "api") -> dict[str, Any]:
    """A new token of ``kind`` for the user (the old one stops working); shown once, stored as its hash."""
    if kind not in TOKEN_KINDS:
        raise InputError(f"unknown token kind {kind!r}; use api or calendar")
    token = secrets.token_urlsafe(32)
    column = "api_token_hash" if kind == "api" else "calendar_token_hash"
    with app.ledger.write() as s:
        uid = _user_id(s, email)
        s.execute(update(USER).where(USER.c.id == uid).values({column: digest(token), "updated_at": utcnow()}))
    result = {"email": check_email(email), "kind": kind, "token": token}
    if kind == "calendar" and app.settings.public_url:
        result["url"] = f"{app.settings.public_url}/calendar.ics?token={token}"
    return result


def authenticate(app: App, *, email: str, password: str) -> SignedIn | None:
    """The user when the password is theirs, else None (an unknown email costs the same hash check)."""
    try:
        address = check_email(email)
    except InputError:
        address = ""
    with app.ledger.read() as s:
        row = s.execute(
            select(USER.c.id, USER.c.email, USER.c.role, USER.c.password_hash).where(USER.c.email == address)
        ).first()
    try:
        _hasher.verify(row[3] if row else _DUMMY, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    return SignedIn(int(row[0]), row[1], row[2]) if row else None


def start_session(app: App, user: SignedIn) -> tuple[str, SignedIn]:
    """A new browser session: the cookie's token (returned, stored as its hash) and the user with a form token."""
    token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
    with app.ledger.write() as s:
        s.execute(delete(SESSION).where(SESSION.c.expires_at < now))  # the expired ones of everybody
        s.execute(
            SESSION.insert().values(
                token_hash=digest(token),
                user_id=user.id,
                csrf=csrf,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return token, SignedIn(user.id, user.email, user.role, csrf)


def session_user(app: App, token: str) -> SignedIn | None:
    u, ss = USER.c, SESSION.c
    with app.ledger.read() as s:
        row = s.execute(
            select(u.id, u.email, u.role, ss.csrf)
            .select_from(SESSION)
            .join(USER, u.id == ss.user_id)
            .where(ss.token_hash == digest(token), ss.expires_at > utcnow())
        ).first()
    return SignedIn(int(row[0]), row[1], row[2], row[3]) if row else None


def end_session(app: App, token: str) -> None:
    with app.ledger.write() as s:
        s.execute(delete(SESSION).where(SESSION.c.token_hash == digest(token)))


def token_user(app: App, token: str, *, kind: str = "api") -> SignedIn | None:
    """The user whose API (or calendar) token this is, else None."""
    column = USER.c.api_token_hash if kind == "api" else USER.c.calendar_token_hash
    with app.ledger.read() as s:
        row = s.execute(select(USER.c.id, USER.c.email, USER.c.role).where(column == digest(token))).first()
    return SignedIn(int(row[0]), row[1], row[2]) if row else None
