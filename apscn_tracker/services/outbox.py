"""The outbox commands: ``apscn outbox list | show`` (reads: they never wait for a writer), ``retry``, ``send``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from apscn_tracker.errors import UserError
from apscn_tracker.ledger.db import describe_db_error
from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.kinds import email_kind
from apscn_tracker.mail.outbox import counts, list_messages, message_event, retry, show_message
from apscn_tracker.services.app import App
from apscn_tracker.services.delivery import deliver_pending
from apscn_tracker.services.readdress import readdress


def outbox_rows(
    app: App, *, status: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """``outbox list``: rows oldest first (the newest ``limit`` when given)."""
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    with app.ledger.read() as s:
        return list_messages(s, status=status, kind=kind, limit=limit)


def outbox_message(app: App, *, id: int) -> dict[str, Any]:
    """``outbox show``: one message with its text and HTML."""
    with app.ledger.read() as s:
        return show_message(s, id=id)


def retry_message(app: App, *, id: int) -> dict[str, Any]:
    """``outbox retry``: a failed or waiting message (or a sent one that some recipients missed) goes out with
    the next delivery, same Message-ID, to the recipients the ledger names now who have not received it."""
    with app.ledger.write() as s:
        row = retry(s, id=id, now=datetime.now(UTC))
        readdress(s, app, [row])
        s.add(Event(**message_event(row, kind="message_retried", actor=app.actor)))
        s.flush()
        out = show_message(s, id=id)
    out.pop("body_text", None)
    out.pop("body_html", None)
    return out


def retry_failed(app: App, *, kind: str | None = None) -> list[dict[str, Any]]:
    """``outbox retry --failed [--kind K]``: every failed message (of that kind) back in line, each as
    ``retry_message`` puts it, in one transaction."""
    if kind is not None:
        email_kind(kind)  # an unknown kind: refused with the list
    now = datetime.now(UTC)
    with app.ledger.write() as s:
        stmt = select(Outbox).where(col(Outbox.status) == "failed")
        if kind is not None:
            stmt = stmt.where(col(Outbox.kind) == kind)
        rows = list(s.scalars(stmt.order_by(col(Outbox.id))))
        for row in rows:
            retry(s, id=row.id or 0, now=now, row=row)
        readdress(s, app, rows)
        for row in rows:
            s.add(Event(**message_event(row, kind="message_retried", actor=app.actor)))
        s.flush()
        return [{"id": r.id, "kind": r.kind, "to": r.to_addrs, "cc": r.cc_addrs} for r in rows]


def send_now(app: App, *, limit: int | None = None) -> dict[str, Any]:
    """``outbox send``: deliver what is due now through the configured transport. A problem that stops the run
    (the mail setup, a full disk) is ``error``, one line, beside the counts of what was done before it."""
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    result: dict[str, Any] = {"sent": 0, "failed": 0, "retrying": 0}
    try:
        deliver_pending(app, limit=limit, counts=result)  # counted as they go: true if it stops midway
    except Exception as exc:  # the mail setup, a full disk: what was sent is counted, the rest waits
        error = str(exc) if isinstance(exc, UserError) else describe_db_error(exc)
        if error is None:
            raise
        result["error"] = error
    with app.ledger.read() as s:
        result["queue"] = counts(s)
    result["transport"] = app.settings.mail_transport
    if app.settings.mail_transport == "file":
        result["folder"] = str(app.settings.outbox_dir)
    return result
