"""The yearly APSCN request cycle: request, enable, confirm, and corrections recorded as new events.

The rules of each step live in ``domain.steps``; a use case here loads the renewal, takes the step, writes the
new dates and the step's event in one transaction, and words a refusal with the LEA, the vendor, the school
year and the command to run next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from typing import Any

from sqlmodel import Session

from apscn_tracker.domain import steps
from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.domain.steps import DATE_FIELDS, FIELD_OF_STEP, Refusal, RenewalDates, Step, StepRefused
from apscn_tracker.domain.yearchoice import YearRefused, choose_open_step, choose_request_year
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Renewal, Vendor
from apscn_tracker.services.app import App


def _unit(app: App, session: Session | None) -> AbstractContextManager[Session]:
    """The caller's transaction when it passes one (a bulk step: all or nothing), else a new unit of work."""
    return nullcontext(session) if session is not None else app.ledger.write()


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


def _wording(exc: StepRefused, lea: str, vendor: str, sy: SchoolYear) -> str | None:
    """The refusal in the coordinator's words, or None when the domain's message is complete."""
    f = exc.facts
    match exc.reason:
        case Refusal.NO_REQUEST:
            return f"{lea} has no {vendor} request for {sy} yet; record it first: `apscn request {lea} --year {sy}`"
        case Refusal.ALREADY_REQUESTED:
            return (
                f"{lea} already requested {vendor} for {sy} on {f['requested_on']}. To fix that date: "
                f"`apscn correct {lea} --year {sy} --requested-on DATE --note WHY`; for next year: "
                f"`apscn request {lea} --year {sy.next}`"
            )
        case Refusal.ALREADY_ENABLED:
            return (
                f"{lea} {vendor} {sy} was already enabled on {f['enabled_on']}; "
                f"`apscn correct {lea} --enabled-on DATE --note WHY` fixes the date"
            )
        case Refusal.NOT_ENABLED:
            return (
                f"{lea} {vendor} {sy} is not enabled yet; details are sent after APSCN enables "
                f"the connection (`apscn enable {lea}`)"
            )
        case Refusal.ALREADY_CONFIRMED:
            return f"{lea} {vendor} {sy} was already confirmed on {f['confirmed_on']}"
        case Refusal.NOTHING_TO_UNDO:
            return f"{lea} {vendor} {sy} has no {f['step']} step to undo"
        case Refusal.LATER_STEP_FIRST:
            return f"undo the later step first: {lea} {vendor} {sy} has a step after {f['step']}"
        case Refusal.NOTHING_TO_CORRECT:
            return f"{lea} {vendor} {sy} has no {f['what']} to correct"
    return None


@contextmanager
def _worded(d: District, v: Vendor, sy: SchoolYear) -> Iterator[None]:
    """A step's refusal raised inside, in the coordinator's words (the same reason and facts)."""
    try:
        yield
    except StepRefused as exc:
        message = _wording(exc, d.lea_code, v.name, sy)
        if message is None:
            raise
        raise StepRefused(message, exc.reason, **exc.facts) from None


def _dates(r: Renewal | None) -> RenewalDates:
    return RenewalDates(**{f: getattr(r, f) for f in DATE_FIELDS}) if r is not None else RenewalDates()


Then = Callable[[Session], None]
"""Run inside a step's transaction once the step is written (a link marks itself used)."""


def _record(
    s: Session,
    app: App,
    d: District,
    v: Vendor,
    sy: SchoolYear,
    r: Renewal,
    step: Step,
    note: str | None,
    source: str | None = None,
) -> None:
    """Write the step: the renewal row takes its dates, the ledger its event (one transaction). ``source``: how
    the step came in when not from the coordinator (``link``: a district's link), kept in the event's data."""
    for name in DATE_FIELDS:
        setattr(r, name, getattr(step.dates, name))
    kind, on, data = step.event
    if source:
        data = {**data, "source": source}
    q.add_event(
        s,
        kind=kind,
        actor=app.actor,
        district_id=d.id,
        vendor_id=v.id,
        school_year=sy.start,
        effective_on=on,
        note=note,
        data=data or None,
    )


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
    source: str | None = None,
    then: Then | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    on = on or app.today
    with _unit(app, session) as s:
        d, v, c = _load(s, app, lea, vendor, create=True)
        assert c.id is not None  # read from the ledger, or flushed by _load
        sy = parse_year(year, app.today) if year else request_year(s, app, d, v, c, on, recording=True)
        r = q.find_renewal(s, connection_id=c.id, school_year=sy.start)
        with _worded(d, v, sy):
            step = steps.request(
                _dates(r),
                on=on,
                year=sy,
                today=app.today,
                calendar=app.calendar,
                window=app.settings.activation_working_days,
            )
        if r is None:
            r = Renewal(connection_id=c.id, school_year=sy.start)
            s.add(r)
        _record(s, app, d, v, sy, r, step, note, source)
        if then is not None:
            then(s)
        return _result(d, v, sy, r)


def _states(s: Session, c: Connection, years: tuple[SchoolYear, ...]) -> dict[int, RenewalDates]:
    """The renewal dates of ``years`` for connection ``c`` (a year without a row has none)."""
    assert c.id is not None  # read from the ledger
    return {y.start: _dates(q.find_renewal(s, connection_id=c.id, school_year=y.start)) for y in years}


def request_year(
    s: Session, app: App, d: District, v: Vendor, c: Connection, on: date, *, recording: bool = False
) -> SchoolYear:
    """The school year a request made on ``on`` is for when no ``--year`` is given (``domain.yearchoice``'s
    rules 1-4; ``recording``: a request being recorded, see ``choose_request_year``); the ambiguous case is
    refused with both choices, in the coordinator's words."""
    y = SchoolYear.of(on)
    choice = choose_request_year(
        on=on,
        today=app.today,
        calendar=app.calendar,
        window=app.settings.activation_working_days,
        renewal_days_before=app.settings.reminders.renewal_days_before,
        states=_states(s, c, (y, y.next)),
        recording=recording,
    )
    if choice.year is None:
        raise YearRefused(f"{d.lea_code} {v.name}: {choice.message}")
    return choice.year


def _renewal(
    s: Session, app: App, lea: str, vendor: str, year: str | None, on: date, *, step: str | None = None
) -> tuple[District, Vendor, SchoolYear, Renewal | None]:
    """The renewal a step acts on: of ``year`` if given; for ``enable`` and ``confirm``, the year whose step is
    open (two open: refused); else the latest year with a request on or before ``on`` (else the one with any
    request, else the school year of ``on``, which has none)."""
    d, v, c = _load(s, app, lea, vendor)
    assert c.id is not None  # read from the ledger
    if year:
        sy = parse_year(year, app.today)
        return d, v, sy, q.find_renewal(s, connection_id=c.id, school_year=sy.start)
    found = [
        (candidate, q.find_renewal(s, connection_id=c.id, school_year=candidate.start))
        for candidate in (SchoolYear.of(on).next, SchoolYear.of(on))
    ]
    requested = [(y, x) for y, x in found if x is not None and x.requested_on is not None]
    on_time = [(y, x) for y, x in requested if x.requested_on <= on]  # type: ignore[operator]
    first: list[tuple[SchoolYear, Renewal | None]] = [*(on_time or requested), (SchoolYear.of(on), None)]
    fallback, r = first[0]
    if step is not None:
        states = {y.start: _dates(x) for y, x in found}
        choice = choose_open_step(step=step, on=on, states=states, fallback=fallback)
        if choice.year is None:
            raise YearRefused(f"{d.lea_code} {v.name}: {choice.message}")
        sy = choice.year
        return d, v, sy, {y.start: x for y, x in found}.get(sy.start)
    return d, v, fallback, r


def record_enabled(
    app: App,
    *,
    lea: str,
    vendor: str = "Xello",
    year: str | None = None,
    on: date | None = None,
    note: str | None = None,
    source: str | None = None,
    then: Then | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    on = on or app.today
    with _unit(app, session) as s:
        d, v, sy, r = _renewal(s, app, lea, vendor, year, on, step="enable")
        with _worded(d, v, sy):
            step = steps.enable(_dates(r), on=on, year=sy, today=app.today)
        assert r is not None and r.requested_on is not None  # the step needs a request
        _record(s, app, d, v, sy, r, step, note, source)
        if then is not None:
            then(s)
        days = app.calendar.working_days_between(r.requested_on, on)
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
    source: str | None = None,
    then: Then | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    on = on or app.today
    with _unit(app, session) as s:
        d, v, sy, r = _renewal(s, app, lea, vendor, year, on, step="confirm")
        with _worded(d, v, sy):
            step = steps.confirm(_dates(r), on=on, today=app.today)
        assert r is not None  # the step needs a request
        _record(s, app, d, v, sy, r, step, note, source)
        if then is not None:
            then(s)
        return _result(d, v, sy, r)


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
        with _worded(d, v, sy):
            if undo is not None:
                step = steps.undo(_dates(r), step=undo)
            else:
                field, new = next(iter(given.items()))
                step = steps.correct(
                    _dates(r),
                    field=field,
                    new=new,
                    year=sy,
                    today=app.today,
                    calendar=app.calendar,
                    window=app.settings.activation_working_days,
                )
        assert r is not None  # the step needs a request
        _record(s, app, d, v, sy, r, step, note.strip())
        return _result(d, v, sy, r, correction=step.event.data)
