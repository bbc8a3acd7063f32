"""apscn calendar: an RFC 5545 file that parses back, with all-day events, alarms and stable UIDs."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, request_by
from apscn_tracker.report.ical import PendingRenewal, deadline_events, to_ical, uid_part
from apscn_tracker.services import connections, renewals, vendors
from apscn_tracker.services.ical import build_calendar
from apscn_tracker.services.setup import init

TODAY = "2026-11-02"


@pytest.fixture
def ledger(make_app):
    app = make_app(TODAY)
    init(app)
    vendors.add_vendor(app, name="Acme Learning")
    for lea in ("0101000", "0104000", "0401000"):
        connections.connect(app, lea=lea)
    connections.connect(app, lea="0101000", vendor="Acme Learning")
    renewals.record_request(app, lea="0101000", on=date(2026, 10, 26))  # pending, expected Nov 9
    renewals.record_request(app, lea="0101000", vendor="Acme Learning", on=date(2026, 10, 27))
    renewals.record_request(app, lea="0104000", on=date(2026, 10, 1))
    renewals.record_enabled(app, lea="0104000", on=date(2026, 10, 14))  # enabled: no expected event
    renewals.record_request(app, lea="0401000", year="2027-28", on=date(2026, 11, 2))  # next year, pending
    return make_app


def events(data: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0" and "apscn-tracker" in str(cal["PRODID"])
    found = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(found) == len(cal.walk("VEVENT")), "UIDs must be unique"
    return found


def test_the_calendar_parses_back_with_disconnects_request_by_dates_and_pending_enables(ledger):
    got = events(build_calendar(ledger(TODAY)))
    assert sorted(got) == [
        "disconnect-2026-27@apscn-tracker",
        "disconnect-2027-28@apscn-tracker",
        "expected-0101000-acme%20learning-2026-27@apscn-tracker",
        "expected-0101000-xello-2026-27@apscn-tracker",
        "expected-0401000-xello-2027-28@apscn-tracker",
        "request-by-2027-28@apscn-tracker",
        "request-by-2028-29@apscn-tracker",
    ]
    cal = StateCalendar()
    assert got["disconnect-2026-27@apscn-tracker"].decoded("DTSTART") == date(2027, 6, 30)
    assert got["request-by-2027-28@apscn-tracker"].decoded("DTSTART") == request_by(cal, date(2027, 6, 30))
    assert got["request-by-2027-28@apscn-tracker"].decoded("DTSTART") == date(
        2027, 6, 16
    )  # Wed June 30 minus 10 working days
    assert got["expected-0101000-xello-2026-27@apscn-tracker"].decoded("DTSTART") == date(2026, 11, 9)
    assert "0101000" in str(got["expected-0101000-xello-2026-27@apscn-tracker"]["SUMMARY"])


def test_every_event_is_all_day_transparent_and_has_an_alarm(ledger):
    for uid, ev in events(build_calendar(ledger(TODAY))).items():
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert type(start) is date and end == start + timedelta(days=1), uid
        assert ev["DTSTART"].params.get("VALUE") == "DATE"
        assert str(ev["TRANSP"]) == "TRANSPARENT" and ev.decoded("DTSTAMP").tzinfo is not None
        alarms = ev.walk("VALARM")
        assert alarms and all(str(a["ACTION"]) == "DISPLAY" and a.get("DESCRIPTION") for a in alarms), uid
        triggers = sorted(a.decoded("TRIGGER") for a in alarms)
        if uid.startswith("expected-"):
            assert triggers == [timedelta(hours=9)]
        else:
            assert triggers == [timedelta(days=-7, hours=9), timedelta(days=-1, hours=9)]


def test_uids_are_stable_between_runs_so_a_reimport_updates_instead_of_duplicating(ledger):
    first = events(build_calendar(ledger(TODAY)))
    again = events(build_calendar(ledger(TODAY)))
    assert first.keys() == again.keys()
    assert build_calendar(ledger(TODAY)) == build_calendar(ledger(TODAY))  # same day, same bytes
    later = events(build_calendar(ledger("2026-11-20")))
    assert set(first) == set(later)
    for uid in first:
        assert first[uid].decoded("DTSTART") == later[uid].decoded("DTSTART")


def test_an_enabled_renewal_leaves_the_calendar_and_the_other_uids_stay(ledger):
    before = events(build_calendar(ledger(TODAY)))
    renewals.record_enabled(ledger("2026-11-05"), lea="0101000", on=date(2026, 11, 5))
    after = events(build_calendar(ledger("2026-11-05")))
    assert set(before) - set(after) == {"expected-0101000-xello-2026-27@apscn-tracker"}


def test_a_corrected_request_moves_the_event_under_the_same_uid_with_a_higher_sequence(ledger):
    uid = "expected-0101000-xello-2026-27@apscn-tracker"
    before = events(build_calendar(ledger(TODAY)))[uid]
    assert before.decoded("SEQUENCE") == 0
    renewals.correct(ledger(TODAY), lea="0101000", requested_on=date(2026, 10, 28), note="form was sent on the 28th")
    after = events(build_calendar(ledger(TODAY)))[uid]
    assert after.decoded("SEQUENCE") == 1
    assert after.decoded("DTSTART") == date(2026, 11, 12) != before.decoded("DTSTART")  # Veterans Day skipped


def test_lea_keeps_one_districts_pending_renewals_and_every_shared_deadline(ledger):
    got = events(build_calendar(ledger(TODAY), lea="0401000"))
    assert [u for u in got if u.startswith("expected-")] == ["expected-0401000-xello-2027-28@apscn-tracker"]
    assert sum(u.startswith(("disconnect-", "request-by-")) for u in got) == 4
    cal = icalendar.Calendar.from_ical(build_calendar(ledger(TODAY), lea="0401000"))
    assert "BENTONVILLE" in str(cal["X-WR-CALNAME"])


def test_calendar_writes_a_file_or_standard_output_and_refuses_an_unknown_district(cli, ledger, tmp_path):
    out = cli("calendar", today=TODAY)
    assert out.exit_code == 0 and out.stdout.startswith("BEGIN:VCALENDAR")
    assert cli("calendar", "--lea", "0101000", "-o", tmp_path / "a.ics", today=TODAY).exit_code == 0
    assert len([u for u in events((tmp_path / "a.ics").read_bytes()) if u.startswith("expected-")]) == 2
    bad = cli("calendar", "--lea", "9999999", today=TODAY)
    assert bad.exit_code == 1 and bad.stderr.startswith("error:") and bad.stdout == ""


def test_in_june_the_current_years_request_by_date_is_still_listed():
    got = {e.uid: e.day for e in deadline_events(today=date(2026, 6, 1), calendar=StateCalendar())}
    assert got["request-by-2026-27@apscn-tracker"] == date(2026, 6, 16)  # June 30, 2026 minus 10 working days
    assert got["disconnect-2025-26@apscn-tracker"] == date(2026, 6, 30)
    assert got["disconnect-2026-27@apscn-tracker"] == date(2027, 6, 30)


def test_vendor_names_give_distinct_uid_parts_and_text_is_escaped_by_icalendar():
    assert uid_part("Acme Learning") != uid_part("Acme-Learning") != uid_part("acme.learning")
    assert uid_part("Xello") == "xello"
    pending = PendingRenewal(
        lea="0101000",
        district='DeWitt; "Main", Campus',
        vendor="Acme, Inc.",
        year=SchoolYear(2026),
        requested_on=date(2026, 10, 26),
        expected_enabled_by=date(2026, 11, 9),
    )
    data = to_ical(
        deadline_events(today=date(2026, 11, 2), calendar=StateCalendar(), pending=[pending]), today=date(2026, 11, 2)
    )
    ev = events(data)["expected-0101000-acme%2C%20inc.-2026-27@apscn-tracker"]
    assert str(ev["SUMMARY"]) == 'APSCN: Acme, Inc. for DeWitt; "Main", Campus (0101000) due to be enabled'
