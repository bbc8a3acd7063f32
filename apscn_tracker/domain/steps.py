"""The steps of a renewal (request, enable, confirm, correct, undo, and the June 30 disconnect): one pure
function each, used by the services that record them and by the replay that rebuilds a renewal from its events.

A step takes the renewal's dates as they stand (``RenewalDates``, immutable) and what the user gives; it checks
the rules and returns a ``Step``: the new dates and the ``Event`` to record (kind, effective date, data), or
raises ``StepRefused``. Dates in, decisions out: ``today``, the school year, the working-day calendar and the
activation window are parameters; no clock, no database.

Live and replay share one path. Every step ends in ``apply(dates, event)``, the change its event makes
(``change``), and ``projection.fold`` is nothing but ``change`` over the recorded events: the dates a service
writes are, by construction, the fold of the events it records.

The checks belong to the live path only. A recorded event was valid when it was recorded, so the replay never
judges it again: not against a replay's "today", not against a rule tightened since, not against a calendar
with closures added since. It trusts the event's own data: a request's ``expected_enabled_by`` is the one
computed then, not recomputed. It stops only at an event it cannot read (an unknown field, a date that is not
one), with ``KeyError``, ``TypeError`` or ``ValueError`` (``db check`` reports it), never a ``StepRefused``.

A refusal needing the renewal's names (the LEA, the vendor, the year) or the command to run next carries a
``Refusal`` reason and its dates, for the service to word; the others are complete sentences already.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by
from apscn_tracker.errors import Refused

FIELD_OF_STEP = {"request": "requested_on", "enable": "enabled_on", "confirm": "confirmed_on"}
"""The date each step sets, in the order the steps happen."""
STEP_FIELDS = tuple(FIELD_OF_STEP.values())
FIELD_OF_EVENT = {
    "requested": "requested_on",
    "enabled": "enabled_on",
    "confirmed": "confirmed_on",
    "disconnected": "disconnected_on",
}
CORRECTED = "corrected"
EVENT_KINDS = (*FIELD_OF_EVENT, CORRECTED)
"""The event kinds that change a renewal's dates (the others leave them alone)."""


@dataclass(frozen=True, slots=True)
class RenewalDates:
    """A renewal's dates: the state the steps move and the ``renewal`` row keeps."""

    requested_on: date | None = None
    expected_enabled_by: date | None = None
    enabled_on: date | None = None
    confirmed_on: date | None = None
    disconnected_on: date | None = None

    def as_tuple(self) -> tuple[date | None, ...]:
        """The dates in ``DATE_FIELDS`` order."""
        return (self.requested_on, self.expected_enabled_by, self.enabled_on, self.confirmed_on, self.disconnected_on)


DATE_FIELDS = tuple(f.name for f in fields(RenewalDates))
"""The renewal's date columns, as ``RenewalDates`` (and the ``renewal`` table) name them."""
_INDEX = {name: i for i, name in enumerate(DATE_FIELDS)}


class Event(NamedTuple):
    """What a step records: ``effective_on`` is the day it happened (none for a correction)."""

    kind: str
    effective_on: date | None
    data: dict[str, Any]


class Step(NamedTuple):
    """A step taken: the renewal's new dates and the event that records them."""

    dates: RenewalDates
    event: Event


class Refusal(StrEnum):
    """Why a step was refused, when the service words the message with the renewal's names."""

    NO_REQUEST = "no_request"
    ALREADY_REQUESTED = "already_requested"
    ALREADY_ENABLED = "already_enabled"
    NOT_ENABLED = "not_enabled"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_DISCONNECTED = "already_disconnected"
    NOTHING_TO_UNDO = "nothing_to_undo"
    LATER_STEP_FIRST = "later_step_first"
    NOTHING_TO_CORRECT = "nothing_to_correct"
    RULE = "rule"
    """A complete message: the service passes it on as it is."""


class StepRefused(Refused):
    """A step the rules refuse. ``reason`` says which rule; ``facts`` holds what its wording needs."""

    def __init__(self, message: str, reason: Refusal = Refusal.RULE, **facts: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.facts = facts


# -- the change each event makes (shared by the live steps and the replay) ------------------------------------------


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _step_field(name: Any) -> str:
    if name not in STEP_FIELDS:
        raise ValueError(f"{name!r} is not the date of a step ({', '.join(STEP_FIELDS)})")
    return str(name)


def change(values: list[date | None], event: tuple[str, date | None, dict[str, Any]]) -> None:
    """Apply ``event`` (``(kind, effective_on, data)``) to ``values`` (the dates in ``DATE_FIELDS`` order), in
    place and unchecked: a recorded event stands. The one definition of what each event does to the dates.

    ``requested`` carries ``expected_enabled_by`` in its data; ``corrected`` carries ``field`` and ``new`` (plus
    ``expected_enabled_by`` when the request date moved) or ``undo`` (a field name). Other kinds change nothing.
    (On a list: ``db check`` folds every renewal of the ledger, and building a frozen object per event is slow.)
    """
    kind, on, data = event
    field = FIELD_OF_EVENT.get(kind)
    undone = False
    if field is not None:
        value = _day(on)
    elif kind == CORRECTED:
        undone = bool(data.get("undo"))
        field = _step_field(data["undo"] if undone else data["field"])
        value = None if undone else _day(data["new"])
    else:
        return
    values[_INDEX[field]] = value
    if field == "requested_on":  # the expectation goes with the request date: as recorded, none once undone
        values[_INDEX["expected_enabled_by"]] = None if undone else _day(data.get("expected_enabled_by"))


def apply(dates: RenewalDates, event: tuple[str, date | None, dict[str, Any]]) -> RenewalDates:
    """The dates after ``event``, unchecked (see ``change``)."""
    values = list(dates.as_tuple())
    change(values, event)
    return RenewalDates(*values)


def _take(dates: RenewalDates, event: Event) -> Step:
    return Step(apply(dates, event), event)


# -- the live steps: check, then record ---------------------------------------------------------------------------


def _not_after_today(on: date, today: date, what: str) -> None:
    if on > today:
        raise StepRefused(f"{what} date {on} is after today ({today}); record it on the day it happens")


def _requested(dates: RenewalDates) -> date:
    if dates.requested_on is None:
        raise StepRefused("no request yet; record it first", Refusal.NO_REQUEST)
    return dates.requested_on


def request(
    dates: RenewalDates, *, on: date, year: SchoolYear, today: date, calendar: StateCalendar, window: int
) -> Step:
    """Record the request made on ``on`` for ``year``; it should be enabled ``window`` working days later."""
    _not_after_today(on, today, "request")
    current = SchoolYear.of(today)
    if year > current.next:
        raise StepRefused(f"{year} is more than one school year ahead; requests go in for {current} or {current.next}")
    if on > year.ends:
        raise StepRefused(f"{year} ended on {year.ends}; a request on {on} belongs to {SchoolYear.of(on)}")
    if on < date(year.start - 1, 7, 1):
        raise StepRefused(f"a request on {on} is too early for {year}")
    if dates.requested_on is not None:
        raise StepRefused(
            f"already requested on {dates.requested_on}", Refusal.ALREADY_REQUESTED, requested_on=dates.requested_on
        )
    expected = expected_enabled_by(calendar, on, window)
    return _take(dates, Event("requested", on, {"expected_enabled_by": expected.isoformat()}))


def enable(dates: RenewalDates, *, on: date, year: SchoolYear, today: date) -> Step:
    """Record that APSCN enabled the connection on ``on``."""
    _not_after_today(on, today, "enable")
    requested = _requested(dates)
    if dates.enabled_on is not None:
        raise StepRefused(
            f"already enabled on {dates.enabled_on}", Refusal.ALREADY_ENABLED, enabled_on=dates.enabled_on
        )
    if on < requested:
        raise StepRefused(f"enable date {on} is before the request ({requested})")
    if on > year.ends:
        raise StepRefused(f"{year} ended on {year.ends}; a connection cannot be enabled after that")
    return _take(dates, Event("enabled", on, {}))


def confirm(dates: RenewalDates, *, on: date, today: date) -> Step:
    """Record that the connection details reached the vendor's Onboarding Manager on ``on``."""
    _not_after_today(on, today, "confirm")
    _requested(dates)
    if dates.enabled_on is None:
        raise StepRefused("not enabled yet; details are sent after APSCN enables the connection", Refusal.NOT_ENABLED)
    if dates.confirmed_on is not None:
        raise StepRefused(
            f"already confirmed on {dates.confirmed_on}", Refusal.ALREADY_CONFIRMED, confirmed_on=dates.confirmed_on
        )
    if on < dates.enabled_on:
        raise StepRefused(f"confirm date {on} is before the enable date ({dates.enabled_on})")
    return _take(dates, Event("confirmed", on, {}))


def _neighbours(dates: RenewalDates, field: str) -> tuple[date | None, date | None]:
    """The dates of the steps just before and just after ``field`` (None at either end or not taken)."""
    i = STEP_FIELDS.index(field)
    before = getattr(dates, STEP_FIELDS[i - 1]) if i > 0 else None
    after = getattr(dates, STEP_FIELDS[i + 1]) if i + 1 < len(STEP_FIELDS) else None
    return before, after


def undo(dates: RenewalDates, *, step: str) -> Step:
    """Undo ``step`` (``request``, ``enable`` or ``confirm``) recorded by mistake: the latest step only."""
    _requested(dates)
    field = FIELD_OF_STEP[step]
    old = getattr(dates, field)
    if old is None:
        raise StepRefused(f"no {step} step to undo", Refusal.NOTHING_TO_UNDO, step=step)
    if _neighbours(dates, field)[1] is not None:
        raise StepRefused(
            f"undo the later step first: there is a step after {step}", Refusal.LATER_STEP_FIRST, step=step
        )
    return _take(dates, Event(CORRECTED, None, {"undo": field, "old": old.isoformat()}))


def correct(
    dates: RenewalDates,
    *,
    field: str,
    new: date,
    year: SchoolYear,
    today: date,
    calendar: StateCalendar,
    window: int,
) -> Step:
    """Move the date of a step taken (``field``: ``requested_on``, ``enabled_on`` or ``confirmed_on``) to ``new``,
    between its neighbours; a new request date moves ``expected_enabled_by`` with it."""
    _requested(dates)
    _step_field(field)
    _not_after_today(new, today, field.replace("_on", ""))
    old, what = getattr(dates, field), field.replace("_", " ")
    if old is None:
        raise StepRefused(f"no {what} to correct", Refusal.NOTHING_TO_CORRECT, what=what)
    if new == old:
        raise StepRefused(f"{what} is already {old}")
    before, after = _neighbours(dates, field)
    if before is not None and new < before:
        raise StepRefused(f"{what} {new} would be before the previous step ({before})")
    if after is not None and new > after:
        raise StepRefused(f"{what} {new} would be after the next step ({after})")
    if new > year.ends:
        raise StepRefused(f"{new} is after the end of {year}")
    data: dict[str, Any] = {"field": field, "old": old.isoformat(), "new": new.isoformat()}
    if field == "requested_on":
        data["expected_enabled_by"] = expected_enabled_by(calendar, new, window).isoformat()
    return _take(dates, Event(CORRECTED, None, data))


def disconnect(dates: RenewalDates, *, year: SchoolYear, today: date) -> Step:
    """The annual cut: once ``year`` has ended, its renewal is disconnected as of June 30."""
    if today <= year.ends:
        raise StepRefused(f"{year} has not ended yet; API connections are cut after {year.ends}")
    if dates.disconnected_on is not None:
        raise StepRefused(
            f"already disconnected on {dates.disconnected_on}",
            Refusal.ALREADY_DISCONNECTED,
            disconnected_on=dates.disconnected_on,
        )
    return _take(dates, Event("disconnected", year.ends, {}))
