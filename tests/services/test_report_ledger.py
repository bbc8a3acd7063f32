"""The report built from real ledgers (SQLite files), recorded through the services like a coordinator would."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, insert

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.services import connections, districts, renewals, vendors
from apscn_tracker.services.report import build_report, resolve_year
from apscn_tracker.services.report_rows import load_rows
from apscn_tracker.services.setup import init

LEAS = ("0101000", "0104000", "0401000", "0505000")


@pytest.fixture
def year_ledger(make_app):
    """2025-26 and 2024-25 on record, recorded on the days they happened."""
    setup = make_app("2024-06-01")
    init(setup)
    for lea in LEAS:
        connections.connect(setup, lea=lea)
    # 2024-25: every district requested in June 2024 and was enabled in time.
    june = make_app("2024-06-30")
    for lea in LEAS:
        renewals.record_request(june, lea=lea, year="2024-25", on=date(2024, 6, 3))
        renewals.record_enabled(june, lea=lea, year="2024-25", on=date(2024, 6, 13))
    # 2025-26: one early, one late after July 1, one never enabled, one never requested.
    renewals.record_request(make_app("2025-06-02"), lea="0101000", year="2025-26")
    renewals.record_enabled(make_app("2025-06-12"), lea="0101000", year="2025-26")
    renewals.record_request(make_app("2025-07-07"), lea="0104000", year="2025-26")
    renewals.record_enabled(make_app("2025-07-23"), lea="0104000", year="2025-26")
    renewals.record_request(make_app("2025-09-08"), lea="0401000", year="2025-26")
    return make_app


def test_the_report_of_a_recorded_year_has_its_figures_rows_and_the_previous_year(year_ledger):
    r = build_report(year_ledger("2025-10-01"), year="2025-26")
    s = r["summary"]
    assert s["api_connections"] == 4
    assert s["requested_before_july1"]["count"] == 1
    assert s["working_days_to_enable"] == {
        "count": 2,
        "median": 8,
        "p90": 12,
        "min": 8,
        "max": 12,
        "method": "nearest-rank",
    }
    assert {row["lea"]: row["status"] for row in r["rows"]} == {
        "0101000": "enabled",
        "0104000": "enabled",
        "0401000": "overdue",
        "0505000": "lapsed",
    }
    assert r["rows"][0]["district"] == "DEWITT SCHOOL DISTRICT" and r["rows"][0]["county"] == "Arkansas"
    cmp = {m["key"]: m for m in r["comparison"]["metrics"]}
    assert cmp["requested_before_july1"]["previous"] == 1.0 and cmp["requested_before_july1"]["current"] == 0.25


def test_the_report_defaults_to_the_current_school_year_and_takes_previous_and_next(year_ledger):
    app = year_ledger("2025-10-01")
    assert build_report(app)["school_year"] == "2025-26"
    assert resolve_year(app, "previous") == SchoolYear(2024)
    assert resolve_year(app, "next") == SchoolYear(2026)
    assert resolve_year(app, "2024-2025") == SchoolYear(2024)
    with pytest.raises(UserError):
        resolve_year(app, "all")
    with pytest.raises(UserError):
        resolve_year(app, "2024-26")


def test_a_year_before_any_connection_is_an_empty_report(year_ledger):
    r = build_report(year_ledger("2025-10-01"), year="2020-21")
    assert r["rows"] == [] and r["summary"]["connections"] == 0 and r["comparison"] is None


def test_a_year_with_no_enables_reports_no_percentiles(make_app):
    app = make_app("2026-08-03")
    init(app)
    connections.connect(app, lea="0101000")
    connections.connect(app, lea="0104000")
    renewals.record_request(app, lea="0101000", on=date(2026, 7, 20))
    r = build_report(make_app("2026-09-01"))
    wd = r["summary"]["working_days_to_enable"]
    assert wd["count"] == 0 and wd["median"] is None and wd["p90"] is None
    assert r["summary"]["activations"]["still_overdue"] == 1
    assert r["summary"]["days_without_data"]["total_days"] == 2 * (date(2026, 9, 1) - date(2026, 7, 1)).days + 2


def test_a_lapsed_connection_of_a_leap_school_year_went_366_days_without_data(make_app):
    app = make_app("2027-08-02")
    init(app)
    connections.connect(app, lea="0101000")
    r = build_report(make_app("2028-07-01"), year="2027-28")
    assert r["rows"][0]["status"] == "lapsed" and r["rows"][0]["days_without_data"] == 366
    r = build_report(make_app("2027-07-01"), year="2026-27")
    assert r["rows"] == []  # the connection did not exist yet


def test_reminders_sent_count_sent_reminder_emails_of_that_year_only(year_ledger):
    app = year_ledger("2025-10-01")
    with app.ledger.write() as s:
        d = q.get_district(s, lea="0505000")
        v = q.get_vendor(s, name="Xello")
        now = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
        base = {
            "district_id": d.id,
            "vendor_id": v.id,
            "to_addrs": "a@example.org",
            "cc_addrs": "",
            "subject": "s",
            "body_text": "t",
            "body_html": "h",
            "message_id": "<m@x>",
            "next_attempt_at": now,
            "created_at": now,
        }
        cases = [
            ("lapsed_notice", 2025, "sent"),
            ("lapsed_notice", 2025, "sent"),
            ("renewal_reminder", 2025, "sent"),
            ("lapsed_notice", 2025, "pending"),  # not sent yet
            ("lapsed_notice", 2025, "failed"),
            ("lapsed_notice", 2024, "sent"),  # another year
            ("request_form", 2025, "sent"),  # on demand, not a reminder
        ]
        s.execute(
            insert(Outbox),
            [base | {"key": f"k{i}", "kind": k, "school_year": y, "status": st} for i, (k, y, st) in enumerate(cases)],
        )
    rows = {r["lea"]: r for r in build_report(app, year="2025-26")["rows"]}
    assert rows["0505000"]["reminders_sent"] == 3
    assert rows["0101000"]["reminders_sent"] == 0
    assert {r["lea"]: r for r in build_report(app, year="2024-25")["rows"]}["0505000"]["reminders_sent"] == 1


def test_districts_without_any_contact_are_listed(year_ledger):
    app = year_ledger("2025-10-01")
    districts.edit_district(app, lea="0104000", add_emails=["data@stuttgart.example"], contact_name="Jo")
    listed = build_report(app)["summary"]["districts_without_contact"]
    assert [d["lea"] for d in listed["districts"]] == ["0101000", "0401000", "0505000"]


def test_a_retired_connection_stays_in_the_years_it_was_active(year_ledger):
    connections.retire(year_ledger("2025-11-03"), lea="0505000")
    assert "0505000" in {r["lea"] for r in build_report(year_ledger("2025-12-01"), year="2025-26")["rows"]}
    assert "0505000" in {r["lea"] for r in build_report(year_ledger("2025-12-01"), year="2024-25")["rows"]}
    assert "0505000" not in {r["lea"] for r in build_report(year_ledger("2026-08-01"), year="2026-27")["rows"]}


def test_several_vendors_give_one_row_per_district_and_vendor(year_ledger):
    app = year_ledger("2025-10-01")
    vendors.add_vendor(app, name="Acme Learning")
    connections.connect(app, lea="0101000", vendor="Acme Learning")
    rows = build_report(app)["rows"]
    assert [(r["lea"], r["vendor"]) for r in rows][:2] == [("0101000", "Acme Learning"), ("0101000", "Xello")]


def _count_statements(app, fn):
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(app.ledger.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(app.ledger.engine, "before_cursor_execute", before)
    return len(seen)


def test_loading_a_year_is_one_select_whatever_the_number_of_districts(make_app):
    app = make_app("2026-08-03")
    init(app)
    connections.connect(app, lea="0101000")

    def load():
        with app.ledger.write() as s:
            return load_rows(s, SchoolYear(2026))

    few = _count_statements(app, load)
    connections.connect(app, lea=None, all_districts=True)
    many = _count_statements(app, load)
    assert few == many == 1
    assert len(load()) == 257
