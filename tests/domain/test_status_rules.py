"""The status table of the README, on every boundary."""

from datetime import date

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear, SchoolYearError
from apscn_tracker.domain.status import Status, renewal_status
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by

CAL = StateCalendar()
Y = SchoolYear(2026)
REQ = date(2026, 9, 1)  # Tuesday
EXP = expected_enabled_by(CAL, REQ)


def status(today, req=None, ena=None, conf=None, method="api", year=Y):
    exp = expected_enabled_by(CAL, req) if req else None
    return renewal_status(
        method=method,
        year=year,
        today=today,
        requested_on=req,
        expected_enabled_by=exp,
        enabled_on=ena,
        confirmed_on=conf,
    )


@pytest.mark.parametrize(
    ("today", "req", "ena", "conf", "expected"),
    [
        (date(2026, 6, 30), None, None, None, Status.NOT_REQUESTED),  # the day before the year begins
        (date(2026, 7, 1), None, None, None, Status.LAPSED),  # the year has begun without a request
        (date(2027, 6, 30), None, None, None, Status.LAPSED),  # last day of the year
        (date(2027, 7, 1), None, None, None, Status.DISCONNECTED),  # the year is over
        (REQ, REQ, None, None, Status.REQUESTED),
        (EXP, REQ, None, None, Status.REQUESTED),  # the 10th working day is still on time
        (date.fromordinal(EXP.toordinal() + 1), REQ, None, None, Status.OVERDUE),  # the day after
        (date(2026, 9, 20), REQ, date(2026, 9, 10), None, Status.ENABLED),
        (date(2026, 9, 20), REQ, date(2026, 9, 10), date(2026, 9, 11), Status.CONFIRMED),
        (date(2027, 6, 30), REQ, date(2026, 9, 10), date(2026, 9, 11), Status.CONFIRMED),
        (date(2027, 7, 1), REQ, date(2026, 9, 10), date(2026, 9, 11), Status.DISCONNECTED),
        (date(2026, 5, 20), date(2026, 5, 15), None, None, Status.REQUESTED),  # an advance request
    ],
)
def test_the_status_follows_the_design_table(today, req, ena, conf, expected):
    assert status(today, req, ena, conf) == expected


def test_the_tenth_working_day_after_a_request_is_the_expected_enable_date():
    assert EXP == date(2026, 9, 16)  # Labor Day (Sep 7) is skipped
    assert CAL.working_days_between(REQ, EXP) == 10


def test_an_sftp_connection_is_scripted_whatever_the_date():
    for day in (date(2026, 6, 1), date(2026, 7, 1), date(2027, 7, 1)):
        assert status(day, method="sftp") == Status.SCRIPTED


def test_a_leap_day_belongs_to_the_school_year_that_began_the_july_before():
    assert SchoolYear.of(date(2028, 2, 29)) == SchoolYear(2027)
    assert status(date(2028, 2, 29), year=SchoolYear(2027)) == Status.LAPSED


@pytest.mark.parametrize(
    ("text", "start"),
    [("2026-27", 2026), ("2026-2027", 2026), ("1999-00", 1999), ("2099-2100", 2099), (" 2030-31 ", 2030)],
)
def test_school_years_are_read_in_both_spellings(text, start):
    assert SchoolYear.parse(text).start == start


@pytest.mark.parametrize("text", ["2026-28", "2026", "26-27", "2026-2028", "abcd-ef", "", "2027-26"])
def test_a_malformed_school_year_is_refused(text):
    with pytest.raises(SchoolYearError):
        SchoolYear.parse(text)


def test_a_school_year_runs_from_july_first_to_june_thirtieth():
    assert (Y.begins, Y.ends, Y.label) == (date(2026, 7, 1), date(2027, 6, 30), "2026-27")
    assert SchoolYear.of(date(2026, 6, 30)) == SchoolYear(2025)
    assert SchoolYear.of(date(2026, 7, 1)) == Y
