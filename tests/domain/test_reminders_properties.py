"""Properties of the reminder rules, over generated renewals, rules and runs of the daily tick."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from apscn_tracker.config import ReminderRules
from apscn_tracker.domain.reminders import (
    ACTIVATION_OVERDUE,
    LAPSED_NOTICE,
    RENEWAL_REMINDER,
    SEND_DETAILS_REMINDER,
    Snapshot,
    due_reminders,
)
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by
from apscn_tracker.domain.yearchoice import cut_day

CAL = StateCalendar()
ONE = timedelta(days=1)


@st.composite
def rules(draw) -> ReminderRules:
    return ReminderRules(
        renewal_days_before=tuple(sorted(draw(st.sets(st.integers(0, 120), max_size=6)), reverse=True)),
        lapsed_every_days=draw(st.integers(1, 30)),
        lapsed_weekly_days=draw(st.integers(0, 60)),
        lapsed_then_every_days=draw(st.integers(1, 60)),
        overdue_every_working_days=draw(st.integers(1, 10)),
        details_first_working_days=draw(st.integers(1, 10)),
        details_every_working_days=draw(st.integers(1, 10)),
        details_max=draw(st.integers(1, 5)),
    )


@st.composite
def lifecycles(draw) -> dict:
    """A renewal's life: the year, and the days (maybe never) of request, enable, confirm, next year's request."""
    year = SchoolYear(draw(st.integers(2024, 2030)))
    day = lambda lo, hi: lo + timedelta(days=draw(st.integers(0, (hi - lo).days)))  # noqa: E731
    maybe = lambda: draw(st.booleans())  # noqa: E731
    life: dict = {"year": year, "requested": None, "enabled": None, "confirmed": None, "next_requested": None}
    life["active"] = draw(st.sampled_from([True, True, True, False]))
    if maybe():
        life["requested"] = day(year.begins - timedelta(days=60), year.ends - timedelta(days=20))
        if maybe():
            life["enabled"] = day(life["requested"], life["requested"] + timedelta(days=40))
            if maybe():
                life["confirmed"] = day(life["enabled"], life["enabled"] + timedelta(days=40))
    if maybe():
        life["next_requested"] = day(year.ends - timedelta(days=90), year.ends)
    return life


def snapshot_on(life: dict, today: date) -> Snapshot:
    """What the ledger holds on ``today``: only the steps recorded so far."""
    seen = lambda d: d if d is not None and d <= today else None  # noqa: E731
    requested = seen(life["requested"])
    return Snapshot(
        connection_id=1,
        school_year=life["year"],
        active=life["active"],
        requested_on=requested,
        expected_enabled_by=expected_enabled_by(CAL, requested) if requested else None,
        enabled_on=seen(life["enabled"]),
        confirmed_on=seen(life["confirmed"]),
        next_year_requested=seen(life["next_requested"]) is not None,
    )


def days(a: date, b: date):
    while a <= b:
        yield a
        a += ONE


def span(life: dict) -> tuple[date, date]:
    year = life["year"]
    return year.begins - timedelta(days=70), year.ends + timedelta(days=3)


def daily_run(life: dict, rule_set: ReminderRules, start: date, end: date) -> dict[str, date]:
    """Tick every day; key -> the day it was first due (what the outbox would hold)."""
    queued: dict[str, date] = {}
    for today in days(start, end):
        for due in due_reminders(snapshot_on(life, today), today=today, calendar=CAL, rules=rule_set):
            queued.setdefault(due.key, today)
    return queued


@settings(max_examples=150, deadline=None)
@given(life=lifecycles(), rule_set=rules())
def test_ticking_every_day_queues_each_milestone_once_on_its_own_day(life, rule_set):
    start, end = span(life)
    per_day: list[list] = []
    queued: dict[str, date] = {}
    for today in days(start, end):
        got = due_reminders(snapshot_on(life, today), today=today, calendar=CAL, rules=rule_set)
        per_day.append([d for d in got if d.key not in queued])
        for due in got:
            queued.setdefault(due.key, today)
            assert due.milestone <= today
    for key, first_day in queued.items():
        milestone = date.fromisoformat(key.rsplit(":", 1)[1])
        assert first_day == milestone, f"{key} first queued on {first_day}"
    new = [d.key for day_list in per_day for d in day_list]
    assert len(new) == len(set(new))


@settings(max_examples=150, deadline=None)
@given(life=lifecycles(), rule_set=rules(), data=st.data())
def test_skipping_days_never_queues_more_than_one_reminder_per_kind_and_only_the_latest(life, rule_set, data):
    start, end = span(life)
    every_day = daily_run(life, rule_set, start, end)
    all_days = list(days(start, end))
    ticks = sorted(data.draw(st.sets(st.sampled_from(all_days), max_size=25)))
    queued: set[str] = set()
    for today in ticks:
        got = due_reminders(snapshot_on(life, today), today=today, calendar=CAL, rules=rule_set)
        kinds = [d.kind for d in got]
        assert len(kinds) == len(set(kinds))
        for due in got:
            # catch-up invents nothing: the daily tick would have queued this very milestone
            assert due.key in every_day
            # and it is the latest of its chain on or before today
            later = [k for k, on in every_day.items() if k.startswith(due.kind + ":") and due.milestone < on <= today]
            assert later == []
            queued.add(due.key)
    assert queued <= set(every_day)


@settings(max_examples=300, deadline=None)
@given(life=lifecycles(), rule_set=rules(), offset=st.integers(0, 500))
def test_nothing_is_due_for_work_already_done(life, rule_set, offset):
    today = span(life)[0] + timedelta(days=offset)
    snap = snapshot_on(life, today)
    for due in due_reminders(snap, today=today, calendar=CAL, rules=rule_set):
        assert snap.active
        assert today <= snap.school_year.ends
        if due.kind == RENEWAL_REMINDER:
            assert not snap.next_year_requested
            assert today in snap.school_year
        elif due.kind == LAPSED_NOTICE:
            assert snap.requested_on is None
            assert today in snap.school_year
            assert today < cut_day(snap.school_year, CAL, 10)
        elif due.kind == ACTIVATION_OVERDUE:
            assert snap.requested_on is not None and snap.enabled_on is None
            assert today > snap.expected_enabled_by
            assert CAL.is_working_day(due.milestone)
        elif due.kind == SEND_DETAILS_REMINDER:
            assert snap.enabled_on is not None and snap.confirmed_on is None
            assert due.number <= rule_set.details_max
            assert CAL.is_working_day(due.milestone)
        assert due.milestone <= today


@settings(max_examples=100, deadline=None)
@given(life=lifecycles(), rule_set=rules())
def test_a_whole_year_of_daily_ticks_sends_at_most_the_configured_number_of_each_reminder(life, rule_set):
    start, end = span(life)
    queued = daily_run(life, rule_set, start, end)
    count = lambda kind: sum(1 for k in queued if k.startswith(kind + ":"))  # noqa: E731
    assert count(RENEWAL_REMINDER) <= len(rule_set.renewal_days_before)
    assert count(SEND_DETAILS_REMINDER) <= rule_set.details_max
    if life["requested"] is not None and life["requested"] <= life["year"].begins:
        assert count(LAPSED_NOTICE) == 0


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(2024, 2036).map(SchoolYear),
    start=st.integers(0, 364),
    gaps=st.lists(st.integers(1, 40), max_size=60),
)
def test_no_connection_gets_more_than_15_lapsed_notices_in_a_year_whatever_day_it_starts_or_ticks(year, start, gaps):
    """A lapsed connection, first ticked on any day of the year (daily, or with missed days), with the default
    rules: at most 15 lapsed notices, all before the cut, at least a week apart."""
    rule_set = ReminderRules()
    lapsed = Snapshot(connection_id=1, school_year=year)
    today, sent, days_sent = year.begins + timedelta(days=start), set(), []
    ticks = iter(gaps)
    while today <= year.ends:
        for due in due_reminders(lapsed, today=today, calendar=CAL, rules=rule_set):
            if due.kind == LAPSED_NOTICE and due.key not in sent:
                sent.add(due.key)
                days_sent.append(today)
                assert due.milestone < cut_day(year, CAL, 10)
        today += timedelta(days=next(ticks, 1))
    assert len(sent) <= 15
    # and never two within a week, however the ticks were missed
    assert all((b - a).days >= rule_set.lapsed_every_days for a, b in zip(days_sent, days_sent[1:], strict=False))
