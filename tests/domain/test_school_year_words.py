"""Every command's --year reads the same words, relative to the day the command runs."""

from __future__ import annotations

from datetime import date

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear, SchoolYearError, parse_year, parse_years
from apscn_tracker.errors import InputError

D = date
MAY = D(2027, 5, 20)  # in 2026-27
JULY = D(2027, 7, 1)  # the first day of 2027-28


@pytest.mark.parametrize(
    ("text", "today", "start"),
    [
        ("current", MAY, 2026),
        ("previous", MAY, 2025),
        ("next", MAY, 2027),
        ("current", JULY, 2027),
        ("previous", JULY, 2026),
        ("last", MAY, 2025),
        (" Next ", MAY, 2027),
        ("2026-27", MAY, 2026),
        ("2026-2027", JULY, 2026),
        ("1999-00", MAY, 1999),
    ],
    ids=lambda v: str(v),
)
def test_a_year_word_or_label_names_one_school_year_counted_from_today(text, today, start):
    assert parse_year(text, today) == SchoolYear(start)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_year_is_the_default_or_else_the_current_school_year(text):
    assert parse_year(text, MAY) == SchoolYear(2026)
    assert parse_year(text, MAY, default=SchoolYear(2027)) == SchoolYear(2027)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("all", "one school year"),
        ("2026-28", "end year"),
        ("2026", "not like 2026-27"),
        ("tomorrow", "not like 2026-27"),
        ("9999-10000", "not like 2026-27"),
    ],
)
def test_a_word_that_names_no_single_year_is_refused_as_bad_input(text, words):
    with pytest.raises(SchoolYearError, match=words) as refused:
        parse_year(text, MAY)
    assert isinstance(refused.value, InputError)


def test_all_lists_every_year_on_record_last_year_and_the_current_one_in_order():
    assert parse_years("all", MAY, on_record=lambda: [2024, 2027, 2024]) == [
        SchoolYear(2024),
        SchoolYear(2025),  # last year, with no rows on record: shown all the same
        SchoolYear(2026),
        SchoolYear(2027),
    ]
    assert parse_years("all", MAY, on_record=list) == [SchoolYear(2025), SchoolYear(2026)]


def test_a_listing_reads_any_other_word_as_one_year_without_asking_for_the_years_on_record():
    def never() -> list[int]:
        raise AssertionError("the years on record are read for `all` only")

    assert parse_years("previous", MAY, on_record=never) == [SchoolYear(2025)]
    assert parse_years(None, MAY, on_record=never) == [SchoolYear(2026)]
