"""Which school year a command acts on without --year: a table of (today, ledger, command) -> year or refusal.

2026-27: the renewal season opens Saturday May 1, 2027 (60 days before June 30); the cut (the first day a
request could not be enabled by Wednesday June 30, 2027, 10 state working days) is Thursday June 17, 2027.
2027-28 is a leap year: its season opens Monday May 1, 2028, its cut is Saturday June 17, 2028 (June 30, 2028
is a Friday: Friday June 16 + 10 working days is June 30; a request on the weekend counts from Monday June 19,
which is July 3).
"""

from __future__ import annotations

from datetime import date

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import RenewalDates
from apscn_tracker.domain.workdays import StateCalendar
from apscn_tracker.domain.yearchoice import (
    YearRefused,
    choose_open_step,
    choose_request_year,
    cut_day,
    season_opens,
)

D = date
CAL = StateCalendar()
REQUESTED = RenewalDates(requested_on=D(2026, 9, 1), expected_enabled_by=D(2026, 9, 15))
ENABLED = RenewalDates(requested_on=D(2026, 9, 1), expected_enabled_by=D(2026, 9, 15), enabled_on=D(2026, 9, 10))
CONFIRMED = RenewalDates(
    requested_on=D(2026, 9, 1),
    expected_enabled_by=D(2026, 9, 15),
    enabled_on=D(2026, 9, 10),
    confirmed_on=D(2026, 9, 11),
)
NONE = RenewalDates()
REQUEST_COMMANDS = ("request", "request-form", "preview")

# (today, on, {year start: dates}, command, expected: a label, or the words the refusal must hold)
CASES = [
    # rule 3: before the season, this year
    (D(2026, 9, 14), None, {}, "request", "2026-27", "3: before the season"),
    # rule 1: this year requested, next
    (D(2026, 9, 14), None, {2026: REQUESTED}, "request", "2027-28", "1: this year requested"),
    (D(2027, 4, 30), None, {}, "request", "2026-27", "3: the day before the season opens"),
    (
        D(2027, 5, 1),
        None,
        {},
        "request",
        (
            "--year 2026-27",
            "rest of this year, enabled by Friday, May 14, 2027",
            "--year 2027-28",
            "ready Thursday, July 1, 2027",
        ),
        "4: the season opens, this year lapsed: refused",
    ),
    (D(2027, 5, 1), None, {2026: ENABLED}, "request-form", "2027-28", "1: the day the season opens, requested"),
    (D(2027, 5, 20), None, {2026: CONFIRMED}, "request", "2027-28", "1: May 20, this year done"),
    (
        D(2027, 6, 16),
        None,
        {},
        "preview",
        ("enabled by Wednesday, June 30, 2027", "--year 2027-28"),
        "4: the day before the cut: still enable-able by June 30",
    ),
    (D(2027, 6, 17), None, {}, "request", "2027-28", "2: the cut"),
    (D(2027, 6, 30), None, {}, "request-form", "2027-28", "2: June 30"),
    (D(2027, 7, 1), None, {}, "request", "2027-28", "3: July 1, a new year"),
    (D(2027, 7, 1), None, {2027: REQUESTED}, "request", "2028-29", "1: July 1, requested in advance"),
    (D(2028, 2, 29), None, {}, "request", "2027-28", "3: February 29 of a leap year"),
    (D(2028, 5, 1), None, {}, "preview", ("enabled by Monday, May 15, 2028",), "4: leap year, season opens"),
    (D(2028, 6, 16), None, {}, "request", ("enabled by Friday, June 30, 2028",), "4: leap year, day before the cut"),
    (D(2028, 6, 17), None, {}, "request", "2028-29", "2: leap year, the cut (a Saturday: counts from Monday)"),
    (D(2028, 6, 19), None, {}, "request", "2028-29", "2: leap year, the Monday after the cut"),
    (D(2026, 8, 10), D(2026, 5, 15), {}, "request", "2026-27", "--on in an ended year: the renewal"),
    (D(2026, 8, 10), D(2026, 7, 2), {2026: REQUESTED}, "request", "2027-28", "1: --on, this year requested"),
    (D(2026, 9, 14), D(2026, 9, 1), {2026: REQUESTED}, "request", "2026-27", "the same day again: a duplicate"),
    (D(2026, 9, 1), None, {2026: REQUESTED}, "request-form", "2027-28", "1: a form on the day of the request"),
    # enable and confirm: the year whose step is open
    (D(2027, 5, 20), None, {2026: REQUESTED}, "enable", "2026-27", "open: this year requested"),
    (D(2027, 5, 20), None, {2026: CONFIRMED, 2027: REQUESTED}, "enable", "2027-28", "open: next year requested"),
    (D(2027, 5, 20), None, {2026: ENABLED, 2027: REQUESTED}, "enable", "2027-28", "open: only next year's enable"),
    (D(2027, 5, 20), None, {2026: ENABLED, 2027: REQUESTED}, "confirm", "2026-27", "open: only this year's confirm"),
    (
        D(2027, 5, 20),
        None,
        {2026: REQUESTED, 2027: REQUESTED},
        "enable",
        ("both 2026-27 and 2027-28", "--year 2026-27", "--year 2027-28"),
        "two open: refused",
    ),
    (
        D(2027, 5, 20),
        None,
        {2026: ENABLED, 2027: ENABLED},
        "confirm",
        ("both 2026-27 and 2027-28 are enabled and not confirmed",),
        "two open: refused",
    ),
    (D(2027, 5, 20), None, {}, "enable", "2026-27", "none open: this year (the step says why not)"),
]


def choose(today: date, on: date | None, states: dict[int, RenewalDates], command: str):
    day = on or today
    if command in REQUEST_COMMANDS:
        return choose_request_year(
            on=day,
            today=today,
            calendar=CAL,
            window=10,
            renewal_days_before=(60, 30, 14, 7, 1),
            states=states,
            recording=command == "request",
        )
    return choose_open_step(step=command, on=day, states=states, fallback=SchoolYear.of(day))


@pytest.mark.parametrize(("today", "on", "states", "command", "expected", "why"), CASES, ids=[c[-1] for c in CASES])
def test_the_year_of_a_command_without_year(today, on, states, command, expected, why):
    got = choose(today, on, states, command)
    if isinstance(expected, str):
        assert got.get().label == expected
    else:
        assert got.year is None
        with pytest.raises(YearRefused) as refused:
            got.get()
        for words in expected:
            assert words in str(refused.value)
        assert "\n" not in str(refused.value)


def test_the_season_and_the_cut_of_each_year_to_2036():
    for start in range(2024, 2037):
        year = SchoolYear(start)
        cut = cut_day(year, CAL, 10)
        before = D.fromordinal(cut.toordinal() - 1)
        assert CAL.add_working_days(CAL.on_or_after(cut), 10) > year.ends >= CAL.add_working_days(before, 10)
        assert season_opens(year, (60, 30)) == D(start + 1, 5, 1)
    assert cut_day(SchoolYear(2026), CAL, 10) == D(2027, 6, 17)
    assert cut_day(SchoolYear(2027), CAL, 10) == D(2028, 6, 17)


def markdown_table() -> str:
    """The table above as the README-style markdown (for the notes of a change)."""
    lines = ["| today | --on | ledger | command | year |", "| --- | --- | --- | --- | --- |"]
    names = {id(REQUESTED): "requested", id(ENABLED): "enabled", id(CONFIRMED): "confirmed", id(NONE): "none"}
    for today, on, states, command, expected, why in CASES:
        ledger = ", ".join(f"{SchoolYear(y)} {names[id(d)]}" for y, d in states.items()) or "no request"
        result = expected if isinstance(expected, str) else "refused: " + "; ".join(expected)
        lines.append(f"| {today} | {on or ''} | {ledger} | {command} | {result} ({why}) |")
    return "\n".join(lines)
