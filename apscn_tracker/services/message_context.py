"""What the templates of an email see: the district, vendor, school year, renewal and the dates of the next
step, read from the ledger and computed on the state calendar (``message_context``)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from sqlmodel import Session

from apscn_tracker.domain.reminders import RENEWAL_REMINDER
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import expected_enabled_by, request_by
from apscn_tracker.errors import UserError
from apscn_tracker.mail.kinds import EmailKind, Role, Trigger, email_kind
from apscn_tracker.services.app import App
from apscn_tracker.services.digest import digest_values
from apscn_tracker.services.links import email_links
from apscn_tracker.services.lookup import DistrictRow, Lookup, VendorRow
from apscn_tracker.services.recipients import Recipients, recipients

# Keys every context holds, so templates can test them (StrictUndefined refuses unknown names only).
CONTEXT_DEFAULTS: dict[str, Any] = {
    "milestone": None,  # renewal_reminder: days before June 30 of this reminder (60, 30 ...)
    "reminder_number": None,  # send_details_reminder / lapsed_notice: 1, 2, 3 ...
    "reminder_max": None,
    "purpose": None,  # request_form: the purpose line (the template has a default)
    "items": [],  # coordinator_digest: what needs follow-up
    "districts_without_contact": [],
    "delivery_problems": [],
    "district_reported": [],  # coordinator_digest: steps districts recorded by their links since the last digest
    "failed": None,  # delivery_failed: the message that could not be delivered
    "note": None,  # a free line from the coordinator
    "links": [],  # with public_url: the district's link for the step it can record next (services.links)
    "lapsed_since": None,  # renewal_reminder: July 1 of the running year when it has no request (data stopped)
    "lapsed_label": None,  # ... and that year's label
}


def _school_year(value: int | SchoolYear | str | None) -> SchoolYear | None:
    if value is None or isinstance(value, SchoolYear):
        return value
    if isinstance(value, int):
        return SchoolYear(value)
    return SchoolYear.parse(str(value))


def default_year(entry: EmailKind, today: date) -> SchoolYear | None:
    """The school year an email is about when none is given: the current one for an email about a district, the
    one that ended for the yearly report, none for the others."""
    if entry.trigger is Trigger.YEARLY_REPORT:
        return SchoolYear.of(today).previous
    return SchoolYear.of(today) if entry.about_district else None


def _district_dict(look: Lookup, d: DistrictRow) -> dict[str, Any]:
    return {
        "id": d.id,
        "lea": d.lea_code,
        "name": d.name,
        "county": d.county,
        "contacts": [
            {"name": c.name, "email": c.email, "role": c.role}
            for c in (look.contacts(d.id) if d.id is not None else [])
        ],
    }


def _vendor_dict(v: VendorRow) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "onboarding_name": v.onboarding_name, "onboarding_email": v.onboarding_email}


def _year_dict(sy: SchoolYear) -> dict[str, Any]:
    return {"label": sy.label, "start": sy.start, "begins": sy.begins, "ends": sy.ends}


def message_context(
    session: Session,
    app: App,
    *,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | SchoolYear | str | None = None,
    extra: dict[str, Any] | None = None,
    who: Recipients | None = None,
    look: Lookup | None = None,
) -> dict[str, Any]:
    """Everything the templates of ``kind`` may use, from the ledger and the state calendar.

    ``school_year``: the year the message is about. For ``renewal_reminder`` that is the year to request;
    the current year is accepted too and means the one after it. ``extra`` adds or overrides keys
    (``milestone``, ``reminder_number``, ``items`` for the digest, ``failed`` for a delivery notice ...).
    ``who``: the recipients of this message when the caller has them already (else they are looked up).
    ``look``: where the district, vendor, connection and renewal are read (``Prefetched`` for a batch).
    Dates of the next step (``dates.act_by`` ...) are computed on the state calendar from ``app.today``.
    """
    entry = email_kind(kind)
    settings, cal, today = app.settings, app.calendar, app.today
    window = settings.activation_working_days
    look = look or Lookup(session)
    d = look.district(district_id) if district_id is not None else None
    v = look.vendor(vendor_id) if vendor_id is not None else None
    if district_id is not None and d is None:
        raise UserError(f"no district with id {district_id}")
    if vendor_id is not None and v is None:
        raise UserError(f"no vendor with id {vendor_id}")
    sy = _school_year(school_year) or default_year(entry, today)
    if kind == RENEWAL_REMINDER and sy is not None and sy.begins <= today:
        sy = sy.next  # the reminder is about the year that begins after the coming June 30

    conn = renewal = None
    if d is not None and v is not None:
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        conn = look.connection(d.id, v.id)
        if conn is not None and sy is not None:
            assert conn.id is not None
            renewal = look.renewal(conn.id, sy.start)

    dates: dict[str, Any] = {
        "today": today,
        "disconnect_on": sy.ends if sy else None,
        "request_by": None,
        "act_by": None,
        "enabled_by": None,
        "days_left": None,
        "working_days_waiting": None,
        "next_working_day": cal.next_working_day(today),
    }
    if sy is not None:
        before = date(sy.start, 6, 30)  # the disconnect that ends the year before: request sy before it
        if sy.begins > today:  # an advance request
            dates["request_by"] = request_by(cal, before, window)
            dates["disconnect_on"] = before
            dates["days_left"] = (before - today).days
            dates["act_by"] = dates["request_by"] if today <= dates["request_by"] else cal.on_or_after(today)
        else:
            dates["request_by"] = cal.on_or_after(today)
            dates["act_by"] = cal.on_or_after(today)
            dates["days_left"] = (sy.ends - today).days
        dates["enabled_by"] = expected_enabled_by(cal, dates["act_by"], window)
    if entry.act_next_working_day:
        dates["act_by"] = cal.next_working_day(today)
    if renewal is not None and renewal.requested_on is not None:
        dates["working_days_waiting"] = cal.working_days_between(renewal.requested_on, today)

    if who is None:
        who = recipients(session, app, kind=kind, district_id=district_id, vendor_id=vendor_id, look=look)
    ctx: dict[str, Any] = {
        "kind": kind,
        "today": today,
        "coordinator": {"name": settings.coordinator_name, "email": settings.coordinator_email},
        "request_form_url": settings.request_form_url,
        "district": _district_dict(look, d) if d is not None else None,
        "vendor": _vendor_dict(v) if v is not None else None,
        "school_year": _year_dict(sy) if sy is not None else None,
        "connection": {"method": conn.method, "course_planning": conn.course_planning} if conn else None,
        "renewal": (
            {
                "requested_on": renewal.requested_on,
                "expected_enabled_by": renewal.expected_enabled_by,
                "enabled_on": renewal.enabled_on,
                "confirmed_on": renewal.confirmed_on,
            }
            if renewal is not None
            else None
        ),
        "dates": dates,
        "activation_working_days": window,
        "forward_to_district": who.forward_to_district,
        "forward_to_onboarding": who.forward_to_onboarding,
        **copy.deepcopy(CONTEXT_DEFAULTS),
    }
    if Role.DISTRICT in entry.roles and d is not None and d.id is not None and not who.forward_to_district:
        first = next(iter(look.contacts(d.id)), None)
        contact_id = first.id if first is not None else None
        ctx["links"] = email_links(app, connection=conn, contact_id=contact_id, year=sy, renewal=renewal)
    if kind == RENEWAL_REMINDER and conn is not None and conn.id is not None and sy is not None:
        running = sy.previous  # the year the reminder comes in: lapsed when it has begun without a request
        running_renewal = look.renewal(conn.id, running.start)
        if today in running and (running_renewal is None or running_renewal.requested_on is None):
            ctx.update(lapsed_since=running.begins, lapsed_label=running.label)
    if entry.trigger is Trigger.DAILY_DIGEST:
        ctx.update(digest_values(session, app))
    ctx.update(extra or {})
    return ctx
