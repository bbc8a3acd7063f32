"""Properties of working-day arithmetic, and agreement with a slow day-by-day reference."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from apscn_tracker.domain.workdays import StateCalendar

ONE = timedelta(days=1)
CAL = StateCalendar()

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
counts = st.integers(min_value=-400, max_value=400)
nonzero = counts.filter(lambda n: n != 0)
positive = st.integers(min_value=1, max_value=400)
negative = st.integers(min_value=-400, max_value=-1)


class Reference:
    """Day-by-day working-day arithmetic from the calendar's own list of holidays."""

    def __init__(self, cal: StateCalendar) -> None:
        self.cal = cal
        self.closed: dict[int, set[date]] = {}

    def is_working_day(self, d: date) -> bool:
        if d.year not in self.closed:
            self.closed[d.year] = {x.day for x in self.cal.holidays(d.year)}
        return d.weekday() < 5 and d not in self.closed[d.year]

    def add(self, start: date, n: int) -> date:
        step = ONE if n > 0 else -ONE
        d, left = start, abs(n)
        while left:
            d += step
            if self.is_working_day(d):
                left -= 1
        return d

    def between(self, start: date, end: date) -> int:
        if end < start:
            return -self.between(end, start)
        count, d = 0, start
        while d < end:
            d += ONE
            count += self.is_working_day(d)
        return count


REF = Reference(CAL)


@given(dates, nonzero)
def test_the_result_of_a_nonzero_count_is_a_working_day(start: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(start, n))


@given(dates, counts)
def test_adding_moves_in_the_direction_of_the_count(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n)
    assert (result > start) == (n > 0)
    assert (result < start) == (n < 0)


@given(dates, st.integers(min_value=0, max_value=400))
def test_counting_back_between_start_and_result_gives_a_nonnegative_count(start: date, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(dates, negative)
def test_counting_back_a_negative_count_depends_on_whether_start_is_a_working_day(start: date, n: int) -> None:
    # Days are counted in (start, end]: going back, the end is the result and start itself is counted when
    # it is a working day, the result is not.
    expected = n if CAL.is_working_day(start) else n + 1
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == expected


@given(dates, counts, counts)
def test_adding_is_strictly_monotonic_in_the_count(start: date, a: int, b: int) -> None:
    if a < b:
        assert CAL.add_working_days(start, a) < CAL.add_working_days(start, b)
    elif a == b:
        assert CAL.add_working_days(start, a) == CAL.add_working_days(start, b)


@given(dates, dates, dates)
def test_working_days_between_is_additive_and_antisymmetric(a: date, b: date, c: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    assert CAL.working_days_between(a, b) + CAL.working_days_between(b, c) == CAL.working_days_between(a, c)


@given(dates, st.one_of(positive, negative), st.one_of(positive, negative))
def test_counts_of_one_sign_compose(start: date, a: int, b: int) -> None:
    if (a > 0) == (b > 0):
        assert CAL.add_working_days(CAL.add_working_days(start, a), b) == CAL.add_working_days(start, a + b)


@given(dates, counts, counts)
def test_from_a_working_day_any_counts_compose(start: date, a: int, b: int) -> None:
    start = CAL.on_or_after(start)
    assert CAL.add_working_days(CAL.add_working_days(start, a), b) == CAL.add_working_days(start, a + b)


@given(dates, positive)
def test_going_forward_then_back_from_a_closed_day_lands_on_the_previous_working_day(start: date, n: int) -> None:
    # Mixed signs do not compose from a non-working day: the start counts as day 0 but is not a working day.
    back = CAL.add_working_days(CAL.add_working_days(start, n), -n)
    assert back == (start if CAL.is_working_day(start) else CAL.previous_working_day(start))


@given(dates)
def test_next_previous_and_on_or_after_agree_with_adding_one(day: date) -> None:
    assert CAL.next_working_day(day) == CAL.add_working_days(day, 1)
    assert CAL.previous_working_day(day) == CAL.add_working_days(day, -1)
    assert CAL.on_or_after(day) == (day if CAL.is_working_day(day) else CAL.next_working_day(day))
    assert CAL.previous_working_day(CAL.next_working_day(day)) <= day


@given(dates)
def test_is_working_day_agrees_with_the_holiday_list(day: date) -> None:
    assert CAL.is_working_day(day) == REF.is_working_day(day)
    assert (CAL.holiday_name(day) is not None) == (day in REF.closed[day.year])


@given(dates, counts)
def test_adding_agrees_with_the_day_by_day_reference(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) == REF.add(start, n)


@given(dates, st.integers(min_value=-600, max_value=600))
def test_working_days_between_agrees_with_the_day_by_day_reference(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    assert CAL.working_days_between(start, end) == REF.between(start, end)


@given(
    st.lists(dates, max_size=8),
    st.lists(st.integers(min_value=2000, max_value=2100), max_size=4),
    st.sampled_from(["before", "after"]),
    dates,
    counts,
)
def test_a_configured_calendar_agrees_with_the_reference_too(
    extra: list[date], removed_years: list[int], policy: str, start: date, n: int
) -> None:
    # Remove a January or February statute holiday (the same under both policies) of some years, and close a
    # few random days.
    removed = {CAL.holidays(y)[1].day for y in removed_years}
    cal = StateCalendar(extra_closures=set(extra) - removed, removed_closures=removed, collision_policy=policy)
    ref = Reference(cal)
    assert cal.add_working_days(start, n) == ref.add(start, n)
    end = start + timedelta(days=n)
    assert cal.working_days_between(start, end) == ref.between(start, end)
    for d in removed:
        assert cal.is_working_day(d) == (d.weekday() < 5)
    for d in extra:
        if d not in removed:
            assert not cal.is_working_day(d)
