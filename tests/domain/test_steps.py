"""The renewal steps, one table per step: what each one records, what it refuses; and the replay of their events.

The dates were worked out on a printed calendar: Labor Day is September 7, 2026, so a request on Tuesday,
September 8 is expected to be enabled 10 working days later, on Tuesday, September 22.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apscn_tracker.domain import steps
from apscn_tracker.domain.projection import fold
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import Event, Refusal, RenewalDates, StepRefused
from apscn_tracker.domain.workdays import StateCalendar
from apscn_tracker.errors import Refused, UserError

D = date
CAL = StateCalendar()
Y = SchoolYear(2026)  # 2026-27
TODAY = D(2026, 9, 15)
NONE = RenewalDates()
REQUESTED = RenewalDates(requested_on=D(2026, 9, 8), expected_enabled_by=D(2026, 9, 22))
ENABLED = replace(REQUESTED, enabled_on=D(2026, 9, 10))
CONFIRMED = replace(ENABLED, confirmed_on=D(2026, 9, 11))


def request(dates: RenewalDates, on: date, year: SchoolYear = Y, today: date = TODAY) -> steps.Step:
    return steps.request(dates, on=on, year=year, today=today, calendar=CAL, window=10)


def correct(dates: RenewalDates, field: str, new: date, year: SchoolYear = Y, today: date = TODAY) -> steps.Step:
    return steps.correct(dates, field=field, new=new, year=year, today=today, calendar=CAL, window=10)


# (sentence, the dates before, the step taken, the dates after it and the event it records, or (reason, words))
Case = tuple[str, RenewalDates, Any, Any]
CASES: list[Case] = [
    # -- request
    (
        "a first request records its day and the day it should be enabled",
        NONE,
        lambda d: request(d, D(2026, 9, 8)),
        (REQUESTED, Event("requested", D(2026, 9, 8), {"expected_enabled_by": "2026-09-22"})),
    ),
    (
        "a request for next year may go in a year ahead",
        NONE,
        lambda d: request(d, D(2026, 9, 8), year=Y.next),
        (REQUESTED, Event("requested", D(2026, 9, 8), {"expected_enabled_by": "2026-09-22"})),
    ),
    (
        "a request dated after today is refused",
        NONE,
        lambda d: request(d, D(2026, 9, 16)),
        (Refusal.RULE, "request date 2026-09-16 is after today (2026-09-15); record it on the day it happens"),
    ),
    (
        "a request two years ahead is refused",
        NONE,
        lambda d: request(d, D(2026, 9, 8), year=SchoolYear(2028)),
        (Refusal.RULE, "2028-29 is more than one school year ahead; requests go in for 2026-27 or 2027-28"),
    ),
    (
        "a request dated after its year ended is refused",
        NONE,
        lambda d: request(d, D(2026, 9, 8), year=Y.previous),
        (Refusal.RULE, "2025-26 ended on 2026-06-30; a request on 2026-09-08 belongs to 2026-27"),
    ),
    (
        "a request more than a year before its year begins is refused",
        NONE,
        lambda d: request(d, D(2026, 6, 30), year=Y.next),
        (Refusal.RULE, "a request on 2026-06-30 is too early for 2027-28"),
    ),
    (
        "a second request for the same year is refused",
        REQUESTED,
        lambda d: request(d, D(2026, 9, 14)),
        (Refusal.ALREADY_REQUESTED, "already requested on 2026-09-08"),
    ),
    # -- enable
    (
        "enabling records the day",
        REQUESTED,
        lambda d: steps.enable(d, on=D(2026, 9, 10), year=Y, today=TODAY),
        (ENABLED, Event("enabled", D(2026, 9, 10), {})),
    ),
    (
        "enabling on the request day is allowed",
        REQUESTED,
        lambda d: steps.enable(d, on=D(2026, 9, 8), year=Y, today=TODAY),
        (replace(REQUESTED, enabled_on=D(2026, 9, 8)), Event("enabled", D(2026, 9, 8), {})),
    ),
    (
        "enabling what was never requested is refused",
        NONE,
        lambda d: steps.enable(d, on=D(2026, 9, 10), year=Y, today=TODAY),
        (Refusal.NO_REQUEST, "no request yet"),
    ),
    (
        "enabling twice is refused",
        ENABLED,
        lambda d: steps.enable(d, on=D(2026, 9, 14), year=Y, today=TODAY),
        (Refusal.ALREADY_ENABLED, "already enabled on 2026-09-10"),
    ),
    (
        "enabling before the request is refused",
        REQUESTED,
        lambda d: steps.enable(d, on=D(2026, 9, 7), year=Y, today=TODAY),
        (Refusal.RULE, "enable date 2026-09-07 is before the request (2026-09-08)"),
    ),
    (
        "enabling after today is refused",
        REQUESTED,
        lambda d: steps.enable(d, on=D(2026, 9, 16), year=Y, today=TODAY),
        (Refusal.RULE, "enable date 2026-09-16 is after today"),
    ),
    (
        "enabling after the year was cut is refused",
        RenewalDates(requested_on=D(2026, 6, 1)),
        lambda d: steps.enable(d, on=D(2026, 7, 2), year=Y.previous, today=TODAY),
        (Refusal.RULE, "2025-26 ended on 2026-06-30; a connection cannot be enabled after that"),
    ),
    # -- confirm
    (
        "confirming records the day the details were sent",
        ENABLED,
        lambda d: steps.confirm(d, on=D(2026, 9, 11), today=TODAY),
        (CONFIRMED, Event("confirmed", D(2026, 9, 11), {})),
    ),
    (
        "confirming before enabling is refused",
        REQUESTED,
        lambda d: steps.confirm(d, on=D(2026, 9, 11), today=TODAY),
        (Refusal.NOT_ENABLED, "not enabled yet"),
    ),
    (
        "confirming what was never requested is refused",
        NONE,
        lambda d: steps.confirm(d, on=D(2026, 9, 11), today=TODAY),
        (Refusal.NO_REQUEST, "no request yet"),
    ),
    (
        "confirming twice is refused",
        CONFIRMED,
        lambda d: steps.confirm(d, on=D(2026, 9, 14), today=TODAY),
        (Refusal.ALREADY_CONFIRMED, "already confirmed on 2026-09-11"),
    ),
    (
        "confirming before the enable date is refused",
        ENABLED,
        lambda d: steps.confirm(d, on=D(2026, 9, 9), today=TODAY),
        (Refusal.RULE, "confirm date 2026-09-09 is before the enable date (2026-09-10)"),
    ),
    (
        "confirming after today is refused",
        ENABLED,
        lambda d: steps.confirm(d, on=D(2026, 9, 16), today=TODAY),
        (Refusal.RULE, "confirm date 2026-09-16 is after today"),
    ),
    # -- undo
    (
        "undoing the confirmation clears its day",
        CONFIRMED,
        lambda d: steps.undo(d, step="confirm"),
        (ENABLED, Event("corrected", None, {"undo": "confirmed_on", "old": "2026-09-11"})),
    ),
    (
        "undoing the request clears the day it should be enabled too",
        REQUESTED,
        lambda d: steps.undo(d, step="request"),
        (NONE, Event("corrected", None, {"undo": "requested_on", "old": "2026-09-08"})),
    ),
    (
        "undoing a step with a later step is refused",
        CONFIRMED,
        lambda d: steps.undo(d, step="enable"),
        (Refusal.LATER_STEP_FIRST, "undo the later step first: there is a step after enable"),
    ),
    (
        "undoing a step not taken is refused",
        ENABLED,
        lambda d: steps.undo(d, step="confirm"),
        (Refusal.NOTHING_TO_UNDO, "no confirm step to undo"),
    ),
    (
        "undoing anything of a renewal never requested is refused",
        NONE,
        lambda d: steps.undo(d, step="request"),
        (Refusal.NO_REQUEST, "no request yet"),
    ),
    # -- correct
    (
        "correcting the request date moves the day it should be enabled",
        REQUESTED,
        lambda d: correct(d, "requested_on", D(2026, 9, 9)),
        (
            RenewalDates(requested_on=D(2026, 9, 9), expected_enabled_by=D(2026, 9, 23)),
            Event(
                "corrected",
                None,
                {
                    "field": "requested_on",
                    "old": "2026-09-08",
                    "new": "2026-09-09",
                    "expected_enabled_by": "2026-09-23",
                },
            ),
        ),
    ),
    (
        "correcting the enable date keeps the other dates",
        CONFIRMED,
        lambda d: correct(d, "enabled_on", D(2026, 9, 9)),
        (
            replace(CONFIRMED, enabled_on=D(2026, 9, 9)),
            Event("corrected", None, {"field": "enabled_on", "old": "2026-09-10", "new": "2026-09-09"}),
        ),
    ),
    (
        "correcting a date to the same date is refused",
        ENABLED,
        lambda d: correct(d, "enabled_on", D(2026, 9, 10)),
        (Refusal.RULE, "enabled on is already 2026-09-10"),
    ),
    (
        "correcting a date to before the previous step is refused",
        ENABLED,
        lambda d: correct(d, "enabled_on", D(2026, 9, 7)),
        (Refusal.RULE, "enabled on 2026-09-07 would be before the previous step (2026-09-08)"),
    ),
    (
        "correcting a date to after the next step is refused",
        ENABLED,
        lambda d: correct(d, "requested_on", D(2026, 9, 11)),
        (Refusal.RULE, "requested on 2026-09-11 would be after the next step (2026-09-10)"),
    ),
    (
        "correcting a date to after today is refused",
        CONFIRMED,
        lambda d: correct(d, "confirmed_on", D(2026, 9, 16)),
        (Refusal.RULE, "confirmed date 2026-09-16 is after today"),
    ),
    (
        "correcting a date to after the end of its year is refused",
        RenewalDates(requested_on=D(2026, 6, 1), enabled_on=D(2026, 6, 10)),
        lambda d: correct(d, "enabled_on", D(2026, 7, 1), year=Y.previous),
        (Refusal.RULE, "2026-07-01 is after the end of 2025-26"),
    ),
    (
        "correcting a step not taken is refused",
        ENABLED,
        lambda d: correct(d, "confirmed_on", D(2026, 9, 12)),
        (Refusal.NOTHING_TO_CORRECT, "no confirmed on to correct"),
    ),
    (
        "correcting a renewal never requested is refused",
        NONE,
        lambda d: correct(d, "requested_on", D(2026, 9, 12)),
        (Refusal.NO_REQUEST, "no request yet"),
    ),
    # -- disconnect
    (
        "the rollover disconnects an ended year as of its June 30",
        CONFIRMED,
        lambda d: steps.disconnect(d, year=Y.previous, today=D(2026, 7, 1)),
        (replace(CONFIRMED, disconnected_on=D(2026, 6, 30)), Event("disconnected", D(2026, 6, 30), {})),
    ),
    (
        "the rollover disconnects a year that was never requested as well",
        NONE,
        lambda d: steps.disconnect(d, year=Y.previous, today=TODAY),
        (RenewalDates(disconnected_on=D(2026, 6, 30)), Event("disconnected", D(2026, 6, 30), {})),
    ),
    (
        "disconnecting a year on its last day is refused",
        CONFIRMED,
        lambda d: steps.disconnect(d, year=Y.previous, today=D(2026, 6, 30)),
        (Refusal.RULE, "2025-26 has not ended yet"),
    ),
    (
        "disconnecting twice is refused",
        RenewalDates(disconnected_on=D(2026, 6, 30)),
        lambda d: steps.disconnect(d, year=Y.previous, today=TODAY),
        (Refusal.ALREADY_DISCONNECTED, "already disconnected on 2026-06-30"),
    ),
]


@pytest.mark.parametrize(("before", "take", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_step_records_what_its_rule_says_or_refuses_in_words(before, take, expected):
    if isinstance(expected[0], Refusal):
        reason, words = expected
        with pytest.raises(StepRefused) as refused:
            take(before)
        assert refused.value.reason == reason and str(refused.value).startswith(words)
        return
    dates, event = expected
    assert take(before) == (dates, event)
    assert steps.apply(before, event) == dates  # the replay of the event lands on the same dates


def test_a_refusal_is_a_refused_user_error_that_the_command_line_prints_as_one_line():
    with pytest.raises(Refused) as refused:
        steps.confirm(NONE, on=TODAY, today=TODAY)
    assert isinstance(refused.value, UserError)


def test_the_replay_applies_a_recorded_event_that_todays_rules_would_refuse():
    """A recorded event was valid when recorded: a rule tightened since, or a replay clock, never rewrites it."""
    events = [
        ("requested", D(2026, 9, 8), {"expected_enabled_by": "2026-09-22"}),
        ("enabled", D(2026, 9, 1), {}),  # before its request: refused live, kept on replay
        ("confirmed", D(2099, 1, 1), {}),  # after any today
    ]
    assert fold(events) == RenewalDates(D(2026, 9, 8), D(2026, 9, 22), D(2026, 9, 1), D(2099, 1, 1))


def test_the_replay_keeps_the_day_a_request_was_expected_by_as_recorded_not_as_recomputed():
    """A closure added to the calendar since does not move a recorded expectation."""
    events = [("requested", D(2026, 9, 8), {"expected_enabled_by": "2026-09-25"})]
    assert fold(events).expected_enabled_by == D(2026, 9, 25)


def test_the_replay_ignores_events_that_do_not_change_a_renewals_dates():
    events = [
        ("requested", D(2026, 9, 8), {"expected_enabled_by": "2026-09-22"}),
        ("reminder_queued", D(2026, 9, 23), {"kind": "activation_overdue"}),
        ("message_sent", None, {}),
    ]
    assert fold(events) == REQUESTED


@pytest.mark.parametrize(
    "data",
    [{"field": "expected_enabled_by", "new": "2026-09-30"}, {"undo": "disconnected_on"}, {"field": "enabled_on"}],
    ids=["a moved expectation", "an undone disconnect", "a correction without its new date"],
)
def test_the_replay_refuses_an_event_it_cannot_read_with_an_error_the_ledger_check_reports(data):
    with pytest.raises((KeyError, TypeError, ValueError)):
        fold([("requested", D(2026, 9, 8), {}), ("corrected", None, data)])


# -- the property: whatever steps are taken, folding their events gives the dates they produced -------------------

OPS = ("request", "enable", "confirm", "undo", "correct", "disconnect")
WEIGHTED = ("request",) * 3 + ("enable",) * 3 + ("confirm",) * 3 + OPS  # most tries go forward


@st.composite
def attempts(draw) -> tuple[date, list[tuple[str, int, int, str]]]:
    """A first day and the steps a coordinator tries, each some days after the one before, dated some days back."""
    first = draw(st.dates(D(2026, 3, 1), D(2027, 5, 31)))
    tries = draw(
        st.lists(
            st.tuples(
                st.sampled_from(WEIGHTED),
                st.integers(0, 20),  # days until this try
                st.integers(0, 15),  # how many days back its date is
                st.sampled_from(tuple(steps.FIELD_OF_STEP)),  # the step an undo or a correction is about
            ),
            max_size=14,
        )
    )
    return first, tries


def _try(dates: RenewalDates, op: str, on: date, today: date, which: str) -> steps.Step:
    if op == "request":
        return request(dates, on, today=today)
    if op == "enable":
        return steps.enable(dates, on=on, year=Y, today=today)
    if op == "confirm":
        return steps.confirm(dates, on=on, today=today)
    if op == "undo":
        return steps.undo(dates, step=which)
    if op == "correct":
        return correct(dates, steps.FIELD_OF_STEP[which], on, today=today)
    return steps.disconnect(dates, year=Y, today=today)


@settings(max_examples=300, deadline=None)
@given(attempts())
def test_folding_the_events_of_any_steps_taken_gives_the_dates_the_steps_produced(run):
    first, tries = run
    dates, events, today = NONE, [], first
    for op, wait, back, which in tries:
        today += timedelta(days=wait)
        try:
            step = _try(dates, op, today - timedelta(days=back), today, which)
        except StepRefused:
            continue
        dates = step.dates
        events.append(step.event)
        assert fold(events) == dates
        # the steps keep their order, and a request always says when it should be enabled
        taken = [d for d in (dates.requested_on, dates.enabled_on, dates.confirmed_on) if d is not None]
        assert taken == sorted(taken)
        assert (dates.requested_on is None) == (dates.expected_enabled_by is None)
        assert dates.enabled_on is None or dates.requested_on is not None
        assert dates.confirmed_on is None or dates.enabled_on is not None
    assert fold(events) == dates
