"""The yearly steps end to end (request, enable, confirm, correct, status), and every refusal of every
command: exit 1, one line on stderr, nothing written."""

import pytest

from tests.support.cli import T, refused


def test_a_request_is_expected_enabled_ten_working_days_later(ready):
    out = ready.json("request", "6001000", "--on", "2026-09-01", today=T)
    assert out["expected_enabled_by"] == "2026-09-16"  # Labor Day skipped
    assert ready.json("status", "--lea", "6001000", today="2026-09-16")[0]["status"] == "requested"
    assert ready.json("status", "--lea", "6001000", today="2026-09-17")[0]["status"] == "overdue"


def test_the_whole_cycle_request_enable_confirm(ready):
    ready("request", "6001000", "--on", "2026-09-01", today=T)
    out = ready.json("enable", "6001000", "--on", "2026-09-10", today=T)
    assert out["working_days_to_enable"] == 6
    ready("confirm", "6001000", today=T)
    row = ready.json("status", "--lea", "6001000", today=T)[0]
    assert row == {
        "lea": "6001000",
        "district": "LITTLE ROCK SCHOOL DISTRICT",
        "vendor": "Xello",
        "school_year": "2026-27",
        "method": "api",
        "status": "confirmed",
        "requested_on": "2026-09-01",
        "expected_enabled_by": "2026-09-16",
        "enabled_on": "2026-09-10",
        "confirmed_on": "2026-09-14",
        "disconnect_on": "2027-06-30",
        "working_days_to_enable": 6,
    }
    kinds = [e["kind"] for e in ready.json("history", "6001000")]
    assert kinds[-3:] == ["requested", "enabled", "confirmed"]


def test_an_advance_request_for_next_year_is_allowed(ready):
    out = ready.json("request", "6001000", "--year", "2027-2028", "--on", "2027-05-20", today="2027-05-20")
    assert out["school_year"] == "2027-28"
    rows = ready.json("status", "--year", "all", "--lea", "6001000", today="2027-05-20")
    assert [(r["school_year"], r["status"]) for r in rows] == [("2026-27", "lapsed"), ("2027-28", "requested")]


def test_a_correction_is_a_new_event_and_the_old_one_stays(ready):
    ready("request", "6001000", "--on", "2026-09-01", today=T)
    out = ready.json("correct", "6001000", "--requested-on", "2026-09-02", "--note", "typo", today=T)
    assert out["requested_on"] == "2026-09-02" and out["expected_enabled_by"] == "2026-09-17"
    history = ready.json("history", "6001000")
    assert [e["kind"] for e in history][-2:] == ["requested", "corrected"]
    assert history[-1]["note"] == "typo"


def test_a_step_recorded_by_mistake_is_undone(ready):
    ready("request", "6001000", "--on", "2026-09-01", today=T)
    ready("enable", "6001000", today=T)
    ready.json("correct", "6001000", "--undo", "enable", "--note", "wrong district", today=T)
    assert ready.json("status", "--lea", "6001000", today=T)[0]["status"] == "requested"


def test_the_status_filters_by_status_and_vendor(ready):
    ready("request", "6001000", "--on", "2026-09-01", today=T)
    assert [r["lea"] for r in ready.json("status", "--only", "requested", today=T)] == ["6001000"]
    assert ready.json("status", "--vendor", "xello", "--only", "lapsed", today=T) == []


def test_the_status_table_is_printed_for_people(ready):
    result = ready("status", today=T)  # not a terminal: the header and one line per record, no totals
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and lines[0].startswith("LEA ") and len(lines) == 3
    assert "LITTLE ROCK" in result.stdout and "scripted" in result.stdout


@pytest.mark.parametrize(
    ("args", "contains"),
    [
        (("enable", "6001000"), "no Xello request"),
        (("confirm", "6001000"), "no Xello request"),
        (("request", "0401000"), "SFTP"),
        (("request", "6001000", "--on", "2026-09-15"), "after today"),
        (("request", "6001000", "--on", "2026-13-01"), "not a date"),
        (("request", "6001000", "--year", "2026-28"), "end year"),
        (("request", "6001000", "--year", "2028-29"), "ahead"),
        (("request", "6001001"), "no district"),
        (("request", "60010"), "no district"),
        (("request", "6001000", "--vendor", "Xelo"), "Did you mean Xello"),
        (("status", "--only", "late"), "unknown status"),
        (("correct", "6001000", "--undo", "request", "--note", "x"), "no Xello request"),
        (("connect", "6001000"), "already connected"),
        (("connect",), "one LEA or --all"),
        (("connect", "6001000", "--method", "ftp"), "method"),
        (("district", "add", "6001000", "Dup"), "already"),
        (("district", "add", "60X1000", "Bad"), "7 digits"),
        (("district", "add", "6098000", "Bad\nName"), "line break"),
        (("district", "edit", "6001000"), "nothing to change"),
        (("district", "edit", "6001000", "--remove-email", "x@y.example"), "no contact"),
        (("district", "edit", "6001000", "--add-email", "bad@"), "not an email"),
        (("vendor", "add", "xello"), "already exists"),
        (("vendor", "edit", "Nobody", "--name", "X"), "no vendor"),
        (("retire", "6301000"), "no Xello connection"),
        (("history", "1234"), "no district"),
    ],
)
def test_a_refused_command_says_why_in_one_line_and_writes_nothing(ready, args, contains):
    refused(ready, *args, contains=contains)


def test_enabling_before_the_request_date_is_refused(ready):
    ready("request", "6001000", "--on", "2026-09-08", today=T)
    refused(ready, "enable", "6001000", "--on", "2026-09-04", contains="before the request")


def test_confirming_before_enabling_is_refused(ready):
    ready("request", "6001000", "--on", "2026-09-08", today=T)
    refused(ready, "confirm", "6001000", contains="not enabled yet")


def test_a_second_request_for_the_same_year_says_how_to_correct_or_go_to_next_year(ready):
    ready("request", "6001000", "--on", "2026-09-08", today=T)
    message = refused(ready, "request", "6001000", "--year", "current", contains="already requested")
    assert "apscn correct" in message and "--year 2027-28" in message


def test_a_correction_needs_a_note_and_one_change(ready):
    ready("request", "6001000", "--on", "2026-09-08", today=T)
    refused(ready, "correct", "6001000", "--requested-on", "2026-09-09", contains="--note")
    refused(ready, "correct", "6001000", "--note", "x", contains="exactly one")
    ready("enable", "6001000", "--on", "2026-09-10", today=T)
    refused(ready, "correct", "6001000", "--requested-on", "2026-09-11", "--note", "x", contains="after the next step")
    refused(ready, "correct", "6001000", "--undo", "request", "--note", "x", contains="later step first")


def test_a_bad_today_is_refused(ready):
    refused(ready, "status", today="2026-02-30", contains="APSCN_TODAY")


def test_a_usage_error_exits_with_two(ready):
    result = ready("status", "--bogus")
    assert result.exit_code == 2
