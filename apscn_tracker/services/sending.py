"""``apscn send KIND LEA`` (and ``apscn request-form LEA``, its shortcut for the request form): a coordinator
queues one of the kinds sent on demand (``mail.kinds``, trigger ``on_demand``) for a district and vendor.

Each is queued once per district, vendor and school year (``powerschool_activation``, a one-time activation:
once per district and vendor) unless ``again`` asks for a new copy; queuing it a second time returns the
message already in the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from apscn_tracker.domain.reminders import ACTIVATION_OVERDUE, LAPSED_NOTICE, SEND_DETAILS_REMINDER
from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.domain.yearchoice import cut_day
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import District, Event, Vendor
from apscn_tracker.mail.kinds import REQUEST_FORM, EmailKind, Role, on_demand
from apscn_tracker.mail.outbox import find_by_key, message_event, row_dict
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import queue_message
from apscn_tracker.services.renewals import request_year


def resolve(session: Session, *, lea: str | None, vendor: str | None) -> tuple[District | None, Vendor | None]:
    """The district and vendor named (None for a name not given); an unknown one is refused."""
    d = q.get_district(session, lea=lea) if lea else None
    v = q.get_vendor(session, name=vendor) if vendor else None
    return d, v


def target_year(session: Session, app: App, *, kind: str, d: District, v: Vendor, year: str | None) -> SchoolYear:
    """The school year an email sent on demand is about: the one given, else the current year; for the
    request form, the year a request made today is for (``renewals.request_year``: the next year once this
    one is requested or past its cut, refused in the season while this one is lapsed)."""
    current = SchoolYear.of(app.today)
    if year:
        return parse_year(year, app.today)
    if kind != REQUEST_FORM:
        return current
    assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
    conn = q.find_connection(session, district_id=d.id, vendor_id=v.id)
    if conn is None or conn.id is None:
        return current
    return request_year(session, app, d, v, conn, app.today)


YEAR_BOUND = (REQUEST_FORM, LAPSED_NOTICE, ACTIVATION_OVERDUE, SEND_DETAILS_REMINDER)
"""The kinds that ask for, or promise, something for their own school year (a renewal reminder is about the next)."""


def check_reachable(app: App, kind: str, sy: SchoolYear | None) -> None:
    """Refuse an email that asks for something for a school year past its cut (a request made today could not
    be enabled before its June 30): no such email is sent, so none is queued or previewed either."""
    if kind not in YEAR_BOUND or sy is None or SchoolYear.of(app.today) != sy:
        return
    cut = cut_day(sy, app.calendar, app.settings.activation_working_days)
    if app.today < cut:
        return
    if kind == REQUEST_FORM:
        raise UserError(
            f"a request for {sy} made today could not be enabled before its June 30 cut; "
            f"the request form is for {sy.next} (`--year {sy.next}`)"
        )
    raise UserError(
        f"no {kind} about {sy} goes out from {cut} (its cut: nothing could be enabled before June 30); "
        f"districts hear about {sy.next} only (`apscn preview renewal_reminder LEA`)"
    )


def _check_route(session: Session, kind: EmailKind, d: District, v: Vendor) -> None:
    """Refuse a kind of one route (API request, scripted upload) for a connection on the other one."""
    assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
    conn = q.find_connection(session, district_id=d.id, vendor_id=v.id)
    if conn is None or conn.retired_on is not None or kind.method is None or conn.method == kind.method:
        return
    if kind.method == "api":
        raise UserError(
            f"{d.lea_code} sends {v.name} files by scripted SFTP upload; it needs no APSCN request or API "
            f"activation (`apscn connect {d.lea_code} --vendor {v.name} --method api` to switch)"
        )
    raise UserError(
        f"{d.lea_code} is connected to {v.name} by the eSchoolPLUS API; {kind.name} is for scripted SFTP uploads "
        f"(`apscn connect {d.lea_code} --vendor {v.name} --method sftp` to switch)"
    )


def _nobody(kind: EmailKind, d: District, v: Vendor) -> UserError:
    vendor = f", {v.name} has no Onboarding Manager address" if Role.ONBOARDING in kind.roles else ""
    return UserError(
        f"nobody to send the {kind.name} to: {d.lea_code} has no contact{vendor} and no coordinator_email is "
        f"configured (`apscn district edit {d.lea_code} --add-email ADDRESS`)"
    )


def send_on_demand(
    app: App, *, kind: str, lea: str, vendor: str = "Xello", year: str | None = None, again: bool = False
) -> dict[str, Any]:
    """Queue ``kind`` (one of the kinds sent on demand) for a district and vendor, with a ``message_queued``
    event, and return the outbox row with its text; ``queued`` says whether a new message was queued."""
    entry = on_demand(kind)
    now = datetime.now(UTC)
    with app.ledger.write() as s:
        d, v = resolve(s, lea=lea, vendor=vendor)
        if d is None or v is None:  # an empty LEA or vendor name
            raise UserError("give the district's LEA code, like 6001000, and a vendor name")
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        _check_route(s, entry, d, v)
        sy = target_year(s, app, kind=kind, d=d, v=v, year=year)
        current = SchoolYear.of(app.today)
        if sy > current.next or sy < current:
            raise UserError(f"{kind} is for {current} or {current.next}, not {sy}")
        check_reachable(app, kind, sy)
        key = f"{kind}:{d.id}:{v.id}" + (f":{sy.start}" if entry.yearly else "")
        if again:
            key += f":{now:%Y%m%dT%H%M%S%f}"
        row = existing = find_by_key(s, key=key)
        if existing is None:
            row = queue_message(
                s, app, key=key, kind=kind, district_id=d.id, vendor_id=v.id, school_year=sy, now=now, checked=True
            )
            if row is None:
                raise _nobody(entry, d, v)
            s.add(Event(**message_event(row, kind="message_queued", actor=app.actor)))
        assert row is not None
        out = row_dict(row, lea=d.lea_code, vendor=v.name)
        out.update(queued=existing is None, district=d.name, text=row.body_text)
        return out
