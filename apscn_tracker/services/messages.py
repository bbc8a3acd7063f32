"""Queue an email: recipients + context + render + outbox row, inside the caller's transaction.

The tick (reminders, digest, yearly report), ``apscn send`` / ``apscn request-form`` and delivery (its
``delivery_failed`` notices) all queue through ``queue_message`` (or ``prepare_message`` for a batch). Who
gets each kind and what sends it: ``mail.kinds``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger.meta import ledger_id
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.outbox import find_by_key, insert_values, outbox_values
from apscn_tracker.mail.render import Rendered, render
from apscn_tracker.services.app import App
from apscn_tracker.services.lookup import Lookup
from apscn_tracker.services.message_context import message_context
from apscn_tracker.services.recipients import Recipients, recipients

log = logging.getLogger("apscn_tracker.mail")


def render_message(
    session: Session,
    app: App,
    *,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | SchoolYear | str | None = None,
    extra: dict[str, Any] | None = None,
    look: Lookup | None = None,
) -> tuple[Rendered, Recipients, dict[str, Any]]:
    """Recipients, context and rendered content of one message (nothing written)."""
    who = recipients(session, app, kind=kind, district_id=district_id, vendor_id=vendor_id, look=look)
    ctx = message_context(
        session,
        app,
        kind=kind,
        district_id=district_id,
        vendor_id=vendor_id,
        school_year=school_year,
        extra=extra,
        who=who,
        look=look,
    )
    return render(kind, ctx, templates_dir=app.settings.templates_dir), who, ctx


def prepare_message(
    session: Session,
    app: App,
    *,
    key: str,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | SchoolYear | str | None = None,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
    look: Lookup | None = None,
) -> dict[str, Any] | None:
    """Render ``kind`` and return its outbox row's values (``outbox.outbox_values``: checked, nothing written),
    or None when there is nobody to send it to (no contact and no coordinator; logged)."""
    rendered, who, ctx = render_message(
        session,
        app,
        kind=kind,
        district_id=district_id,
        vendor_id=vendor_id,
        school_year=school_year,
        extra=extra,
        look=look,
    )
    if not who.to:
        missing = "; ".join(who.missing)
        group = f"{kind} not queued: nobody to send it to ({missing}); `apscn doctor` lists the districts"
        log.warning("not queuing %s (%s): nobody to send it to (%s)", kind, key, missing, extra={"group": group})
        return None
    year = ctx["school_year"]["start"] if ctx.get("school_year") else None
    return outbox_values(
        key=key,
        kind=kind,
        to=who.to,
        cc=who.cc,
        rendered=rendered,
        district_id=district_id,
        vendor_id=vendor_id,
        school_year=year,
        now=now or datetime.now(UTC),
        mail_from=app.settings.mail_from,
        ledger_id=ledger_id(session),
    )


def queue_message(
    session: Session,
    app: App,
    *,
    key: str,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | SchoolYear | str | None = None,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
    checked: bool = False,
) -> Outbox | None:
    """Render ``kind`` and queue it under ``key`` in the caller's transaction.

    Returns the new row, or None when nothing was queued: the key is already in the outbox (the same
    reminder queued twice), or there is nobody to send it to (no contact and no coordinator; logged).

    ``checked``: the caller has just looked the key up, so it is not looked up again before rendering. Either
    way the insert writes nothing for a key already there.
    """
    if not checked and find_by_key(session, key=key) is not None:
        return None  # queued already: spare the rendering
    values = prepare_message(
        session,
        app,
        key=key,
        kind=kind,
        district_id=district_id,
        vendor_id=vendor_id,
        school_year=school_year,
        extra=extra,
        now=now,
    )
    return insert_values(session, values) if values is not None else None
