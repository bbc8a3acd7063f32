"""The reminder rules on their boundaries, with dates worked out by hand on a printed calendar.

June 30, 2027 is a Wednesday. July 4, 2026 is a Saturday (observed Friday July 3). Thanksgiving 2026 is
Thursday November 26. Christmas Eve and Christmas Day 2026 are Thursday and Friday; New Year's Day 2027 a
Friday. 2028 is a leap year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from apscn_tracker.config import ReminderRules
from apscn_tracker.domain.reminders import (
    ACTIVATION_OVERDUE,
    LAPSED_NOTICE,
    RENEWAL_REMINDER,
    SEND_DETAILS_REMINDER,
    Snapshot,
    activation_overdue,
    due_reminders,
    lapsed_notice,
    reminder_key,
    renewal_reminder,
    send_details_reminder,
)
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar

D = date
CAL = StateCalendar()
RULES = ReminderRules()
Y26 = SchoolYear(2026)  # 2026-27
Y27 = SchoolYear(2027)  # 2027-28, leap year ends June 30, 2028


def snap(year: SchoolYear = Y26, **kw) -> Snapshot:
    return Snapshot(connection_id=7, school_year=year, **kw)


def milestone(due) -> tuple[date, int] | None:
    return None if due is None else (due.milestone, due.number)


# -- renewal_reminder: June 30 minus 60, 30, 14, 7, 1 days --------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 7, 1), None),  # the school year has just begun: nothing yet
        (D(2027, 4, 30), None),  # the day before the 60-day milestone
        (D(2027, 5, 1), (D(2027, 5, 1), 1)),  # 60 days before June 30 (a Saturday: calendar days)
        (D(2027, 5, 30), (D(2027, 5, 1), 1)),
        (D(2027, 5, 31), (D(2027, 5, 31), 2)),  # 30 days before (Memorial Day: still calendar days)
        (D(2027, 6, 15), (D(2027, 5, 31), 2)),
        (D(2027, 6, 16), (D(2027, 6, 16), 3)),  # 14 days
        (D(2027, 6, 20), (D(2027, 6, 16), 3)),  # missed since April: only the latest, the 14-day one
        (D(2027, 6, 23), (D(2027, 6, 23), 4)),  # 7 days
        (D(2027, 6, 29), (D(2027, 6, 29), 5)),  # 1 day
        (D(2027, 6, 30), (D(2027, 6, 29), 5)),  # June 30 itself: still the 1-day one
    ],
)
def test_the_renewal_reminder_is_the_latest_milestone_before_june_30(today, expected):
    due = renewal_reminder(snap(), today=today, rules=RULES)
    assert milestone(due) == expected
    if due is not None:
        assert due.kind == RENEWAL_REMINDER
        assert due.school_year == Y26.next  # it asks for next year's connection
        assert due.key == f"renewal_reminder:7:2027:{expected[0].isoformat()}"


def test_on_july_1_the_renewal_reminder_belongs_to_the_new_school_year_and_is_not_due():
    assert renewal_reminder(snap(Y26), today=D(2027, 7, 1), rules=RULES) is None
    assert renewal_reminder(snap(Y26.next), today=D(2027, 7, 1), rules=RULES) is None


def test_the_days_before_of_each_renewal_milestone_come_from_the_rules():
    due = renewal_reminder(snap(), today=D(2027, 6, 23), rules=RULES)
    assert due is not None and due.days_before == 7
    rules = replace(RULES, renewal_days_before=(45, 3))
    assert milestone(renewal_reminder(snap(), today=D(2027, 6, 23), rules=rules)) == (D(2027, 5, 16), 1)
    assert milestone(renewal_reminder(snap(), today=D(2027, 6, 27), rules=rules)) == (D(2027, 6, 27), 2)
    assert renewal_reminder(snap(), today=D(2027, 6, 30), rules=replace(RULES, renewal_days_before=())) is None


def test_a_renewal_milestone_in_a_leap_year_counts_february_29():
    rules = replace(RULES, renewal_days_before=(150,))
    assert milestone(renewal_reminder(snap(Y27), today=D(2028, 2, 1), rules=rules)) == (D(2028, 2, 1), 1)
    assert renewal_reminder(snap(Y27), today=D(2028, 1, 31), rules=rules) is None
    assert milestone(renewal_reminder(snap(Y26), today=D(2027, 1, 31), rules=rules)) == (D(2027, 1, 31), 1)


def test_a_renewal_milestone_before_the_school_year_began_is_ignored():
    rules = replace(RULES, renewal_days_before=(400, 30))
    assert renewal_reminder(snap(), today=D(2027, 5, 30), rules=rules) is None


@pytest.mark.parametrize(
    "change",
    [
        {"next_year_requested": True},
        {"active": False},
        {"method": "sftp"},
        {"disconnected_on": D(2027, 6, 30)},
    ],
)
def test_no_renewal_reminder_once_next_year_is_requested_or_the_connection_is_not_a_live_api_one(change):
    assert renewal_reminder(snap(**change), today=D(2027, 6, 16), rules=RULES) is None


def test_a_district_that_renewed_this_year_still_gets_next_years_renewal_reminder():
    done = snap(requested_on=D(2026, 6, 1), enabled_on=D(2026, 6, 10), confirmed_on=D(2026, 6, 11))
    assert milestone(renewal_reminder(done, today=D(2027, 5, 1), rules=RULES)) == (D(2027, 5, 1), 1)


# -- lapsed_notice: July 1, weekly for four weeks, then every four weeks, until the cut -----------------------
# 2026-27: July 1, 8, 15, 22, then Aug 19, Sep 16, Oct 14, Nov 11, Dec 9, Jan 6, Feb 3, Mar 3, Mar 31, Apr 28,
# May 26 (15). June 30, 2027 is a Wednesday: its cut (10 working days before it runs past June 30) is Thursday
# June 17 (Juneteenth 2027 is a Saturday, no state holiday moves into the window).


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 6, 30), None),  # the previous school year: this snapshot's year has not begun
        (D(2026, 7, 1), (D(2026, 7, 1), 1)),
        (D(2026, 7, 2), None),  # July 1 missed, July 8 is within a week: wait for it, never two within a week
        (D(2026, 7, 7), None),
        (D(2026, 7, 8), (D(2026, 7, 8), 2)),
        (D(2026, 7, 22), (D(2026, 7, 22), 4)),
        (D(2026, 7, 29), (D(2026, 7, 22), 4)),  # after the weekly four: every four weeks
        (D(2026, 8, 19), (D(2026, 8, 19), 5)),
        (D(2026, 9, 8), (D(2026, 8, 19), 5)),  # missed: one notice, the latest
        (D(2026, 9, 15), None),  # missed, and the next (September 16) is tomorrow
        (D(2027, 3, 3), (D(2027, 3, 3), 12)),
        (D(2027, 5, 26), (D(2027, 5, 26), 15)),  # the last one before the cut
        (D(2027, 6, 16), (D(2027, 5, 26), 15)),  # the day before the cut
        (D(2027, 6, 17), None),  # the cut: a request could no longer be enabled by June 30
        (D(2027, 6, 30), None),
        (D(2027, 7, 1), None),  # the year is over
    ],
)
def test_the_lapsed_notice_is_weekly_through_july_then_every_four_weeks_until_the_cut(today, expected):
    due = lapsed_notice(snap(), today=today, rules=RULES, calendar=CAL)
    assert milestone(due) == expected
    if due is not None:
        assert due.kind == LAPSED_NOTICE and due.school_year == Y26


def test_the_lapsed_notice_chain_crosses_february_29_of_a_leap_year():
    # 2027-28: July 1, 8, 15, 22, Aug 19 ... Feb 3, 2028, then March 2 (28 days over February 29)
    assert milestone(lapsed_notice(snap(Y27), today=D(2028, 2, 24), rules=RULES, calendar=CAL)) == (D(2028, 2, 3), 11)
    assert lapsed_notice(snap(Y27), today=D(2028, 2, 29), rules=RULES, calendar=CAL) is None  # March 2 is near
    assert milestone(lapsed_notice(snap(Y27), today=D(2028, 3, 2), rules=RULES, calendar=CAL)) == (D(2028, 3, 2), 12)


def test_the_lapsed_intervals_come_from_the_rules():
    rules = replace(RULES, lapsed_every_days=14, lapsed_weekly_days=0, lapsed_then_every_days=14)
    assert milestone(lapsed_notice(snap(), today=D(2026, 7, 1), rules=rules, calendar=CAL)) == (D(2026, 7, 1), 1)
    assert lapsed_notice(snap(), today=D(2026, 7, 14), rules=rules, calendar=CAL) is None  # the next is tomorrow
    assert milestone(lapsed_notice(snap(), today=D(2026, 7, 15), rules=rules, calendar=CAL)) == (D(2026, 7, 15), 2)
    weekly = replace(RULES, lapsed_weekly_days=366)  # the old cadence: weekly all year, still until the cut
    assert milestone(lapsed_notice(snap(), today=D(2027, 3, 3), rules=weekly, calendar=CAL)) == (D(2027, 3, 3), 36)
    assert lapsed_notice(snap(), today=D(2027, 6, 17), rules=weekly, calendar=CAL) is None


@pytest.mark.parametrize(
    "change",
    [
        {"requested_on": D(2026, 7, 2)},
        {"requested_on": D(2026, 5, 1)},  # requested in advance
        {"active": False},
        {"method": "sftp"},
    ],
)
def test_no_lapsed_notice_once_requested_or_for_a_connection_that_is_not_a_live_api_one(change):
    assert lapsed_notice(snap(**change), today=D(2026, 7, 8), rules=RULES, calendar=CAL) is None


def test_a_request_for_next_year_does_not_silence_this_years_lapsed_notices():
    got = lapsed_notice(snap(next_year_requested=True), today=D(2026, 7, 8), rules=RULES, calendar=CAL)
    assert milestone(got) == (D(2026, 7, 8), 2)


def test_from_the_cut_only_the_renewal_reminder_is_due_for_the_year():
    stuck = snap(requested_on=D(2027, 5, 3), expected_enabled_by=D(2027, 5, 17))
    assert {d.kind for d in due_reminders(stuck, today=D(2027, 6, 16), calendar=CAL, rules=RULES)} == {
        ACTIVATION_OVERDUE,
        RENEWAL_REMINDER,
    }
    assert [d.kind for d in due_reminders(stuck, today=D(2027, 6, 17), calendar=CAL, rules=RULES)] == [RENEWAL_REMINDER]


# -- activation_overdue: first working day after expected_enabled_by, then every 5 working days --------------

# Requested Monday June 15, 2026: the 10th working day is Monday June 29 (Juneteenth is a working day).
JUNE = {"requested_on": D(2026, 6, 15), "expected_enabled_by": D(2026, 6, 29)}
# Expected by Wednesday November 25, 2026, the eve of Thanksgiving.
NOVEMBER = {"requested_on": D(2026, 11, 10), "expected_enabled_by": D(2026, 11, 25)}


@pytest.mark.parametrize(
    ("year", "dates", "today", "expected"),
    [
        (Y26, JUNE, D(2026, 6, 29), None),  # on the expected day: not overdue yet
        (Y26, JUNE, D(2026, 6, 30), (D(2026, 6, 30), 1)),  # next year's request, made in advance
        (Y26, JUNE, D(2026, 7, 7), (D(2026, 6, 30), 1)),
        # June 30 + 5 working days: July 1, 2, (3 is Independence Day observed), 6, 7, 8
        (Y26, JUNE, D(2026, 7, 8), (D(2026, 7, 8), 2)),
        (Y26, NOVEMBER, D(2026, 11, 26), None),  # Thanksgiving is not a working day
        (Y26, NOVEMBER, D(2026, 11, 27), (D(2026, 11, 27), 1)),  # the day after is one
        (Y26, NOVEMBER, D(2026, 11, 29), (D(2026, 11, 27), 1)),  # a Sunday: still the Friday one
        (Y26, NOVEMBER, D(2026, 12, 4), (D(2026, 12, 4), 2)),
        (Y26, NOVEMBER, D(2026, 12, 10), (D(2026, 12, 4), 2)),
        (Y26, NOVEMBER, D(2026, 12, 11), (D(2026, 12, 11), 3)),
    ],
)
def test_activation_overdue_counts_working_days_after_the_expected_date(year, dates, today, expected):
    due = activation_overdue(snap(year, **dates), today=today, calendar=CAL, rules=RULES)
    assert milestone(due) == expected
    if due is not None:
        assert due.kind == ACTIVATION_OVERDUE and CAL.is_working_day(due.milestone)


def test_a_this_year_request_overdue_on_june_30_stops_on_july_1_when_dis_cuts_the_year():
    june = snap(SchoolYear(2025), **JUNE)  # a late request for 2025-26, made in its last weeks
    assert milestone(activation_overdue(june, today=D(2026, 6, 30), calendar=CAL, rules=RULES)) == (D(2026, 6, 30), 1)
    assert activation_overdue(june, today=D(2026, 7, 1), calendar=CAL, rules=RULES) is None
    assert due_reminders(june, today=D(2026, 7, 8), calendar=CAL, rules=RULES) == []


def test_activation_overdue_honours_a_configured_interval_and_closures():
    rules = replace(RULES, overdue_every_working_days=2)
    cal = StateCalendar(extra_closures=[D(2026, 11, 30)])
    due = activation_overdue(snap(**NOVEMBER), today=D(2026, 12, 1), calendar=cal, rules=rules)
    assert milestone(due) == (D(2026, 11, 27), 1)  # Nov 30 closed: Dec 1 is only 1 working day after Nov 27
    due = activation_overdue(snap(**NOVEMBER), today=D(2026, 12, 2), calendar=cal, rules=rules)
    assert milestone(due) == (D(2026, 12, 2), 2)


@pytest.mark.parametrize(
    "change",
    [{"enabled_on": D(2026, 12, 1)}, {"active": False}, {"disconnected_on": D(2027, 6, 30)}],
)
def test_no_activation_overdue_once_enabled_or_for_a_connection_that_is_gone(change):
    due = activation_overdue(snap(**NOVEMBER, **change), today=D(2026, 12, 4), calendar=CAL, rules=RULES)
    assert due is None


# -- send_details_reminder: 2 working days after enabled_on, then every 5, at most 3 -------------------------

ENABLED_DEC = {"requested_on": D(2026, 12, 3), "expected_enabled_by": D(2026, 12, 17), "enabled_on": D(2026, 12, 18)}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 12, 21), None),
        (D(2026, 12, 22), (D(2026, 12, 22), 1)),  # Friday Dec 18 + 2 working days
        (D(2026, 12, 30), (D(2026, 12, 22), 1)),
        # + 5: Dec 23, (24, 25 Christmas Eve and Day), 28, 29, 30, 31
        (D(2026, 12, 31), (D(2026, 12, 31), 2)),
        # + 5: (Jan 1 New Year's Day), 4, 5, 6, 7, 8
        (D(2027, 1, 8), (D(2027, 1, 8), 3)),
        (D(2027, 1, 15), (D(2027, 1, 8), 3)),  # at most 3: the 4th milestone never comes
        (D(2027, 6, 30), (D(2027, 1, 8), 3)),
    ],
)
def test_the_send_details_reminder_goes_at_most_three_times_on_working_days(today, expected):
    due = send_details_reminder(snap(**ENABLED_DEC), today=today, calendar=CAL, rules=RULES)
    assert milestone(due) == expected
    if due is not None:
        assert due.kind == SEND_DETAILS_REMINDER
        assert due.key == f"send_details_reminder:7:2026:{expected[0].isoformat()}"


def test_the_details_numbers_come_from_the_rules():
    rules = replace(RULES, details_first_working_days=1, details_every_working_days=1, details_max=2)
    s = snap(**ENABLED_DEC)
    assert milestone(send_details_reminder(s, today=D(2026, 12, 21), calendar=CAL, rules=rules)) == (
        D(2026, 12, 21),
        1,
    )
    assert milestone(send_details_reminder(s, today=D(2027, 2, 1), calendar=CAL, rules=rules)) == (D(2026, 12, 22), 2)


def test_no_details_reminder_once_confirmed():
    s = snap(**ENABLED_DEC, confirmed_on=D(2026, 12, 21))
    assert send_details_reminder(s, today=D(2026, 12, 22), calendar=CAL, rules=RULES) is None


# -- all rules together -----------------------------------------------------------------------------------------


def test_a_lapsed_year_in_may_gets_the_lapsed_notice_and_next_years_renewal_reminder():
    got = due_reminders(snap(), today=D(2027, 5, 1), calendar=CAL, rules=RULES)
    assert [(d.kind, d.milestone, d.school_year) for d in got] == [
        (RENEWAL_REMINDER, D(2027, 5, 1), Y26.next),
        (LAPSED_NOTICE, D(2027, 4, 28), Y26),
    ]


def test_a_request_for_next_year_gets_only_the_working_day_rules():
    nxt = snap(Y26.next, requested_on=D(2027, 5, 3), expected_enabled_by=D(2027, 5, 17))
    got = due_reminders(nxt, today=D(2027, 5, 18), calendar=CAL, rules=RULES)
    assert [(d.kind, d.milestone) for d in got] == [(ACTIVATION_OVERDUE, D(2027, 5, 18))]


def test_an_ended_or_far_future_year_has_no_reminders():
    assert due_reminders(snap(SchoolYear(2025)), today=D(2026, 7, 8), calendar=CAL, rules=RULES) == []
    assert due_reminders(snap(SchoolYear(2028)), today=D(2026, 7, 8), calendar=CAL, rules=RULES) == []


def test_keys_name_kind_connection_year_and_milestone():
    assert reminder_key("lapsed_notice", 12, Y26, D(2026, 7, 8)) == "lapsed_notice:12:2026:2026-07-08"
