"""The reminder rules (the README's "The daily loop"): which reminder is due for a renewal on a day.

Pure: dates and dataclasses in, decisions out. No clock, no database; ``today`` is always a parameter.

Each rule has a chain of *milestones* (due dates). On a given day a rule yields at most one reminder: the
latest milestone on or before ``today``, and only while the rule's condition still holds. That is the
catch-up rule: after missed days only the most recent milestone is due, never a burst of stale ones, and
nothing is due for work already done. The idempotency key names the rule, the connection, the school year
and the milestone, so the same milestone is queued at most once however often the tick runs.

| kind                    | milestones                                                    | condition            |
| ----------------------- | ------------------------------------------------------------- | -------------------- |
| renewal_reminder        | June 30 minus N calendar days, N in renewal_days_before       | active API           |
|                         |                                                               | connection, no       |
|                         |                                                               | request for the next |
|                         |                                                               | school year          |
| lapsed_notice           | July 1, then every lapsed_every_days calendar days for        | school year begun,   |
|                         | lapsed_weekly_days, then every lapsed_then_every_days         | no request for it    |
| activation_overdue      | first working day after expected_enabled_by, then every       | requested, not       |
|                         | overdue_every_working_days working days                       | enabled              |
| send_details_reminder   | details_first_working_days working days after enabled_on,     | enabled, not         |
|                         | then every details_every_working_days, at most details_max    | confirmed            |

The end of a school year: from its *cut* (``yearchoice.cut_day``: the first day a request could not be enabled
by June 30) no reminder about that year is due: no lapsed notice, no escalation, no details reminder; the
district hears only about the next year (the renewal reminder). A request for the next year never silences
this year's lapsed notices, and a request for this year never silences next year's renewal reminders.

Calendar-day milestones (renewal, lapsed) may fall on a weekend: e-mail waits in the inbox, and moving a
"1 day before June 30" reminder past a weekend would move it past the deadline. Working-day milestones
(activation, details) always fall on state-office working days.

Keys: ``{kind}:{connection_id}:{school_year start}:{milestone ISO date}``. The connection and the school
year identify the renewal even before its row exists (a lapsed year has no request, so maybe no row). The
school year of a renewal reminder is the year being renewed (the next one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

from apscn_tracker.domain.reminder_kinds import (  # the rules' names, defined apart (see there)
    ACTIVATION_OVERDUE,
    LAPSED_NOTICE,
    REMINDER_KINDS,
    RENEWAL_REMINDER,
    SEND_DETAILS_REMINDER,
)
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import ACTIVATION_WORKING_DAYS
from apscn_tracker.domain.yearchoice import cut_day

__all__ = [
    "ACTIVATION_OVERDUE",
    "LAPSED_NOTICE",
    "REMINDER_KINDS",
    "RENEWAL_REMINDER",
    "SEND_DETAILS_REMINDER",
    "Due",
    "Rules",
    "Snapshot",
    "activation_overdue",
    "due_reminders",
    "lapsed_milestones",
    "lapsed_notice",
    "reminder_key",
    "renewal_reminder",
    "send_details_reminder",
]


class Calendar(Protocol):
    """What the rules need of :class:`apscn_tracker.domain.workdays.StateCalendar`."""

    def add_working_days(self, start: date, n: int) -> date: ...

    def __hash__(self) -> int: ...

    def working_days_between(self, start: date, end: date) -> int: ...

    def is_working_day(self, d: date) -> bool: ...


class Rules(Protocol):
    """The numbers of the rules (``config.ReminderRules``): every one of them comes from configuration."""

    @property
    def renewal_days_before(self) -> tuple[int, ...]: ...

    @property
    def lapsed_every_days(self) -> int: ...

    @property
    def lapsed_weekly_days(self) -> int: ...

    @property
    def lapsed_then_every_days(self) -> int: ...

    @property
    def overdue_every_working_days(self) -> int: ...

    @property
    def details_first_working_days(self) -> int: ...

    @property
    def details_every_working_days(self) -> int: ...

    @property
    def details_max(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One connection's renewal for one school year, as the ledger holds it (absent dates are None).

    ``active`` is False for a retired connection. ``next_year_requested`` says whether the connection has a
    request for the school year after ``school_year`` (what the renewal reminder waits for).
    """

    connection_id: int
    school_year: SchoolYear
    method: str = "api"
    active: bool = True
    requested_on: date | None = None
    expected_enabled_by: date | None = None
    enabled_on: date | None = None
    confirmed_on: date | None = None
    disconnected_on: date | None = None
    next_year_requested: bool = False


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder that is due: queue it once under ``key``.

    ``school_year`` is the year the reminder is about (for a renewal reminder, the year to request);
    ``number`` counts the milestones of the chain (1 for the first); ``days_before`` is set for renewal
    reminders (the configured N of the milestone).
    """

    kind: str
    connection_id: int
    school_year: SchoolYear
    milestone: date
    number: int
    key: str
    days_before: int | None = None


def reminder_key(kind: str, connection_id: int, school_year: SchoolYear, milestone: date) -> str:
    return f"{kind}:{connection_id}:{school_year.start}:{milestone.isoformat()}"


def _due(
    kind: str, snap: Snapshot, year: SchoolYear, milestone: date, number: int, days_before: int | None = None
) -> Due:
    return Due(
        kind=kind,
        connection_id=snap.connection_id,
        school_year=year,
        milestone=milestone,
        number=number,
        key=reminder_key(kind, snap.connection_id, year, milestone),
        days_before=days_before,
    )


def _live_api(snap: Snapshot, today: date) -> bool:
    """An active API connection whose school year is running or still to come."""
    return snap.active and snap.method == "api" and snap.disconnected_on is None and today <= snap.school_year.ends


def renewal_reminder(snap: Snapshot, *, today: date, rules: Rules) -> Due | None:
    """June 30 minus N days: ask for next year's connection before DIS cuts this one.

    ``snap`` is the snapshot of the school year containing ``today``; the reminder is about the next one.
    """
    year = snap.school_year
    if today not in year or not _live_api(snap, today) or snap.next_year_requested:
        return None
    chain = sorted(
        ((year.ends - timedelta(days=n), n) for n in set(rules.renewal_days_before)),
        key=lambda pair: pair[0],
    )
    chain = [(day, n) for day, n in chain if day >= year.begins]
    passed = [(i, day, n) for i, (day, n) in enumerate(chain) if day <= today]
    if not passed:
        return None
    i, day, n = passed[-1]
    return _due(RENEWAL_REMINDER, snap, year.next, day, i + 1, days_before=n)


@lru_cache(maxsize=256)
def lapsed_milestones(year: SchoolYear, every: int, weekly_days: int, then_every: int, cut: date) -> tuple[date, ...]:
    """The lapsed notices' due dates in ``year``: July 1, then every ``every`` days while within ``weekly_days``
    of July 1, then every ``then_every`` days from the last of those; none on or after ``cut``."""
    out: list[date] = []
    day = year.begins
    while day < cut and day <= year.ends:
        out.append(day)
        following = day + timedelta(days=every)
        day = following if (following - year.begins).days < weekly_days else day + timedelta(days=then_every)
    return tuple(out)


def lapsed_notice(
    snap: Snapshot, *, today: date, rules: Rules, calendar: Calendar, window: int = ACTIVATION_WORKING_DAYS
) -> Due | None:
    """July 1, weekly through July, then every four weeks (the rules' numbers), until the year's cut: the
    school year has begun without a request. A request for the next year does not stop it (this year is still
    down); the cut does (a request could no longer bring this year's data back). After missed days the latest
    milestone is due only while the next one is at least ``lapsed_every_days`` away: a catch-up never sends two
    notices a few days apart."""
    year = snap.school_year
    if today not in year or not _live_api(snap, today) or snap.requested_on is not None:
        return None
    chain = lapsed_milestones(
        year,
        rules.lapsed_every_days,
        rules.lapsed_weekly_days,
        rules.lapsed_then_every_days,
        cut_day(year, calendar, window),
    )
    passed = [day for day in chain if day <= today]
    if not passed or today >= cut_day(year, calendar, window):
        return None
    later = chain[len(passed)] if len(passed) < len(chain) else None
    if passed[-1] < today and later is not None and (later - today).days < rules.lapsed_every_days:
        return None  # a missed notice this close to the next one: the next one only, never two in a few days
    return _due(LAPSED_NOTICE, snap, year, passed[-1], len(passed))


def activation_overdue(snap: Snapshot, *, today: date, calendar: Calendar, rules: Rules) -> Due | None:
    """First working day after ``expected_enabled_by``, then every N working days, while not enabled."""
    if not _live_api(snap, today):
        return None
    if snap.requested_on is None or snap.enabled_on is not None or snap.expected_enabled_by is None:
        return None
    first = calendar.add_working_days(snap.expected_enabled_by, 1)
    if today < first:
        return None
    every = rules.overdue_every_working_days
    k = calendar.working_days_between(first, today) // every
    return _due(ACTIVATION_OVERDUE, snap, snap.school_year, calendar.add_working_days(first, k * every), k + 1)


def send_details_reminder(snap: Snapshot, *, today: date, calendar: Calendar, rules: Rules) -> Due | None:
    """N working days after ``enabled_on``, then every M, at most ``details_max``, while not confirmed."""
    if not _live_api(snap, today) or rules.details_max < 1:
        return None
    if snap.enabled_on is None or snap.confirmed_on is not None:
        return None
    first = calendar.add_working_days(snap.enabled_on, rules.details_first_working_days)
    if today < first:
        return None
    every = rules.details_every_working_days
    k = min(calendar.working_days_between(first, today) // every, rules.details_max - 1)
    return _due(SEND_DETAILS_REMINDER, snap, snap.school_year, calendar.add_working_days(first, k * every), k + 1)


def due_reminders(
    snap: Snapshot, *, today: date, calendar: Calendar, rules: Rules, window: int = ACTIVATION_WORKING_DAYS
) -> list[Due]:
    """Every reminder due for one snapshot on ``today``: at most one per kind.

    The snapshot of the school year containing ``today`` gets all four rules; the snapshot of the next
    school year (a request made in advance) gets the activation and details rules; an ended year, none. From
    the cut of a year (``window`` working days before its June 30) nothing about that year is due: only the
    renewal reminder, which is about the next one.
    """
    current = SchoolYear.of(today)
    out: list[Due] = []
    cut = snap.school_year == current and today >= cut_day(current, calendar, window)
    if snap.school_year == current:
        got = renewal_reminder(snap, today=today, rules=rules)
        if got is not None:
            out.append(got)
        if cut:
            return out
        got = lapsed_notice(snap, today=today, rules=rules, calendar=calendar, window=window)
        if got is not None:
            out.append(got)
    elif snap.school_year != current.next:
        return out
    for wd_rule in (activation_overdue, send_details_reminder):
        got = wd_rule(snap, today=today, calendar=calendar, rules=rules)
        if got is not None:
            out.append(got)
    return out
