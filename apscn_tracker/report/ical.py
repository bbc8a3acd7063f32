"""The deadline calendar: which events, on which days, with which stable UIDs (pure), and their iCalendar text.

Events are all-day (``VALUE=DATE``) and do not block time (``TRANSP:TRANSPARENT``). UIDs name what an event is
about, never when it was generated, so importing a newer file updates the events already in a calendar:

- ``disconnect-2025-26@apscn-tracker``: June 30, the end of 2025-26, when DIS cuts every API connection;
- ``request-by-2026-27@apscn-tracker``: the recommended last day to request 2026-27 (June 30 minus the window);
- ``expected-0401000-xello-2026-27@apscn-tracker``: when the state should have enabled a pending request.

``SEQUENCE`` of an expected-enable event counts the ledger's request and correction events for that renewal
(append-only, so it only grows when the date can have changed); the other events keep ``SEQUENCE:0``.
``DTSTAMP`` is midnight UTC of the day the calendar was made for, so the same ledger and day give the same file.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import ACTIVATION_WORKING_DAYS, StateCalendar, request_by

UID_DOMAIN = "apscn-tracker"
PRODID = "-//apscn-tracker//APSCN deadlines//EN"

# Alarm offsets from the start of an all-day event (its midnight): 9:00 a week before, 9:00 the day before,
# 9:00 on the day.
WEEK_BEFORE = timedelta(days=-7, hours=9)
DAY_BEFORE = timedelta(days=-1, hours=9)
ON_THE_DAY = timedelta(hours=9)


@dataclass(frozen=True, slots=True)
class PendingRenewal:
    """A renewal requested and not yet enabled."""

    lea: str
    district: str
    vendor: str
    year: SchoolYear
    requested_on: date
    expected_enabled_by: date
    revisions: int = 1  # request + correction events on record for it


@dataclass(frozen=True, slots=True)
class CalEvent:
    uid: str
    day: date
    summary: str
    description: str
    categories: tuple[str, ...] = ()
    sequence: int = 0
    alarms: tuple[timedelta, ...] = (WEEK_BEFORE, DAY_BEFORE)


def uid_part(text: str) -> str:
    """A vendor name as a UID part: lower case, reversible escaping (distinct names give distinct UIDs)."""
    return quote(text.strip().lower(), safe="-._~")


def deadline_events(
    *,
    today: date,
    calendar: StateCalendar,
    pending: Iterable[PendingRenewal] = (),
    window: int = ACTIVATION_WORKING_DAYS,
) -> list[CalEvent]:
    """The June 30 disconnects and request-by dates of the current and next school year, and the expected
    enable date of every pending renewal; sorted by day, then UID."""
    current = SchoolYear.of(today)
    events: list[CalEvent] = []
    for sy in (current, current.next):
        coming = sy.next
        events.append(
            CalEvent(
                uid=f"disconnect-{sy.label}@{UID_DOMAIN}",
                day=sy.ends,
                summary=f"APSCN: API connections cut off ({sy.label} ends)",
                description=(
                    f"By June 30 the Division of Information Systems disconnects every eSchoolPLUS API "
                    f"connection of {sy.label}. A connection comes back only after a new "
                    f'"APSCN: eSchoolPLUS API Request" for {coming.label}; without one the vendor\'s '
                    "accounts are no longer updated."
                ),
                categories=("APSCN", "Deadline"),
            )
        )
        events.append(
            CalEvent(
                uid=f"request-by-{coming.label}@{UID_DOMAIN}",
                day=request_by(calendar, sy.ends, window),
                summary=f"APSCN: request API access for {coming.label} by today",
                description=(
                    f'Recommended last day to submit "APSCN: eSchoolPLUS API Request" for {coming.label}: '
                    f"{window} state working days before the June 30 disconnect, so that the state can enable "
                    "the connection before the old one is cut. Record it with `apscn request LEA --year "
                    f"{coming.label}`."
                ),
                categories=("APSCN", "Deadline"),
            )
        )
    for p in pending:
        events.append(
            CalEvent(
                uid=f"expected-{p.lea}-{uid_part(p.vendor)}-{p.year.label}@{UID_DOMAIN}",
                day=p.expected_enabled_by,
                summary=f"APSCN: {p.vendor} for {p.district} ({p.lea}) due to be enabled",
                description=(
                    f"{p.district} ({p.lea}) requested the {p.vendor} API connection for {p.year.label} on "
                    f"{p.requested_on.isoformat()}; the state should enable it within {window} working days, "
                    f"by {p.expected_enabled_by.isoformat()}. When it is enabled: `apscn enable {p.lea} "
                    f"--vendor {shlex.quote(p.vendor)} --year {p.year.label}`, then send the connection details to the "
                    "vendor's Onboarding Manager."
                ),
                categories=("APSCN", "Expected enable"),
                sequence=max(0, p.revisions - 1),
                alarms=(ON_THE_DAY,),
            )
        )
    events.sort(key=lambda e: (e.day, e.uid))
    return events


def to_ical(events: Iterable[CalEvent], *, today: date, name: str = "APSCN deadlines") -> bytes:
    """RFC 5545 text of ``events`` (``icalendar`` imported here, only when a calendar is made)."""
    import icalendar  # lazy: ~50 ms, only when the calendar is written

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", icalendar.vText(name))  # escaped: a line break in a name adds no property
    cal.add("x-wr-caldesc", "APSCN eSchoolPLUS API deadlines: June 30 disconnects, request-by dates, expected enables")
    stamp = datetime.combine(today, time(0, 0), tzinfo=UTC)
    for e in events:
        ev = icalendar.Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.day)
        ev.add("dtend", e.day + timedelta(days=1))
        ev.add("summary", e.summary)
        ev.add("description", e.description)
        if e.categories:
            ev.add("categories", list(e.categories))
        ev.add("sequence", e.sequence)
        ev.add("status", "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        for offset in e.alarms:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", e.summary)
            alarm.add("trigger", offset)
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()
