"""A message sent again goes to the recipients the ledger names now, not those of the day it was queued: after
``apscn district edit``, ``apscn outbox retry ID`` reaches the current contacts, and the history says so.

The text stays as rendered. So a message rendered for someone to forward (a district without a contact, a
vendor without an Onboarding Manager address) keeps its addressee, and nothing is readdressed to nobody."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.kinds import EMAIL_KINDS, Role, email_kind
from apscn_tracker.mail.message import address_emails, normalize_addresses
from apscn_tracker.mail.outbox import OUTBOX, message_event
from apscn_tracker.services.app import App
from apscn_tracker.services.lookup import Lookup
from apscn_tracker.services.recipients import recipients


def current_addresses(session: Session, app: App, row: Outbox, look: Lookup | None = None) -> tuple[str, str] | None:
    """The To and Cc header values the ledger gives ``row`` today, or None to keep those it has (a kind outside
    the registry, rendered from the coordinator's own templates, keeps them too)."""
    if row.kind not in EMAIL_KINDS:
        return None
    kind = email_kind(row.kind)
    who = recipients(session, app, kind=row.kind, district_id=row.district_id, vendor_id=row.vendor_id, look=look)
    if not who.to or who.forward_to_district or who.forward_to_onboarding:
        return None
    coordinator = (app.settings.coordinator_email or "").strip().lower()
    old_to = address_emails(row.to_addrs)
    if Role.COORDINATOR not in kind.to and coordinator and coordinator in old_to:
        return None  # rendered for the coordinator to forward: its text says so
    to = normalize_addresses(who.to, "To")
    taken = {a.lower() for a in address_emails(", ".join(to))}
    cc = [a for a in normalize_addresses(who.cc, "Cc") if address_emails(a)[0] not in taken]
    found = (", ".join(to), ", ".join(cc))
    if found == (row.to_addrs, row.cc_addrs or ""):
        return None
    return found


def readdress(session: Session, app: App, rows: list[Outbox]) -> list[Outbox]:
    """Give each of ``rows`` its current recipients (the row objects too), with a ``message_readdressed`` event
    each ("KIND to NEW (was OLD)"); returns the rows that changed."""
    look = Lookup(session)
    changed = []
    for row in rows:
        found = current_addresses(session, app, row, look)
        if found is None:
            continue
        was = row.to_addrs + (f", cc {row.cc_addrs}" if row.cc_addrs else "")
        row.to_addrs, row.cc_addrs = found
        session.execute(update(OUTBOX).where(OUTBOX.c.id == row.id).values(to_addrs=found[0], cc_addrs=found[1]))
        detail = (f", cc {found[1]}" if found[1] else "") + f" (was {was})"
        session.add(Event(**message_event(row, kind="message_readdressed", actor=app.actor, detail=detail)))
        changed.append(row)
    session.flush()
    return changed
