"""The outbox: one row per rendered email, unique per idempotency key. The caller owns the transaction.

``enqueue`` is meant to run inside the transaction that records the event which caused the message (a
reminder, a request form), so a message is queued if and only if its event is recorded. Queuing the same key
twice writes nothing the second time, even when two processes race (INSERT .. ON CONFLICT DO NOTHING on
SQLite and PostgreSQL, a savepoint elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from apscn_tracker.config import load_settings
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.errors import NotFound, UserError
from apscn_tracker.ledger.meta import ledger_id
from apscn_tracker.ledger.models import District, Outbox, Vendor
from apscn_tracker.ledger.queries import chunks, event_row, insert_rows
from apscn_tracker.mail import outcomes
from apscn_tracker.mail.message import HeaderError, check_header, make_message_id, normalize_addresses, parse_addresses
from apscn_tracker.mail.owners import abandoned
from apscn_tracker.mail.render import Rendered, check_kind

OUTBOX = Outbox.__table__
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed")
"""Where an outbox message stands (a renewal's status is another thing: ``domain.status.STATUSES``)."""
KEY_MAX = 200
_KEY = re.compile(r"^[\x21-\x7e]+$")


def _aware(value: datetime, what: str = "now") -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime (UTC)")
    return value.astimezone(UTC)


def _year(value: Any) -> int | None:
    if value is None:
        return None
    start = getattr(value, "start", value)
    return int(start)


def find_by_key(session: Session, *, key: str) -> Outbox | None:
    return session.scalars(select(Outbox).where(col(Outbox.key) == key)).first()


def outbox_values(
    *,
    key: str,
    kind: str,
    to: list[str],
    cc: list[str] | None = None,
    rendered: Rendered,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | None = None,
    now: datetime,
    mail_from: str | None = None,
    ledger_id: str | None = None,
) -> dict[str, Any]:
    """The checked values of one outbox row (nothing written); see ``enqueue``."""
    now = _aware(now)
    if not isinstance(key, str) or not key or len(key) > KEY_MAX or not _KEY.match(key):
        raise ValueError(f"outbox key must be 1..{KEY_MAX} printable characters without spaces, not {key!r}")
    check_kind(kind)
    to_list = normalize_addresses(list(to), "To")
    if not to_list:
        raise HeaderError(f"{kind}: no recipient")
    taken = {a.addr_spec.lower() for v in to_list for a in parse_addresses(v)}
    cc_list = [
        v for v in normalize_addresses(list(cc or []), "Cc") if parse_addresses(v)[0].addr_spec.lower() not in taken
    ]
    subject = check_header("Subject", rendered.subject)
    if mail_from is None:
        mail_from = load_settings().mail_from
    return {
        "key": key,
        "kind": kind,
        "district_id": district_id,
        "vendor_id": vendor_id,
        "school_year": _year(school_year),
        "to_addrs": ", ".join(to_list),
        "cc_addrs": ", ".join(cc_list),
        "subject": subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "message_id": make_message_id(key, mail_from, ledger_id),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    to: list[str],
    cc: list[str] | None = None,
    rendered: Rendered,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | None = None,
    now: datetime,
    mail_from: str | None = None,
) -> Outbox | None:
    """Queue one message; None (and nothing written) when ``key`` is already in the outbox: the INSERT itself
    says so (ON CONFLICT DO NOTHING, a savepoint elsewhere), with no look-up before it.

    ``to``/``cc`` hold addresses (``Name <email>`` or ``email``); ``cc`` loses any address already in ``to``.
    The Message-ID is fixed now, from the key and the domain of ``mail_from`` (default: the configured one).
    Raises ``HeaderError`` for a line break in the subject or an address, or when there is no recipient.
    """
    values = outbox_values(
        key=key,
        kind=kind,
        to=to,
        cc=cc,
        rendered=rendered,
        district_id=district_id,
        vendor_id=vendor_id,
        school_year=school_year,
        now=now,
        mail_from=mail_from,
        ledger_id=ledger_id(session),
    )
    return insert_values(session, values)


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # lazy: load only the dialect in use

        return sqlite_insert(Outbox).on_conflict_do_nothing(index_elements=["key"])
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert  # lazy, as above

    return postgresql_insert(Outbox).on_conflict_do_nothing(index_elements=["key"])


def insert_values(session: Session, values: dict[str, Any]) -> Outbox | None:
    """Insert one row of ``outbox_values``; None (nothing written) when its key is there already."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = _insert_ignoring_duplicates(dialect).values(**values).returning(col(Outbox.id))
        new_id = session.execute(stmt).scalar()
        if new_id is None:
            return None
        return session.get(Outbox, new_id)
    row = Outbox(**values)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def queued_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are in the outbox already (one query per ``IN_LIST`` keys)."""
    found: set[str] = set()
    for chunk in chunks(list(keys)):
        found.update(session.scalars(select(OUTBOX.c.key).where(OUTBOX.c.key.in_(chunk))))
    return found


def insert_many(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows of ``outbox_values`` at once; returns key -> id of the rows this call wrote.

    Keys already in the outbox are left out first, read in the caller's transaction, which holds the ledger's
    write lock (``Ledger.transaction``): no other writer can add one before the insert. Then one executemany
    INSERT and one read of the new ids.
    """
    there = queued_keys(session, [r["key"] for r in rows])
    new = [r for r in rows if r["key"] not in there]
    if not new:
        return {}
    insert_rows(session, OUTBOX, new)
    ids: dict[str, int] = {}
    for chunk in chunks([r["key"] for r in new]):
        found = session.execute(select(OUTBOX.c.key, OUTBOX.c.id).where(OUTBOX.c.key.in_(chunk)))
        ids.update((key, id_) for key, id_ in found)
    return ids


# -- reading ---------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _label(start: int | None) -> str | None:
    if start is None:
        return None
    return SchoolYear(start).label


def _split(text: str) -> list[str]:
    try:
        return [str(a) for a in parse_addresses(text or "")]
    except HeaderError:
        return [text]


def row_dict(row: Outbox, *, lea: str | None = None, vendor: str | None = None) -> dict[str, Any]:
    """The JSON shape of ``outbox list --json``."""
    return {
        "id": row.id,
        "kind": row.kind,
        "lea": lea,
        "vendor": vendor,
        "school_year": _label(row.school_year),
        "to": _split(row.to_addrs),
        "cc": _split(row.cc_addrs),
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "message_id": row.message_id,
        "last_error": row.last_error,
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
        "recipients": outcomes.per_recipient(row),
    }


def _with_names():
    return (
        select(Outbox, col(District.lea_code), col(Vendor.name))
        .select_from(Outbox)
        .outerjoin(District, col(District.id) == Outbox.district_id)
        .outerjoin(Vendor, col(Vendor.id) == Outbox.vendor_id)
    )


def list_messages(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Rows oldest first; with ``limit``, the newest ``limit`` rows."""
    if status is not None and status not in MESSAGE_STATUSES:
        raise UserError(f"unknown status {status!r}; use one of {', '.join(MESSAGE_STATUSES)}")
    stmt = _with_names()
    if status is not None:
        stmt = stmt.where(Outbox.status == status)
    if kind is not None:
        stmt = stmt.where(Outbox.kind == kind)
    stmt = stmt.order_by(col(Outbox.id).desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [row_dict(o, lea=lea, vendor=v) for o, lea, v in session.execute(stmt)]
    rows.reverse()
    return rows


def get_message(session: Session, *, id: int) -> Outbox:
    row = session.get(Outbox, id)
    if row is None:
        raise NotFound(f"no outbox message {id} (`apscn outbox list` shows them)")
    return row


def show_message(session: Session, *, id: int) -> dict[str, Any]:
    """One row with its content, for ``outbox show``."""
    found = session.execute(_with_names().where(Outbox.id == id)).first()
    if found is None:
        raise NotFound(f"no outbox message {id} (`apscn outbox list` shows them)")
    row, lea, vendor = found
    out = row_dict(row, lea=lea, vendor=vendor)
    out.update(
        key=row.key,
        claimed_by=row.claimed_by,
        body_text=row.body_text,
        body_html=row.body_html,
    )
    return out


def retry(session: Session, *, id: int, now: datetime, row: Outbox | None = None) -> Outbox:
    """Put a failed (or waiting) message back in line for the next delivery run, or a sent one that some
    recipients did not get (refused for good). Its Message-ID stays; who got it already does not get it again
    (``outcomes``). A message in ``sending`` can be put back only when its sender is gone or its claim is stale
    (``owners.abandoned``)."""
    now = _aware(now)
    row = row or get_message(session, id=id)
    if row.status == "sent" and not outcomes.in_state(row, outcomes.load(row), outcomes.FAILED, outcomes.DEFERRED):
        raise UserError(f"message {id} was sent on {_iso(row.sent_at)} to every recipient; nothing to retry")
    if row.status == "sending" and abandoned(row.claimed_by, row.claimed_at, now) is None:
        raise UserError(f"message {id} is being sent now (by {row.claimed_by}); wait for it to finish")
    row.status = "pending"
    row.next_attempt_at = now
    row.claimed_at = None
    row.claimed_by = None
    session.add(row)
    return row


def problems(session: Session, *, max_attempts: int, now: datetime, days: int = 7) -> list[dict[str, Any]]:
    """What the coordinator digest must show: messages still waiting after ``max_attempts`` tries, and those
    that failed for good in the last ``days`` days (``outbox retry ID`` sends one again)."""
    now = _aware(now)
    since = now - timedelta(days=days)
    stmt = _with_names().where(
        or_(
            and_(col(Outbox.status).in_(("pending", "sending")), col(Outbox.attempts) >= max_attempts),
            and_(col(Outbox.status) == "failed", func.coalesce(Outbox.claimed_at, Outbox.created_at) >= since),
        )
    )
    return [row_dict(o, lea=lea, vendor=v) for o, lea, v in session.execute(stmt.order_by(Outbox.id))]


def counts(session: Session) -> dict[str, int]:
    """Messages per status (every status present, zero when none)."""
    found = {
        status: n for status, n in session.execute(select(col(Outbox.status), func.count()).group_by(Outbox.status))
    }
    return {s: int(found.get(s, 0)) for s in MESSAGE_STATUSES}


def message_event(row: Outbox, *, kind: str, actor: str, detail: str = "", **data: Any) -> dict[str, Any]:
    """The values of an event about one outbox message (queued, retried, sent, failed): its district, vendor and
    year, the note "KIND to ADDRESSES" followed by ``detail``, and the message's id and kind with ``data``."""
    return event_row(
        kind=kind,
        actor=actor,
        district_id=row.district_id,
        vendor_id=row.vendor_id,
        school_year=row.school_year,
        note=f"{row.kind} to {row.to_addrs}{detail}",
        data={"outbox_id": row.id, "kind": row.kind, **data},
    )
