"""The yearly APSCN request cycle: request, enable, confirm, and corrections recorded as new events."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from apscn_tracker.domain.projection import FIELD_OF_STEP
from apscn_tracker.domain.schoolyear import SchoolYear, SchoolYearError
from apscn_tracker.domain.workdays import expected_enabled_by
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Renewal, Vendor
from apscn_tracker.services.app import App


def parse_year(text: str | None, default: SchoolYear) -> SchoolYear:
    if not text:
        return default
    try:
        return SchoolYear.parse(text)
    except SchoolYearError as exc:
        raise UserError(str(exc)) from None


def _load(s: Session, app: App, lea: str, vendor: str, *, create: bool = False) -> tuple[District, Vendor, Connection]:
    d = q.get_district(s, lea=lea)
    v = q.get_vendor(s, name=vendor)
    assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
    c = q.find_connection(s, district_id=d.id, vendor_id=v.id)
    if c is None and create:
        c = Connection(district_id=d.id, vendor_id=v.id, method="api", created_on=app.today)
        s.add(c)
        s.flush()
        q.add_event(
            s,
            kind="connected",
            actor=app.actor,
            district_id=d.id,
            vendor_id=v.id,
            effective_on=app.today,
            data={"method": "api"},
            note="created by the first request",
        )
    if c is None:
        raise UserError(f"{d.lea_code} has no {v.name} connection; `apscn connect {d.lea_code} --vendor {v.name}`")
    if c.retired_on is not None:
        raise UserError(
            f"the {v.name} connection of {d.lea_code} was retired on {c.retired_on}; "
            f"`apscn connect {d.lea_code} --vendor {v.name}` brings it back"
        )
    if c.method == "sftp":
        raise UserError(
            f"{d.lea_code} sends {v.name} files by scripted SFTP upload; it needs no APSCN request "
            f"(`apscn connect {d.lea_code} --vendor {v.name} --method api` to switch)"
        )
    return d, v, c


def _check_day(on: date, today: date, what: str) -> None:
    if on > today:
        raise UserError(f"{what} date {on} is after today ({today}); record it on the day it happens")


def _result(d: District, v: Vendor, year: SchoolYear, r: Renewal, **extra: Any) -> dict[str, Any]:
    iso = lambda x: x.isoformat() if x else None  # noqa: E731
    return {
        "lea": d.lea_code,
        "district": d.name,
        "vendor": v.name,
        "school_year": year.label,
        "requested_on": iso(r.requested_on),
        "expected_enabled_by": iso(r.expected_enabled_by),
        "enabled_on": iso(r.enabled_on),
        "confirmed_on": iso(r.confirmed_on),
        **extra,
    }


def record_request(
    app: App,
    *,
    lea: str,
    vendor: str = "Xello",
    year: str | None = None,
    on: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    on = on or app.today
    _check_day(on, app.today, "request")
    sy = parse_year(year, SchoolYear.of(on))
    current = SchoolYear.of(app.today)
    if sy > current.next:
        raise UserError(f"{sy} is more than one school year ahead; requests go in for {current} or {current.next}")
    if on > sy.ends:
        raise UserError(f"{sy} ended on {sy.ends}; a request on {on} belongs to {SchoolYear.of(on)}")
    if on < date(sy.start - 1, 7, 1):
        raise UserError(f"a request on {on} is too early for {sy}")
    expected = expected_enabled_by(app.calendar, on, app.settings.activation_working_days)
    with app.ledger.write() as s:
        d, v, c = _load(s, app, lea, vendor, create=True)
        assert c.id is not None  # read from the ledger, or flushed by _load
        r = q.find_renewal(s, connection_id=c.id, school_year=sy.start)
        if r is not None and r.requested_on is not None:
            raise UserError(
                f"{d.lea_code} already requested {v.name} for {sy} on {r.requested_on}. To fix that date: "
                f"`apscn correct {d.lea_code} --year {sy} --requested-on DATE --note WHY`; for next year: "
                f"`apscn request {d.lea_code} --year {sy.next}`"
            )
        if r is None:
            r = Renewal(connection_id=c.id, school_year=sy.start)
            s.add(r)
        r.requested_on, r.expected_enabled_by = on, expected
        q.add_event(
            s,
            kind="requested",
            actor=app.actor,
            district_id=d.id,
            vendor_id=v.id,
            school_year=sy.start,
            effective_on=on,
            note=note,
            data={"expected_enabled_by": expected.isoformat()},
        )
        return _result(d, v, sy, r)


def _renewal(
    s: Session, app: App, lea: str, vendor: str, year: str | None, on: date
) -> tuple[District, Vendor, SchoolYear, Renewal]:
    d, v, c = _load(s, app, lea, vendor)
    assert c.id is not None  # read from the ledger
    if year:
        sy = parse_year(year, SchoolYear.of(on))
        r = q.find_renewal(s, connection_id=c.id, school_year=sy.start)
    else:  # the latest year with a request on or before the date
        sy, r = SchoolYear.of(on), None
        found = [
            (candidate, q.find_renewal(s, connection_id=c.id, school_year=candidate.start))
            for candidate in (SchoolYear.of(on).next, SchoolYear.of(on))
        ]
        requested = [(y, x) for y, x in found if x is not None and x.requested_on is not None]
        on_time = [(y, x) for y, x in requested if x.requested_on <= on]  # type: ignore[operator]
        if on_time or requested:
            sy, r = (on_time or requested)[0]
    if r is None or r.requested_on is None:
        raise UserError(
            f"{d.lea_code} has no {v.name} request for {sy} yet; record it first: "
            f"`apscn request {d.lea_code} --year {sy}`"
        )
    return d, v, sy, r


def _step_event(
    s: Session, app: App, kind: str, d: District, v: Vendor, sy: SchoolYear, on: date, note: str | None
) -> None:
    q.add_event(
        s,
        kind=kind,
        actor=app.actor,
        district_id=d.id,
        vendor_id=v.id,
        school_year=sy.start,
        effective_on=on,
        note=note,
    )


def record_enabled(
    app: App,
    *,
    lea: str,
    vendor: str = "Xello",
    year: str | None = None,
    on: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    on = on or app.today
    _check_day(on, app.today, "enable")
    with app.ledger.write() as s:
        d, v, sy, r = _renewal(s, app, lea, vendor, year, on)
        if r.enabled_on is not None:
            raise UserError(
                f"{d.lea_code} {v.name} {sy} was already enabled on {r.enabled_on}; "
                f"`apscn correct {d.lea_code} --enabled-on DATE --note WHY` fixes the date"
            )
        if on < r.requested_on:  # type: ignore[operator]
            raise UserError(f"enable date {on} is before the request ({r.requested_on})")
        if on > sy.ends:
            raise UserError(f"{sy} ended on {sy.ends}; a connection cannot be enabled after that")
        r.enabled_on = on
        _step_event(s, app, "enabled", d, v, sy, on, note)
        days = app.calendar.working_days_between(r.requested_on, on)  # type: ignore[arg-type]
        return _result(
            d,
            v,
            sy,
            r,
            working_days_to_enable=days,
            next_step=f"send the API connection details to {v.onboarding_email or 'the Onboarding Manager'}"
            f", then `apscn confirm {d.lea_code}`",
        )


def record_confirmed(
    app: App,
    *,
    lea: str,
    vendor: str = "Xello",
    year: str | None = None,
    on: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    on = on or app.today
    _check_day(on, app.today, "confirm")
    with app.ledger.write() as s:
        d, v, sy, r = _renewal(s, app, lea, vendor, year, on)
        if r.enabled_on is None:
            raise UserError(
                f"{d.lea_code} {v.name} {sy} is not enabled yet; details are sent after APSCN enables "
                f"the connection (`apscn enable {d.lea_code}`)"
            )
        if r.confirmed_on is not None:
            raise UserError(f"{d.lea_code} {v.name} {sy} was already confirmed on {r.confirmed_on}")
        if on < r.enabled_on:
            raise UserError(f"confirm date {on} is before the enable date ({r.enabled_on})")
        r.confirmed_on = on
        _step_event(s, app, "confirmed", d, v, sy, on, note)
        return _result(d, v, sy, r)


_STEP_FIELDS = tuple(FIELD_OF_STEP.values())  # requested_on, enabled_on, confirmed_on: in the order they happen


def _neighbours(r: Renewal, field: str) -> tuple[date | None, date | None]:
    """The dates of the steps just before and just after ``field`` (None at either end or not taken)."""
    i = _STEP_FIELDS.index(field)
    before = getattr(r, _STEP_FIELDS[i - 1]) if i > 0 else None
    after = getattr(r, _STEP_FIELDS[i + 1]) if i + 1 < len(_STEP_FIELDS) else None
    return before, after


def correct(
    app: App,
    *,
    lea: str,
    vendor: str = "Xello",
    year: str | None = None,
    requested_on: date | None = None,
    enabled_on: date | None = None,
    confirmed_on: date | None = None,
    undo: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Fix a wrong date or undo the latest step, as a new ``corrected`` event (the old one stays)."""
    given = {
        k: v
        for k, v in {
            "requested_on": requested_on,
            "enabled_on": enabled_on,
            "confirmed_on": confirmed_on,
        }.items()
        if v is not None
    }
    if len(given) + (undo is not None) != 1:
        raise UserError("give exactly one of --requested-on, --enabled-on, --confirmed-on or --undo")
    if not note or not note.strip():
        raise UserError("a correction needs --note saying why")
    if undo is not None and undo not in FIELD_OF_STEP:
        raise UserError(f"--undo {undo!r}: use request, enable or confirm")
    with app.ledger.write() as s:
        d, v, sy, r = _renewal(s, app, lea, vendor, year, app.today)
        data: dict[str, Any]
        if undo is not None:
            field = FIELD_OF_STEP[undo]
            _, later = _neighbours(r, field)
            if getattr(r, field) is None:
                raise UserError(f"{d.lea_code} {v.name} {sy} has no {undo} step to undo")
            if later is not None:
                raise UserError(f"undo the later step first: {d.lea_code} {v.name} {sy} has a step after {undo}")
            data = {"undo": field, "old": getattr(r, field).isoformat()}
            setattr(r, field, None)
            if field == "requested_on":
                r.expected_enabled_by = None
        else:
            field, new = next(iter(given.items()))
            _check_day(new, app.today, field.replace("_on", ""))
            old, what = getattr(r, field), field.replace("_", " ")
            if old is None:
                raise UserError(f"{d.lea_code} {v.name} {sy} has no {what} to correct")
            if new == old:
                raise UserError(f"{what} is already {old}")
            before, after = _neighbours(r, field)
            if before is not None and new < before:
                raise UserError(f"{what} {new} would be before the previous step ({before})")
            if after is not None and new > after:
                raise UserError(f"{what} {new} would be after the next step ({after})")
            if new > sy.ends:
                raise UserError(f"{new} is after the end of {sy}")
            data = {"field": field, "old": old.isoformat(), "new": new.isoformat()}
            setattr(r, field, new)
            if field == "requested_on":
                r.expected_enabled_by = expected_enabled_by(app.calendar, new, app.settings.activation_working_days)
                data["expected_enabled_by"] = r.expected_enabled_by.isoformat()
        q.add_event(
            s,
            kind="corrected",
            actor=app.actor,
            district_id=d.id,
            vendor_id=v.id,
            school_year=sy.start,
            note=note.strip(),
            data=data,
        )
        return _result(d, v, sy, r, correction=data)
