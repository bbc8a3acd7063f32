"""Which school year an action is for, when the coordinator does not say; and the end of a school year.

Pure: today, the calendar, the season's opening and the renewal dates of the candidate years in; a year, or a
refusal worded for the coordinator, out.

On day T of school year Y, ``request``, ``request-form``/``send request_form`` and ``preview`` take:

1. Y already has a request (any state): Y+1.
2. Y has none, and a request made on T could not be enabled by June 30 of Y (T + the activation window in
   state working days is after June 30, T a working day or the next one: the *cut*): Y+1, a request for a year
   about to be cut helps nobody.
3. Y has none, and T is before the renewal season opens (the first renewal-reminder milestone, 60 days before
   June 30 by default): Y.
4. Otherwise (in the season, Y lapsed but still enable-able): refused, naming both choices and what each means.

A request recorded for a day of a school year that has already ended by today goes to the year after (a
request that could only be for a cut year is the renewal). A request recorded for the very day Y's request was
made is taken as the same request again (Y: the step refuses it as already recorded, naming ``--year`` for
Y+1), never silently as next year's.

``enable`` and ``confirm`` act on the year whose step is open (requested and not enabled / enabled and not
confirmed); two open years are refused, naming both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import RenewalDates
from apscn_tracker.errors import Refused

__all__ = [
    "YearChoice",
    "YearRefused",
    "choose_open_step",
    "choose_request_year",
    "cut_day",
    "longdate",
    "season_opens",
]


class Calendar(Protocol):
    def add_working_days(self, start: date, n: int) -> date: ...

    def on_or_after(self, d: date) -> date: ...

    def __hash__(self) -> int: ...


class YearRefused(Refused):
    """No single school year can be chosen without ``--year``; the message names the choices."""


@dataclass(frozen=True, slots=True)
class YearChoice:
    """The year chosen and the rule that chose it (1-4 for a request, ``open`` for enable/confirm), or the
    refusal (``year`` None, ``message`` set)."""

    year: SchoolYear | None
    rule: str
    message: str | None = None

    def get(self) -> SchoolYear:
        if self.year is None:
            raise YearRefused(self.message or "give --year")
        return self.year


def longdate(day: date) -> str:
    """``Tuesday, June 1, 2027``: the way the emails write a date."""
    return f"{day:%A, %B} {day.day}, {day.year}"


def season_opens(year: SchoolYear, renewal_days_before: Iterable[int]) -> date:
    """The first renewal-reminder milestone of ``year`` (June 30 minus the largest N), never before July 1."""
    days = max(renewal_days_before, default=60)
    return max(year.begins, year.ends - timedelta(days=days))


@lru_cache(maxsize=64)
def cut_day(year: SchoolYear, calendar: Calendar, window: int) -> date:
    """The first day on which a request made that day could not be enabled by June 30 of ``year``: from that day
    nothing is asked for or promised for ``year`` (the *cutoff*). A request made on a weekend or a holiday
    counts from the next working day (the day the emails ask for it by), so no email sent before the cut names
    an enable date after June 30. Always in June (a window of 60 working days at most is under five months),
    so the search walks back from June 30."""

    def too_late(day: date) -> bool:
        return calendar.add_working_days(calendar.on_or_after(day), window) > year.ends

    day = year.ends
    while day > year.begins and too_late(day - timedelta(days=1)):
        day -= timedelta(days=1)
    return day


def _requested(states: Mapping[int, RenewalDates], year: SchoolYear) -> bool:
    got = states.get(year.start)
    return got is not None and got.requested_on is not None


def choose_request_year(
    *,
    on: date,
    today: date,
    calendar: Calendar,
    window: int,
    renewal_days_before: Iterable[int],
    states: Mapping[int, RenewalDates],
    recording: bool = False,
) -> YearChoice:
    """The school year of a request made on ``on`` (an on-demand request form: ``on`` is today), by rules 1-4.

    ``states``: the renewal dates of the candidate years, keyed by the year's start (a missing year has none).
    ``recording``: the request is being recorded (``request``), so one on the day of Y's is the same one again.
    """
    y = SchoolYear.of(on)
    if y.ends < today:  # the year of ``on`` is over: the request can only be for the one after it
        return YearChoice(y.next, "ended")
    if _requested(states, y):
        if recording and states[y.start].requested_on == on:
            return YearChoice(y, "same day")
        return YearChoice(y.next, "1")
    cut = cut_day(y, calendar, window)
    if on >= cut:
        return YearChoice(y.next, "2")
    opens = season_opens(y, renewal_days_before)
    if on < opens:
        return YearChoice(y, "3")
    enabled_by = calendar.add_working_days(on, window)
    return YearChoice(
        None,
        "4",
        f"no request for {y} yet and the renewal season is open: say which school year. "
        f"`--year {y}`: data for the rest of this year, enabled by {longdate(enabled_by)} "
        f"(until the June 30 cut); `--year {y.next}`: the renewal, ready {longdate(y.next.begins)}",
    )


def choose_open_step(*, step: str, on: date, states: Mapping[int, RenewalDates], fallback: SchoolYear) -> YearChoice:
    """The school year whose ``step`` (``enable`` or ``confirm``) is open on ``on``: requested and not enabled,
    or enabled and not confirmed, and not yet cut. None open: ``fallback`` (the step then says why it cannot be
    taken). Two open: refused, naming both."""
    candidates = (SchoolYear.of(on), SchoolYear.of(on).next)
    open_years = [y for y in candidates if _open(states.get(y.start), step)]
    if len(open_years) == 1:
        return YearChoice(open_years[0], "open")
    if not open_years:
        return YearChoice(fallback, "none open")
    a, b = open_years
    what = "requested and not enabled" if step == "enable" else "enabled and not confirmed"
    return YearChoice(
        None,
        "two open",
        f"both {a} and {b} are {what}: say which with `--year {a}` (this school year) or `--year {b}` (the renewal)",
    )


def _open(dates: RenewalDates | None, step: str) -> bool:
    if dates is None or dates.disconnected_on is not None or dates.requested_on is None:
        return False
    if step == "enable":
        return dates.enabled_on is None
    return dates.enabled_on is not None and dates.confirmed_on is None
