"""What each email says and to whom: contexts from the ledger, recipients, queuing, preview.

The tick (reminders), the request-form command and delivery (failure notices) all go through
``queue_message``: recipients + context + render + enqueue, inside the caller's transaction.

Recipients per kind (DESIGN.md):

=======================  =============================  ==============================
kind                     to                             cc
=======================  =============================  ==============================
renewal_reminder         district contacts              coordinator
lapsed_notice            district contacts              coordinator
activation_overdue       coordinator                    district contacts
send_details_reminder    district contacts              -
coordinator_digest       coordinator                    -
request_form             district contacts              coordinator
powerschool_activation   district contacts              coordinator
upload_complete          vendor's Onboarding Manager    district contacts, coordinator
delivery_failed          coordinator                    -
report_ready             coordinator                    -
=======================  =============================  ==============================

A district without a contact is never skipped silently: its email goes to the coordinator with a line asking
to forward it (and to add a contact), and the coordinator digest names every such district. Likewise an
``upload_complete`` for a vendor without an Onboarding Manager address goes to the district to forward.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, exists, select
from sqlmodel import Session, col

from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.domain.status import Status, renewal_status
from apscn_tracker.domain.workdays import expected_enabled_by, request_by
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Contact, District, Outbox, Renewal, Vendor
from apscn_tracker.mail.message import HeaderError, format_address
from apscn_tracker.mail.render import ALL_KINDS, KINDS, Rendered, render
from apscn_tracker.services.app import App

log = logging.getLogger("apscn_tracker.mail")

DISTRICT = "district"
COORDINATOR = "coordinator"
ONBOARDING = "onboarding"

ROUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "renewal_reminder": ((DISTRICT,), (COORDINATOR,)),
    "lapsed_notice": ((DISTRICT,), (COORDINATOR,)),
    "activation_overdue": ((COORDINATOR,), (DISTRICT,)),
    "send_details_reminder": ((DISTRICT,), ()),
    "coordinator_digest": ((COORDINATOR,), ()),
    "request_form": ((DISTRICT,), (COORDINATOR,)),
    "powerschool_activation": ((DISTRICT,), (COORDINATOR,)),
    "upload_complete": ((ONBOARDING,), (DISTRICT, COORDINATOR)),
    "delivery_failed": ((COORDINATOR,), ()),
    "report_ready": ((COORDINATOR,), ()),  # the yearly report is written (templates of the report feature)
}
"""kind -> (to, cc) roles."""

DISTRICT_KINDS = frozenset(k for k, (to, cc) in ROUTES.items() if DISTRICT in to + cc)
"""Kinds about one district (they need ``district_id``)."""

# Keys every context holds, so templates can test them (StrictUndefined refuses unknown names only).
_KIND_DEFAULTS: dict[str, Any] = {
    "milestone": None,  # renewal_reminder: days before June 30 of this reminder (60, 30 ...)
    "reminder_number": None,  # send_details_reminder / lapsed_notice: 1, 2, 3 ...
    "reminder_max": None,
    "purpose": None,  # request_form: the purpose line (the template has a default)
    "items": [],  # coordinator_digest: what needs follow-up
    "districts_without_contact": [],
    "delivery_problems": [],
    "failed": None,  # delivery_failed: the message that could not be delivered
    "note": None,  # a free line from the coordinator
}


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]
    forward_to_district: bool = False  # the district has no contact: sent to the coordinator to forward
    forward_to_onboarding: bool = False  # the vendor has no Onboarding Manager address: the district forwards
    missing: list[str] = field(default_factory=list)  # who could not be addressed, in words


@dataclass(frozen=True)
class Preview(Rendered):
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


class Lookup:
    """What contexts and recipients read from the ledger: by default one query per question, in ``session``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def district(self, district_id: int) -> Any:
        return self.session.get(District, district_id)

    def vendor(self, vendor_id: int) -> Any:
        return self.session.get(Vendor, vendor_id)

    def contacts(self, district_id: int) -> list[Any]:
        return q.contacts_of(self.session, district_id=district_id)

    def connection(self, district_id: int, vendor_id: int) -> Any:
        return q.find_connection(self.session, district_id=district_id, vendor_id=vendor_id)

    def renewal(self, connection_id: int, school_year: int) -> Any:
        return q.find_renewal(self.session, connection_id=connection_id, school_year=school_year)


class Prefetched(Lookup):
    """The same answers for a batch of messages (the tick's), read up front in four set-based queries: the
    districts with their contacts, every vendor, the districts' connections and their renewals of ``years``.
    Rows are plain Core rows with the columns as attributes; anything outside the batch is looked up as usual."""

    def __init__(self, session: Session, *, district_ids: Iterable[int], years: Iterable[int]) -> None:
        super().__init__(session)
        ids = sorted(set(district_ids))
        self._years = set(years)
        dist, cont = District.__table__.c, Contact.__table__.c
        conn_c, ren_c = Connection.__table__.c, Renewal.__table__.c
        self._districts: dict[int, Any] = {}
        self._contacts: dict[int, list[Any]] = {}
        self._connections: dict[tuple[int, int], Any] = {}
        self._renewals: dict[tuple[int, int], Any] = {}
        self._vendors = {v.id: v for v in session.execute(select(Vendor.__table__))}
        for chunk in q.chunks(ids):
            for d in session.execute(select(District.__table__).where(dist.id.in_(chunk))):
                self._districts[d.id] = d
                self._contacts[d.id] = []
            for c in session.execute(select(Contact.__table__).where(cont.district_id.in_(chunk)).order_by(cont.id)):
                self._contacts[c.district_id].append(c)
            for c in session.execute(select(Connection.__table__).where(conn_c.district_id.in_(chunk))):
                self._connections[(c.district_id, c.vendor_id)] = c
            renewals = select(Renewal.__table__).where(
                ren_c.connection_id.in_(select(conn_c.id).where(conn_c.district_id.in_(chunk))),
                ren_c.school_year.in_(sorted(self._years)),
            )
            for r in session.execute(renewals):
                self._renewals[(r.connection_id, r.school_year)] = r
        self._connection_ids = {c.id for c in self._connections.values()}

    def district(self, district_id: int) -> Any:
        found = self._districts.get(district_id)
        return found if found is not None else super().district(district_id)

    def vendor(self, vendor_id: int) -> Any:
        found = self._vendors.get(vendor_id)
        return found if found is not None else super().vendor(vendor_id)

    def contacts(self, district_id: int) -> list[Any]:
        found = self._contacts.get(district_id)
        return found if found is not None else super().contacts(district_id)

    def connection(self, district_id: int, vendor_id: int) -> Any:
        if district_id in self._districts:
            return self._connections.get((district_id, vendor_id))
        return super().connection(district_id, vendor_id)

    def renewal(self, connection_id: int, school_year: int) -> Any:
        if school_year in self._years and connection_id in self._connection_ids:
            return self._renewals.get((connection_id, school_year))
        return super().renewal(connection_id, school_year)


def _school_year(value: Any) -> SchoolYear | None:
    if value is None or isinstance(value, SchoolYear):
        return value
    if isinstance(value, int):
        return SchoolYear(value)
    return SchoolYear.parse(str(value))


def _address(email: str | None, name: str | None) -> str | None:
    """A formatted address; the display name is dropped when it cannot be a header (the address stays)."""
    if not email:
        return None
    try:
        return format_address(email, name)
    except HeaderError:
        pass
    try:
        return format_address(email)
    except HeaderError:
        log.warning("skipping unusable address %r", email)
        return None


def recipients(
    session: Session,
    app: App,
    *,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    look: Lookup | None = None,
) -> Recipients:
    """To and Cc of ``kind`` for this district and vendor, with the fallbacks described in the module doc."""
    if kind not in ROUTES:
        raise UserError(f"unknown email kind {kind!r}; kinds: {', '.join(ALL_KINDS)}")
    look = look or Lookup(session)
    to_roles, cc_roles = ROUTES[kind]
    s = app.settings
    coordinator = _address(s.coordinator_email, s.coordinator_name)
    contacts = look.contacts(district_id) if district_id is not None else []
    district_addrs = [a for c in contacts if (a := _address(c.email, c.name))]
    onboarding: str | None = None
    if vendor_id is not None:
        v = look.vendor(vendor_id)
        if v is not None:
            onboarding = _address(v.onboarding_email, v.onboarding_name)

    def addrs(role: str) -> list[str]:
        if role == DISTRICT:
            return list(district_addrs)
        if role == COORDINATOR:
            return [coordinator] if coordinator else []
        return [onboarding] if onboarding else []

    to = [a for r in to_roles for a in addrs(r)]
    cc = [a for r in cc_roles for a in addrs(r)]
    missing: list[str] = []
    forward_district = forward_onboarding = False
    if DISTRICT in to_roles + cc_roles and district_id is not None and not district_addrs:
        missing.append("the district has no contact")
    if ONBOARDING in to_roles and not onboarding:
        missing.append("the vendor has no Onboarding Manager address")
        if district_addrs:
            to, cc = list(district_addrs), [a for a in cc if a not in district_addrs]
            forward_onboarding = True
    if not to and DISTRICT in to_roles and coordinator:
        to, cc = [coordinator], [a for a in cc if a != coordinator]
        forward_district = True
    if not to and COORDINATOR in to_roles:
        missing.append("no coordinator_email is configured")
        if cc:
            to, cc = cc, []
    if not to and ONBOARDING in to_roles and coordinator:
        to, cc = [coordinator], [a for a in cc if a != coordinator]
        forward_district = district_id is not None
    seen = {a.lower() for a in to}
    cc = [a for a in dict.fromkeys(cc) if a.lower() not in seen]
    return Recipients(
        to=list(dict.fromkeys(to)),
        cc=cc,
        forward_to_district=forward_district,
        forward_to_onboarding=forward_onboarding,
        missing=missing,
    )


def _district_dict(look: Lookup, d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "lea": d.lea_code,
        "name": d.name,
        "county": d.county,
        "contacts": [{"name": c.name, "email": c.email, "role": c.role} for c in look.contacts(d.id)],
    }


def _vendor_dict(v: Any) -> dict[str, Any]:
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
    if kind not in ROUTES:
        raise UserError(f"unknown email kind {kind!r}; kinds: {', '.join(ALL_KINDS)}")
    settings, cal, today = app.settings, app.calendar, app.today
    window = settings.activation_working_days
    look = look or Lookup(session)
    d = look.district(district_id) if district_id is not None else None
    v = look.vendor(vendor_id) if vendor_id is not None else None
    if district_id is not None and d is None:
        raise UserError(f"no district with id {district_id}")
    if vendor_id is not None and v is None:
        raise UserError(f"no vendor with id {vendor_id}")
    sy = _school_year(school_year)
    if sy is None and kind in DISTRICT_KINDS:
        sy = SchoolYear.of(today)
    if kind == "renewal_reminder" and sy is not None and sy.begins <= today:
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
    if kind in (
        "activation_overdue",
        "send_details_reminder",
        "coordinator_digest",
        "delivery_failed",
        "upload_complete",
    ):
        dates["act_by"] = cal.next_working_day(today)
    if renewal is not None and renewal.requested_on is not None:
        dates["working_days_waiting"] = cal.working_days_between(renewal.requested_on, today)

    if who is None:
        who = recipients(session, app, kind=kind, district_id=district_id, vendor_id=vendor_id, look=look)
    ctx: dict[str, Any] = {
        "kind": kind,
        "today": today,
        "coordinator": {"name": settings.coordinator_name, "email": settings.coordinator_email},
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
        **copy.deepcopy(_KIND_DEFAULTS),
    }
    if kind == "coordinator_digest":
        ctx["items"] = _attention_items(session, app)
        ctx["districts_without_contact"] = districts_without_contact(session)
        from apscn_tracker.mail.outbox import problems

        end_of_today = datetime.combine(today, time.max, tzinfo=UTC)
        ctx["delivery_problems"] = problems(session, max_attempts=settings.max_attempts, now=end_of_today, days=7)
    ctx.update(extra or {})
    return ctx


def districts_without_contact(session: Session) -> list[dict[str, Any]]:
    """Districts with an active connection and no contact: their reminders go to the coordinator."""
    has_contact = exists().where(col(Contact.district_id) == District.id)
    active = exists().where(and_(col(Connection.district_id) == District.id, col(Connection.retired_on).is_(None)))
    rows = session.execute(
        select(col(District.lea_code), col(District.name)).where(active, ~has_contact).order_by(col(District.lea_code))
    )
    return [{"lea": lea, "name": name} for lea, name in rows]


def _short(day: date | None) -> str:
    return f"{day:%a, %b} {day.day}" if day else "?"


def _attention_items(session: Session, app: App) -> list[dict[str, Any]]:
    """The digest's default list: lapsed, overdue, enabled-not-confirmed, and renewals due for next year."""
    cal, today = app.calendar, app.today
    current = SchoolYear.of(today)
    upcoming = current.next
    horizon = max(app.settings.reminders.renewal_days_before or (60,))
    renewal_season = (current.ends - today).days <= horizon
    window = app.settings.activation_working_days
    conns = session.execute(
        select(col(Connection.id), col(District.lea_code), col(District.name), col(Vendor.name))
        .join(District, col(District.id) == Connection.district_id)
        .join(Vendor, col(Vendor.id) == Connection.vendor_id)
        .where(
            col(Connection.retired_on).is_(None), col(Connection.method) == "api", col(Connection.created_on) <= today
        )
        .order_by(col(District.lea_code), col(Vendor.name))
    ).all()
    renewals: dict[tuple[int, int], Renewal] = {
        (r.connection_id, r.school_year): r
        for r in session.scalars(select(Renewal).where(col(Renewal.school_year).in_((current.start, upcoming.start))))
    }
    items: list[dict[str, Any]] = []
    for conn_id, lea, dname, vname in conns:
        r = renewals.get((conn_id, current.start))
        st = renewal_status(
            method="api",
            year=current,
            today=today,
            requested_on=r.requested_on if r else None,
            expected_enabled_by=r.expected_enabled_by if r else None,
            enabled_on=r.enabled_on if r else None,
            confirmed_on=r.confirmed_on if r else None,
        )
        base = {"lea": lea, "district": dname, "vendor": vname, "school_year": current.label}
        if st == Status.LAPSED:
            items.append(
                {
                    **base,
                    "status": "lapsed",
                    "detail": f"no request, down since {current.begins:%b} {current.begins.day}",
                    "act_by": cal.on_or_after(today),
                }
            )
        elif st == Status.OVERDUE and r is not None and r.requested_on is not None:
            waiting = cal.working_days_between(r.requested_on, today)
            items.append(
                {
                    **base,
                    "status": "overdue",
                    "requested_on": r.requested_on,
                    "expected_enabled_by": r.expected_enabled_by,
                    "working_days_waiting": waiting,
                    "detail": f"requested {_short(r.requested_on)}, due {_short(r.expected_enabled_by)}, "
                    f"{waiting} working days waiting",
                    "act_by": cal.next_working_day(today),
                }
            )
        elif st == Status.ENABLED and r is not None:
            items.append(
                {
                    **base,
                    "status": "enabled",
                    "enabled_on": r.enabled_on,
                    "detail": f"enabled {_short(r.enabled_on)}",
                    "act_by": cal.next_working_day(today),
                }
            )
        nxt = renewals.get((conn_id, upcoming.start))
        if renewal_season and (nxt is None or nxt.requested_on is None):
            by = request_by(cal, current.ends, window)
            items.append(
                {
                    **base,
                    "school_year": upcoming.label,
                    "status": "renewal_due",
                    "request_by": by,
                    "detail": f"request by {_short(by)}",
                    "act_by": by if today <= by else cal.on_or_after(today),
                }
            )
    order = {"overdue": 0, "lapsed": 1, "renewal_due": 2, "enabled": 3}
    items.sort(key=lambda i: (order.get(i["status"], 9), i["lea"], i["vendor"]))
    return items


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
    from apscn_tracker.mail.outbox import outbox_values

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
        log.warning("not queuing %s (%s): nobody to send it to (%s)", kind, key, "; ".join(who.missing))
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
    from apscn_tracker.mail.outbox import find_by_key, insert_values

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


# -- use cases -------------------------------------------------------------------------------------------


def _resolve(session: Session, *, lea: str | None, vendor: str | None) -> tuple[District | None, Vendor | None]:
    d = q.get_district(session, lea=lea) if lea else None
    v = q.get_vendor(session, name=vendor) if vendor else None
    return d, v


def _default_year(session: Session, app: App, d: District, v: Vendor, year: str | None) -> SchoolYear:
    """The year a request form is for: the one given, else the current year if it has no request yet,
    else the next one."""
    current = SchoolYear.of(app.today)
    if year:
        return parse_year(year, app.today)
    assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
    conn = q.find_connection(session, district_id=d.id, vendor_id=v.id)
    if conn is not None:
        assert conn.id is not None
        r = q.find_renewal(session, connection_id=conn.id, school_year=current.start)
        if r is not None and r.requested_on is not None:
            return current.next
    return current


def queue_request_form(
    app: App, *, lea: str, vendor: str = "Xello", year: str | None = None, again: bool = False
) -> dict[str, Any]:
    """Queue the pre-filled "APSCN: eSchoolPLUS API Request" email for a district (once per district, vendor
    and year unless ``again``), and return it with its text."""
    from apscn_tracker.mail.outbox import find_by_key, row_dict

    now = datetime.now(UTC)
    with app.ledger.write() as s:
        d, v = _resolve(s, lea=lea, vendor=vendor)
        if d is None or v is None:  # an empty LEA or vendor name
            raise UserError("give the district's LEA code, like 6001000, and a vendor name")
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        conn = q.find_connection(s, district_id=d.id, vendor_id=v.id)
        if conn is not None and conn.method == "sftp" and conn.retired_on is None:
            raise UserError(
                f"{d.lea_code} sends {v.name} files by scripted SFTP upload; it needs no APSCN request "
                f"(`apscn connect {d.lea_code} --vendor {v.name} --method api` to switch)"
            )
        sy = _default_year(s, app, d, v, year)
        current = SchoolYear.of(app.today)
        if sy > current.next or sy < current:
            raise UserError(f"a request form is for {current} or {current.next}, not {sy}")
        key = f"request_form:{d.id}:{v.id}:{sy.start}"
        if again:
            key += f":{now:%Y%m%dT%H%M%S%f}"
        existing = find_by_key(s, key=key)
        row = None
        if existing is None:
            row = queue_message(
                s,
                app,
                key=key,
                kind="request_form",
                district_id=d.id,
                vendor_id=v.id,
                school_year=sy,
                now=now,
                checked=True,
            )
        queued = row is not None
        if row is None:
            if existing is None:
                raise UserError(
                    f"nobody to send the request form to: {d.lea_code} has no contact and no coordinator_email is "
                    f"configured (`apscn district edit {d.lea_code} --add-email ADDRESS`)"
                )
            row = existing
        else:
            q.add_event(
                s,
                kind="message_queued",
                actor=app.actor,
                district_id=d.id,
                vendor_id=v.id,
                school_year=sy.start,
                note=f"request_form to {row.to_addrs}",
                data={"outbox_id": row.id, "kind": "request_form"},
            )
        out = row_dict(row, lea=d.lea_code, vendor=v.name)
        out.update(queued=queued, district=d.name, text=row.body_text)
        return out


def preview(
    app: App,
    *,
    kind: str,
    lea: str | None = None,
    vendor: str | None = "Xello",
    year: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Preview:
    """Render ``kind`` for a district as it would be sent today; queue nothing, write nothing."""
    if kind not in KINDS:
        raise UserError(f"unknown email kind {kind!r}; kinds: {', '.join(KINDS)}")
    if kind in DISTRICT_KINDS and not lea:
        raise UserError(f"{kind} is about one district: give its LEA code")
    with app.ledger.write() as s:
        d, v = _resolve(s, lea=lea, vendor=vendor if (lea or kind in DISTRICT_KINDS) else None)
        if kind == "request_form" and d is not None and v is not None:
            sy: SchoolYear | None = _default_year(s, app, d, v, year)
        else:
            sy = parse_year(year, app.today) if year else None
        rendered, who, _ = render_message(
            s,
            app,
            kind=kind,
            district_id=d.id if d else None,
            vendor_id=v.id if v else None,
            school_year=sy,
            extra=extra,
        )
    return Preview(subject=rendered.subject, text=rendered.text, html=rendered.html, to=tuple(who.to), cc=tuple(who.cc))


# -- the outbox, for the CLI -----------------------------------------------------------------------------


def outbox_rows(
    app: App, *, status: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """``outbox list``: rows oldest first (the newest ``limit`` when given)."""
    from apscn_tracker.mail.outbox import list_messages

    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    with app.ledger.write() as s:
        return list_messages(s, status=status, kind=kind, limit=limit)


def outbox_message(app: App, *, id: int) -> dict[str, Any]:
    """``outbox show``: one message with its text and HTML."""
    from apscn_tracker.mail.outbox import show_message

    with app.ledger.write() as s:
        return show_message(s, id=id)


def retry_message(app: App, *, id: int) -> dict[str, Any]:
    """``outbox retry``: a failed or waiting message goes out with the next delivery (same Message-ID)."""
    from apscn_tracker.mail.outbox import retry, show_message

    with app.ledger.write() as s:
        row = retry(s, id=id, now=datetime.now(UTC))
        q.add_event(
            s,
            kind="message_retried",
            actor=app.actor,
            district_id=row.district_id,
            vendor_id=row.vendor_id,
            school_year=row.school_year,
            note=f"{row.kind} to {row.to_addrs}",
            data={"outbox_id": row.id, "kind": row.kind},
        )
        s.flush()
        out = show_message(s, id=id)
    out.pop("body_text", None)
    out.pop("body_html", None)
    return out


def send_now(app: App, *, limit: int | None = None) -> dict[str, Any]:
    """``outbox send``: deliver what is due now through the configured transport."""
    from apscn_tracker.mail.delivery import deliver_pending
    from apscn_tracker.mail.outbox import counts

    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    result: dict[str, Any] = dict(deliver_pending(app, limit=limit))
    with app.ledger.write() as s:
        result["queue"] = counts(s)
    result["transport"] = app.settings.mail_transport
    if app.settings.mail_transport == "file":
        result["folder"] = str(app.settings.outbox_dir)
    return result
