"""The web's board: one school year's rows filtered, searched, counted by status and paged, the same statuses
as ``apscn status``."""

from __future__ import annotations

from datetime import date

import pytest

from apscn_tracker.errors import InputError, NotFound, UserError
from apscn_tracker.services.board import board
from apscn_tracker.services.setup import init
from apscn_tracker.services.status import status_rows


@pytest.fixture
def demo(make_app):
    app = make_app(date(2026, 11, 2))
    init(app, demo=True)
    return app


def test_the_counts_and_rows_are_those_of_status_and_pages_cover_every_row_once(demo):
    rows = status_rows(demo)
    full = board(demo)
    assert full["total"] == full["matched"] == len(rows)
    assert sum(full["counts"].values()) == len(rows)
    seen = []
    first = board(demo, per_page=5)
    for number in range(1, first["pages"] + 1):
        seen += [(r["lea"], r["vendor"], r["status"]) for r in board(demo, per_page=5, page=number)["rows"]]
    assert seen == [(r["lea"], r["vendor"], r["status"]) for r in rows]
    assert board(demo, per_page=5, page=999)["page"] == first["pages"]  # past the end: the last page


def test_a_status_filter_keeps_the_counts_of_every_status_and_a_search_takes_a_code_or_part_of_a_name(demo):
    overdue = board(demo, status="overdue")
    assert overdue["rows"] and {r["status"] for r in overdue["rows"]} == {"overdue"}
    assert overdue["counts"] == board(demo)["counts"]
    (row,) = board(demo, search="6001000")["rows"]
    assert row["lea"] == "6001000"
    by_name = board(demo, search=row["district"].split()[0].lower())["rows"]
    assert row in by_name
    assert board(demo, search="60010%")["rows"] == []  # a LIKE wildcard is a plain character
    assert board(demo, search="_")["rows"] == []


def test_bad_filters_are_refused_in_the_services_words(demo):
    with pytest.raises(InputError, match="unknown status"):
        board(demo, status="late")
    with pytest.raises(NotFound):
        board(demo, vendor="Xelo")
    with pytest.raises(UserError):
        board(demo, year="1900-01")
    with pytest.raises(InputError):
        board(demo, per_page=0)
