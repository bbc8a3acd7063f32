"""Every command that takes --year reads the same words: current, previous, next, 2026-27, 2026-2027 (and
all for the status listing). On November 2, 2026 "next" is 2027-28 and "previous" 2025-26."""

from __future__ import annotations

from datetime import date

import pytest

from apscn_tracker.domain.schoolyear import SchoolYearError
from apscn_tracker.services import districts, renewals
from apscn_tracker.services.preview import preview
from apscn_tracker.services.report import resolve_year
from apscn_tracker.services.sending import send_on_demand
from apscn_tracker.services.status import status_rows

LEA = "0101000"


def test_request_enable_confirm_and_correct_take_next_for_an_advance_renewal(ledger_app):
    app = ledger_app
    assert renewals.record_request(app, lea=LEA, year="next", on=date(2026, 11, 2))["school_year"] == "2027-28"
    assert renewals.record_enabled(app, lea=LEA, year="Next")["school_year"] == "2027-28"
    assert renewals.record_confirmed(app, lea=LEA, year="2027-2028")["school_year"] == "2027-28"
    undone = renewals.correct(app, lea=LEA, year="next", undo="confirm", note="sent to the wrong address")
    assert undone["school_year"] == "2027-28" and undone["confirmed_on"] is None


def test_status_takes_previous_current_next_and_all(ledger_app):
    app = ledger_app
    renewals.record_request(app, lea=LEA, year="previous", on=date(2026, 6, 1))
    years = {word: {r["school_year"] for r in status_rows(app, year=word, lea=LEA)} for word in ("previous", "next")}
    assert years == {"previous": {"2025-26"}, "next": {"2027-28"}}
    assert {r["school_year"] for r in status_rows(app, year="current", lea=LEA)} == {"2026-27"}
    assert {r["school_year"] for r in status_rows(app, year="all", lea=LEA)} == {"2025-26", "2026-27"}


def test_the_report_takes_the_same_words_and_refuses_all(ledger_app):
    assert [resolve_year(ledger_app, w).label for w in ("previous", "current", "next", "2025-2026")] == [
        "2025-26",
        "2026-27",
        "2027-28",
        "2025-26",
    ]
    with pytest.raises(SchoolYearError, match="one school year"):
        resolve_year(ledger_app, "all")


def test_the_request_form_and_its_preview_take_next(ledger_app):
    districts.edit_district(ledger_app, lea=LEA, add_emails=["pat@0101000.k12.example"], contact_name="Pat Reyes")
    queued = send_on_demand(ledger_app, kind="request_form", lea=LEA, year="next")
    assert queued["school_year"] == "2027-28"
    shown = preview(ledger_app, kind="request_form", lea=LEA, year="next")
    assert "2027-28" in shown.subject + shown.text


def test_a_command_line_status_of_the_previous_year_is_no_longer_refused(cli, ledger_app):
    assert cli("status", "--year", "previous", "--lea", LEA, today="2026-11-02").exit_code == 0
