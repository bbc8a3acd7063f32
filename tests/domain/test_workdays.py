"""The Arkansas state-office calendar (Ark. Code Ann. § 1-5-101), against dates written out by hand."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import (
    ACTIVATION_WORKING_DAYS,
    CLOSURE_NAME,
    Holiday,
    StateCalendar,
    expected_enabled_by,
    request_by,
)

NEW_YEAR = "New Year's Day"
MLK = "Dr. Martin Luther King Jr.'s Birthday"
WASHINGTON_BATES = "George Washington's Birthday and Daisy Gatson Bates Day"
MEMORIAL = "Memorial Day"
INDEPENDENCE = "Independence Day"
LABOR = "Labor Day"
VETERANS = "Veterans Day"
THANKSGIVING = "Thanksgiving Day"
XMAS_EVE = "Christmas Eve"
XMAS = "Christmas Day"

D = date


def h(day: date, name: str, actual: date | None = None) -> Holiday:
    return Holiday(day, name, actual or day)


# Every observed holiday, by calendar year, with the default "before" collision policy. Written out by hand
# from a printed calendar; weekday of each shifted statutory date noted.
OBSERVED = {
    2025: [
        h(D(2025, 1, 1), NEW_YEAR),  # Wed
        h(D(2025, 1, 20), MLK),
        h(D(2025, 2, 17), WASHINGTON_BATES),
        h(D(2025, 5, 26), MEMORIAL),
        h(D(2025, 7, 4), INDEPENDENCE),  # Fri
        h(D(2025, 9, 1), LABOR),
        h(D(2025, 11, 11), VETERANS),  # Tue
        h(D(2025, 11, 27), THANKSGIVING),
        h(D(2025, 12, 24), XMAS_EVE),  # Wed
        h(D(2025, 12, 25), XMAS),  # Thu
    ],
    2026: [
        h(D(2026, 1, 1), NEW_YEAR),  # Thu
        h(D(2026, 1, 19), MLK),
        h(D(2026, 2, 16), WASHINGTON_BATES),
        h(D(2026, 5, 25), MEMORIAL),
        h(D(2026, 7, 3), INDEPENDENCE, D(2026, 7, 4)),  # Sat -> Fri
        h(D(2026, 9, 7), LABOR),
        h(D(2026, 11, 11), VETERANS),  # Wed
        h(D(2026, 11, 26), THANKSGIVING),
        h(D(2026, 12, 24), XMAS_EVE),  # Thu
        h(D(2026, 12, 25), XMAS),  # Fri
    ],
    2027: [
        h(D(2027, 1, 1), NEW_YEAR),  # Fri
        h(D(2027, 1, 18), MLK),
        h(D(2027, 2, 15), WASHINGTON_BATES),
        h(D(2027, 5, 31), MEMORIAL),
        h(D(2027, 7, 5), INDEPENDENCE, D(2027, 7, 4)),  # Sun -> Mon
        h(D(2027, 9, 6), LABOR),
        h(D(2027, 11, 11), VETERANS),  # Thu
        h(D(2027, 11, 25), THANKSGIVING),
        h(D(2027, 12, 23), XMAS_EVE, D(2027, 12, 24)),  # Fri, collides: moved to Thu
        h(D(2027, 12, 24), XMAS, D(2027, 12, 25)),  # Sat -> Fri
        h(D(2027, 12, 31), NEW_YEAR, D(2028, 1, 1)),  # Sat Jan 1 2028 -> Fri Dec 31 2027
    ],
    2028: [
        # no New Year's Day: observed on Dec 31, 2027
        h(D(2028, 1, 17), MLK),
        h(D(2028, 2, 21), WASHINGTON_BATES),
        h(D(2028, 5, 29), MEMORIAL),
        h(D(2028, 7, 4), INDEPENDENCE),  # Tue
        h(D(2028, 9, 4), LABOR),
        h(D(2028, 11, 10), VETERANS, D(2028, 11, 11)),  # Sat -> Fri
        h(D(2028, 11, 23), THANKSGIVING),
        h(D(2028, 12, 22), XMAS_EVE, D(2028, 12, 24)),  # Sun -> Mon collides: moved to Fri
        h(D(2028, 12, 25), XMAS),  # Mon
    ],
    2029: [
        h(D(2029, 1, 1), NEW_YEAR),  # Mon
        h(D(2029, 1, 15), MLK),
        h(D(2029, 2, 19), WASHINGTON_BATES),
        h(D(2029, 5, 28), MEMORIAL),
        h(D(2029, 7, 4), INDEPENDENCE),  # Wed
        h(D(2029, 9, 3), LABOR),
        h(D(2029, 11, 12), VETERANS, D(2029, 11, 11)),  # Sun -> Mon
        h(D(2029, 11, 22), THANKSGIVING),
        h(D(2029, 12, 24), XMAS_EVE),  # Mon
        h(D(2029, 12, 25), XMAS),  # Tue
    ],
    2030: [
        h(D(2030, 1, 1), NEW_YEAR),  # Tue
        h(D(2030, 1, 21), MLK),
        h(D(2030, 2, 18), WASHINGTON_BATES),
        h(D(2030, 5, 27), MEMORIAL),
        h(D(2030, 7, 4), INDEPENDENCE),  # Thu
        h(D(2030, 9, 2), LABOR),
        h(D(2030, 11, 11), VETERANS),  # Mon
        h(D(2030, 11, 28), THANKSGIVING),
        h(D(2030, 12, 24), XMAS_EVE),  # Tue
        h(D(2030, 12, 25), XMAS),  # Wed
    ],
}


@pytest.fixture(scope="module")
def cal() -> StateCalendar:
    return StateCalendar()


# -- the holiday list ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", sorted(OBSERVED))
def test_it_lists_exactly_the_observed_holidays_written_out_by_hand(cal: StateCalendar, year: int) -> None:
    assert cal.holidays(year) == OBSERVED[year]


@pytest.mark.parametrize("year", sorted(OBSERVED))
def test_the_hand_written_table_moves_only_weekend_dates_and_colliding_christmas_eves(year: int) -> None:
    for hol in OBSERVED[year]:
        assert hol.day.weekday() < 5
        if hol.day != hol.actual:
            assert hol.actual.weekday() >= 5 or hol.name == XMAS_EVE
            assert abs((hol.day - hol.actual).days) <= 2


@pytest.mark.parametrize("year", sorted(OBSERVED))
def test_every_observed_holiday_is_a_named_non_working_day(cal: StateCalendar, year: int) -> None:
    for hol in OBSERVED[year]:
        assert not cal.is_working_day(hol.day)
        assert cal.holiday_name(hol.day) == hol.name


def test_holidays_returns_a_fresh_list_each_time(cal: StateCalendar) -> None:
    first = cal.holidays(2026)
    first.clear()
    assert cal.holidays(2026) == OBSERVED[2026]


def test_a_holiday_is_immutable() -> None:
    hol = Holiday(D(2026, 7, 3), INDEPENDENCE, D(2026, 7, 4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        hol.day = D(2026, 7, 4)  # type: ignore[misc]


# -- weekend shifts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "observed", "name"),
    [
        # Saturday -> the Friday before
        (D(2026, 7, 4), D(2026, 7, 3), INDEPENDENCE),
        (D(2028, 11, 11), D(2028, 11, 10), VETERANS),
        (D(2028, 1, 1), D(2027, 12, 31), NEW_YEAR),
        (D(2022, 12, 24), D(2022, 12, 23), XMAS_EVE),
        (D(2033, 1, 1), D(2032, 12, 31), NEW_YEAR),
        # Sunday -> the Monday after
        (D(2027, 7, 4), D(2027, 7, 5), INDEPENDENCE),
        (D(2029, 11, 11), D(2029, 11, 12), VETERANS),
        (D(2023, 1, 1), D(2023, 1, 2), NEW_YEAR),
        (D(2022, 12, 25), D(2022, 12, 26), XMAS),
    ],
)
def test_it_observes_a_saturday_holiday_on_friday_and_a_sunday_one_on_monday(
    cal: StateCalendar, actual: date, observed: date, name: str
) -> None:
    assert actual.weekday() in (5, 6)
    assert observed.weekday() == (4 if actual.weekday() == 5 else 0)
    assert Holiday(observed, name, actual) in cal.holidays(observed.year)
    assert cal.holiday_name(observed) == name
    assert cal.holiday_name(actual) is None
    assert not cal.is_working_day(actual)


def test_new_years_day_on_a_saturday_belongs_to_the_previous_calendar_year(cal: StateCalendar) -> None:
    assert [x.name for x in cal.holidays(2028)].count(NEW_YEAR) == 0
    assert cal.holidays(2027)[-1] == Holiday(D(2027, 12, 31), NEW_YEAR, D(2028, 1, 1))
    assert not cal.is_working_day(D(2027, 12, 31))


def test_christmas_eve_saturday_and_christmas_sunday_do_not_collide(cal: StateCalendar) -> None:
    assert cal.holidays(2022)[-2:] == [
        Holiday(D(2022, 12, 23), XMAS_EVE, D(2022, 12, 24)),
        Holiday(D(2022, 12, 26), XMAS, D(2022, 12, 25)),
    ]


# -- the Christmas collision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "year", "eve", "christmas"),
    [
        ("before", 2027, D(2027, 12, 23), D(2027, 12, 24)),  # Thu, Fri
        ("before", 2028, D(2028, 12, 22), D(2028, 12, 25)),  # Fri, Mon
        ("after", 2027, D(2027, 12, 27), D(2027, 12, 24)),  # Mon, Fri
        ("after", 2028, D(2028, 12, 26), D(2028, 12, 25)),  # Tue, Mon
    ],
)
def test_it_resolves_the_christmas_collision_by_its_policy(policy: str, year: int, eve: date, christmas: date) -> None:
    cal = StateCalendar(collision_policy=policy)
    december = [x for x in cal.holidays(year) if x.name in (XMAS_EVE, XMAS)]
    assert sorted(december, key=lambda x: x.name) == [
        Holiday(christmas, XMAS, D(year, 12, 25)),
        Holiday(eve, XMAS_EVE, D(year, 12, 24)),
    ]
    assert eve.weekday() < 5 and christmas.weekday() < 5
    assert not cal.is_working_day(eve)
    assert not cal.is_working_day(christmas)


def test_the_default_collision_policy_is_before() -> None:
    assert StateCalendar().collision_policy == "before"
    assert StateCalendar().holidays(2027) == StateCalendar(collision_policy="before").holidays(2027)


def test_the_after_policy_changes_nothing_outside_collisions() -> None:
    before, after = StateCalendar(collision_policy="before"), StateCalendar(collision_policy="after")
    for year in (2025, 2026, 2029, 2030):
        assert before.holidays(year) == after.holidays(year)


def test_it_skips_christmas_eve(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2025, 12, 23), 1) == D(2025, 12, 26)
    assert cal.add_working_days(D(2027, 12, 22), 1) == D(2027, 12, 27)
    assert cal.add_working_days(D(2028, 12, 21), 1) == D(2028, 12, 26)


def test_it_rejects_an_unknown_collision_policy() -> None:
    with pytest.raises(ValueError, match="collision_policy"):
        StateCalendar(collision_policy="nearest")


# -- days that are not state-office holidays -----------------------------------------------------------------


def _second_monday_of_october(year: int) -> date:
    first = D(year, 10, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7)


@pytest.mark.parametrize("year", range(2025, 2031))
def test_juneteenth_columbus_day_and_the_day_after_thanksgiving_are_working_days(cal: StateCalendar, year: int) -> None:
    thanksgiving = next(x.actual for x in cal.holidays(year) if x.name == THANKSGIVING)
    for day in (D(year, 6, 19), _second_monday_of_october(year), thanksgiving + timedelta(days=1)):
        if day.weekday() < 5:
            assert cal.is_working_day(day), day
            assert cal.holiday_name(day) is None


def test_juneteenth_on_a_saturday_is_not_observed_on_friday(cal: StateCalendar) -> None:
    assert D(2027, 6, 19).weekday() == 5
    assert cal.is_working_day(D(2027, 6, 18))


@pytest.mark.parametrize("year", range(2025, 2031))
def test_there_is_no_robert_e_lee_day_beside_the_king_holiday(cal: StateCalendar, year: int) -> None:
    january = [x for x in cal.holidays(year) if x.day.month == 1 and x.name != NEW_YEAR]
    assert [x.name for x in january] == [MLK]
    mondays = [D(year, 1, d) for d in range(1, 32) if D(year, 1, d).weekday() == 0]
    assert [m for m in mondays if not cal.is_working_day(m) and m.day > 2] == [january[0].day]


@pytest.mark.parametrize("year", range(2025, 2031))
def test_birthdays_are_not_closures(cal: StateCalendar, year: int) -> None:
    assert all(x.name != "Birthday" for x in cal.holidays(year))
    assert len([x for x in cal.holidays(year) if x.name != NEW_YEAR]) == 9


# -- configured closures -------------------------------------------------------------------------------------


def test_an_extra_closure_is_a_named_non_working_day() -> None:
    cal = StateCalendar(extra_closures=[D(2026, 11, 27)])
    assert not cal.is_working_day(D(2026, 11, 27))
    assert cal.holiday_name(D(2026, 11, 27)) == CLOSURE_NAME == "Closure (proclamation)"
    assert Holiday(D(2026, 11, 27), CLOSURE_NAME, D(2026, 11, 27)) in cal.holidays(2026)
    assert cal.holidays(2026) == sorted(cal.holidays(2026), key=lambda x: x.day)
    assert cal.add_working_days(D(2026, 11, 25), 1) == D(2026, 11, 30)


def test_an_extra_closure_on_a_holiday_keeps_the_holiday_once() -> None:
    cal = StateCalendar(extra_closures=[D(2026, 12, 25)])
    assert cal.holidays(2026) == OBSERVED[2026]
    assert cal.holiday_name(D(2026, 12, 25)) == XMAS


def test_an_extra_closure_on_a_weekend_is_listed_and_stays_non_working() -> None:
    cal = StateCalendar(extra_closures=[D(2026, 3, 7)])  # Saturday
    assert cal.holiday_name(D(2026, 3, 7)) == CLOSURE_NAME
    assert not cal.is_working_day(D(2026, 3, 7))
    assert cal.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)


def test_a_removed_closure_turns_a_statute_holiday_into_a_working_day() -> None:
    cal = StateCalendar(removed_closures=[D(2027, 12, 31)])
    assert cal.is_working_day(D(2027, 12, 31))
    assert cal.holiday_name(D(2027, 12, 31)) is None
    assert cal.holidays(2027) == OBSERVED[2027][:-1]
    assert cal.add_working_days(D(2027, 12, 30), 1) == D(2027, 12, 31)


def test_a_removed_weekend_date_stays_non_working() -> None:
    cal = StateCalendar(removed_closures=[D(2026, 7, 4)])  # Saturday, the statutory date
    assert not cal.is_working_day(D(2026, 7, 4))
    assert not cal.is_working_day(D(2026, 7, 3))  # the observed holiday is untouched
    assert cal.holidays(2026) == OBSERVED[2026]


def test_removing_a_date_that_is_no_holiday_changes_nothing() -> None:
    cal = StateCalendar(removed_closures=[D(2026, 3, 4)])
    assert cal.is_working_day(D(2026, 3, 4))
    assert cal.holidays(2026) == OBSERVED[2026]


def test_a_date_cannot_be_both_added_and_removed() -> None:
    with pytest.raises(ValueError, match="2026-11-27"):
        StateCalendar(extra_closures=[D(2026, 11, 27)], removed_closures=[D(2026, 11, 27)])


def test_closures_must_be_dates() -> None:
    with pytest.raises(TypeError):
        StateCalendar(extra_closures=["2026-11-27"])  # type: ignore[list-item]


def test_a_datetime_closure_counts_as_its_date() -> None:
    cal = StateCalendar(extra_closures=[datetime(2026, 11, 27, 9, 30)])
    assert not cal.is_working_day(D(2026, 11, 27))
    assert cal.extra_closures == frozenset({D(2026, 11, 27)})


def test_closures_of_one_calendar_do_not_leak_into_another() -> None:
    closed = StateCalendar(extra_closures=[D(2026, 11, 27)])
    assert not closed.is_working_day(D(2026, 11, 27))
    assert StateCalendar().is_working_day(D(2026, 11, 27))
    assert closed.working_days_between(D(2026, 1, 1), D(2027, 1, 1)) + 1 == StateCalendar().working_days_between(
        D(2026, 1, 1), D(2027, 1, 1)
    )


# -- working-day arithmetic ----------------------------------------------------------------------------------


def test_adding_zero_working_days_returns_the_start_even_on_a_weekend(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2026, 3, 7), 0) == D(2026, 3, 7)
    assert cal.add_working_days(D(2026, 7, 3), 0) == D(2026, 7, 3)
    assert cal.working_days_between(D(2026, 3, 7), D(2026, 3, 7)) == 0


def test_it_crosses_new_year_past_a_new_years_day_observed_in_december(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2027, 12, 30), 1) == D(2028, 1, 3)
    assert cal.add_working_days(D(2027, 12, 22), 2) == D(2027, 12, 28)
    assert cal.add_working_days(D(2027, 12, 22), 5) == D(2028, 1, 3)
    assert cal.add_working_days(D(2028, 1, 3), -1) == D(2027, 12, 30)
    assert cal.working_days_between(D(2027, 12, 22), D(2028, 1, 3)) == 5
    assert cal.working_days_between(D(2028, 1, 3), D(2027, 12, 22)) == -5


def test_it_counts_leap_day_2028(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2028, 2, 28), 1) == D(2028, 2, 29)
    assert cal.add_working_days(D(2028, 2, 18), 2) == D(2028, 2, 23)  # skips the weekend and Mon Feb 21
    assert cal.add_working_days(D(2028, 2, 25), 2) == D(2028, 2, 29)
    assert cal.add_working_days(D(2028, 3, 1), -1) == D(2028, 2, 29)
    assert cal.working_days_between(D(2028, 2, 25), D(2028, 3, 1)) == 3


def test_negative_counts_go_back_in_time(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2026, 7, 6), -1) == D(2026, 7, 2)  # Mon -> Thu, over Fri Jul 3
    assert cal.add_working_days(D(2026, 7, 8), -3) == D(2026, 7, 2)
    assert cal.add_working_days(D(2029, 1, 2), -1) == D(2028, 12, 29)


def test_a_start_on_a_weekend_or_holiday_counts_as_day_zero(cal: StateCalendar) -> None:
    assert cal.add_working_days(D(2026, 7, 4), 1) == D(2026, 7, 6)  # Sat
    assert cal.add_working_days(D(2026, 7, 3), 1) == D(2026, 7, 6)  # Fri, a holiday
    assert cal.add_working_days(D(2026, 7, 4), -1) == D(2026, 7, 2)
    assert cal.add_working_days(D(2028, 1, 2), -1) == D(2027, 12, 30)  # Sun, over Fri Dec 31
    assert cal.working_days_between(D(2026, 7, 3), D(2026, 7, 6)) == 1


def test_working_days_between_counts_after_start_up_to_end(cal: StateCalendar) -> None:
    assert cal.working_days_between(D(2026, 3, 6), D(2026, 3, 9)) == 1  # Fri -> Mon
    assert cal.working_days_between(D(2026, 3, 9), D(2026, 3, 6)) == -1
    assert cal.working_days_between(D(2026, 3, 7), D(2026, 3, 8)) == 0  # Sat -> Sun
    assert cal.working_days_between(D(2026, 3, 2), D(2026, 3, 6)) == 4


def test_a_year_has_the_weekdays_less_its_weekday_holidays(cal: StateCalendar) -> None:
    # 2026: 261 weekdays, 10 holidays on weekdays; 2028 (leap): 260 weekdays, 9 holidays.
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 251
    assert cal.working_days_between(D(2027, 12, 31), D(2028, 12, 31)) == 251


def test_long_spans_add_up_year_by_year(cal: StateCalendar) -> None:
    total = sum(cal.working_days_between(D(y - 1, 12, 31), D(y, 12, 31)) for y in range(1950, 2151))
    assert cal.working_days_between(D(1949, 12, 31), D(2150, 12, 31)) == total
    assert cal.add_working_days(D(1949, 12, 31), total) == cal.previous_working_day(D(2151, 1, 1))
    assert cal.add_working_days(D(2151, 1, 1), -total) == cal.next_working_day(D(1949, 12, 31))


def test_next_and_previous_working_day_are_strict(cal: StateCalendar) -> None:
    assert cal.next_working_day(D(2026, 7, 2)) == D(2026, 7, 6)
    assert cal.next_working_day(D(2026, 7, 6)) == D(2026, 7, 7)
    assert cal.previous_working_day(D(2026, 7, 6)) == D(2026, 7, 2)
    assert cal.previous_working_day(D(2026, 7, 7)) == D(2026, 7, 6)


def test_on_or_after_keeps_a_working_day_and_moves_a_closed_one(cal: StateCalendar) -> None:
    assert cal.on_or_after(D(2026, 7, 2)) == D(2026, 7, 2)
    assert cal.on_or_after(D(2026, 7, 3)) == D(2026, 7, 6)
    assert cal.on_or_after(D(2027, 12, 23)) == D(2027, 12, 27)


def test_it_refuses_to_leave_the_range_of_dates(cal: StateCalendar) -> None:
    with pytest.raises(OverflowError):
        cal.add_working_days(D(9999, 12, 30), 5)
    with pytest.raises(OverflowError):
        cal.add_working_days(D(1, 1, 3), -5)


# -- activation window and "request by" ----------------------------------------------------------------------


def test_the_activation_window_is_ten_working_days() -> None:
    assert ACTIVATION_WORKING_DAYS == 10


@pytest.mark.parametrize(
    ("requested_on", "enabled_by"),
    [
        (D(2026, 6, 15), D(2026, 6, 29)),  # Mon; Juneteenth (Fri Jun 19) is a working day
        (D(2026, 6, 25), D(2026, 7, 10)),  # Thu; skips Fri Jul 3 (Independence Day observed)
        (D(2026, 6, 27), D(2026, 7, 13)),  # Sat: counts from the Monday after
        (D(2027, 12, 17), D(2028, 1, 5)),  # Fri; skips Dec 23, 24 and 31
    ],
)
def test_expected_enabled_by_is_ten_working_days_after_the_request(
    cal: StateCalendar, requested_on: date, enabled_by: date
) -> None:
    assert expected_enabled_by(cal, requested_on) == enabled_by
    assert cal.working_days_between(requested_on, enabled_by) == ACTIVATION_WORKING_DAYS


def test_expected_enabled_by_takes_another_window(cal: StateCalendar) -> None:
    assert expected_enabled_by(cal, D(2026, 6, 25), window=5) == D(2026, 7, 2)


def test_request_by_for_2026_27_is_ten_working_days_before_june_30_2027(cal: StateCalendar) -> None:
    # Wed Jun 30 2027 back: 29, 28, 25, 24, 23, 22, 21, 18, 17, 16.
    assert request_by(cal, SchoolYear.parse("2026-27").ends) == D(2027, 6, 16)


def test_request_by_for_2025_26_counts_juneteenth_as_a_working_day(cal: StateCalendar) -> None:
    # Tue Jun 30 2026 back: 29, 26, 25, 24, 23, 22, 19 (Juneteenth, a working day), 18, 17, 16.
    assert request_by(cal, D(2026, 6, 30)) == D(2026, 6, 16)
    assert request_by(cal, D(2026, 6, 30), window=3) == D(2026, 6, 25)
