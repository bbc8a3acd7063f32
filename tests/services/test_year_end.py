"""The end of a school year on a real ledger: the default year of each command, the emails around the cut, the
digest over two years, reminder numbers that count what was sent, a retired connection in the report.

2026-27: its renewal season opens May 1, 2027; its cut (the first day a request could not be enabled by June 30,
2027) is June 17, 2027. 2027-28 (a leap year): season May 1, 2028, cut Saturday June 17, 2028.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date, datetime

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.yearchoice import YearRefused, cut_day
from apscn_tracker.errors import UserError
from apscn_tracker.mail.kinds import Trigger, email_kind, names
from apscn_tracker.services import districts, renewals
from apscn_tracker.services.preview import preview
from apscn_tracker.services.report import build_report, render_report
from apscn_tracker.services.sending import send_on_demand
from apscn_tracker.services.setup import init
from apscn_tracker.services.status import status_rows
from tests.support.ticking import COORDINATOR, connect_api, messages, tick_on

D = date
LEA, OTHER, THIRD = "0101000", "0104000", "0401000"


@pytest.fixture
def year_app(make_app, monkeypatch):
    """``year_app(today)``: an App on an initialised ledger with a coordinator, first used on ``today``."""
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")

    def factory(today: date):
        app = make_app(today)
        init(app)
        return app

    return factory


def at(app, today: date):
    app.today = today
    return app


# -- the default year, through the services ----------------------------------------------------------------------


def test_a_request_on_may_20_after_this_years_goes_to_next_year(year_app):
    app = year_app(D(2026, 9, 1))
    connect_api(app, LEA)
    assert renewals.record_request(app, lea=LEA, on=D(2026, 9, 1))["school_year"] == "2026-27"  # rule 3
    assert renewals.record_request(at(app, D(2027, 5, 20)), lea=LEA)["school_year"] == "2027-28"  # rule 1


def test_a_request_typed_in_august_for_a_may_day_is_the_renewal(year_app):
    app = year_app(D(2026, 8, 10))
    connect_api(app, LEA)
    assert renewals.record_request(app, lea=LEA, on=D(2026, 5, 15))["school_year"] == "2026-27"


def test_in_the_season_a_lapsed_year_is_refused_naming_both_choices_and_nothing_is_written(year_app):
    app = year_app(D(2027, 5, 10))
    connect_api(app, LEA)
    for attempt in (
        lambda: renewals.record_request(app, lea=LEA),
        lambda: send_on_demand(app, kind="request_form", lea=LEA),
        lambda: preview(app, kind="request_form", lea=LEA),
    ):
        with pytest.raises(YearRefused) as refused:
            attempt()
        line = str(refused.value)
        assert line.startswith(f"{LEA} Xello: ") and "--year 2026-27" in line and "--year 2027-28" in line
        assert "enabled by Monday, May 24, 2027" in line and "ready Thursday, July 1, 2027" in line
    assert status_rows(app, lea=LEA)[0]["requested_on"] is None and messages(app) == []


def test_the_request_form_on_june_25_is_for_next_year_and_promises_nothing_for_this_one(year_app):
    app = year_app(D(2027, 6, 25))
    connect_api(app, LEA)
    queued = send_on_demand(app, kind="request_form", lea=LEA)
    assert queued["school_year"] == "2027-28"
    with pytest.raises(Exception, match="could not be enabled before its June 30 cut"):
        send_on_demand(app, kind="request_form", lea=LEA, year="current")


def test_enable_and_confirm_act_on_the_open_year_and_refuse_two(year_app):
    app = year_app(D(2027, 5, 3))
    connect_api(app, LEA)
    renewals.record_request(app, lea=LEA, year="current", on=D(2027, 4, 20))
    renewals.record_request(app, lea=LEA, year="next", on=D(2027, 5, 3))
    with pytest.raises(YearRefused, match="both 2026-27 and 2027-28 are requested and not enabled"):
        renewals.record_enabled(app, lea=LEA)
    assert renewals.record_enabled(app, lea=LEA, year="current")["school_year"] == "2026-27"
    assert renewals.record_enabled(app, lea=LEA)["school_year"] == "2027-28"  # the one still open
    assert renewals.record_confirmed(at(app, D(2027, 5, 4)), lea=LEA, year="next")["school_year"] == "2027-28"
    assert renewals.record_confirmed(app, lea=LEA)["school_year"] == "2026-27"


# -- the emails --------------------------------------------------------------------------------------------------


def test_a_renewal_reminder_to_a_lapsed_district_in_june_says_its_data_stopped_on_july_1(year_app):
    app = year_app(D(2026, 8, 1))
    connect_api(app, THIRD, contact="Sam O'Neil")
    tick_on(app, D(2027, 6, 16))
    got = [m for m in messages(app) if m["kind"] in ("renewal_reminder", "lapsed_notice")]
    assert [(m["kind"], m["school_year"]) for m in got] == [("renewal_reminder", 2027), ("lapsed_notice", 2026)]
    tick_on(app, D(2027, 6, 23))  # past the cut: the renewal only
    june = [m for m in messages(app) if m["kind"] in ("renewal_reminder", "lapsed_notice")][2:]
    assert [(m["kind"], m["school_year"]) for m in june] == [("renewal_reminder", 2027)]
    text = " ".join(june[0]["text"].split())
    assert "has had no data from" in text and "since Wednesday, July 1, 2026" in text
    assert "no APSCN request for the 2026-27 school year is on file" in text
    assert "A request for 2027-28 restores the data once APSCN enables it" in text
    assert "since" in june[0]["html"] and "2026-27" in june[0]["html"]


def test_a_district_that_renewed_this_year_gets_no_lapsed_words(year_app):
    app = year_app(D(2026, 8, 1))
    connect_api(app, LEA)
    renewals.record_request(app, lea=LEA, year="current", on=D(2026, 8, 1))
    tick_on(app, D(2027, 6, 1))
    (reminder,) = [m for m in messages(app) if m["kind"] == "renewal_reminder"]
    assert "has had no data" not in reminder["text"] and "stops receiving" in " ".join(reminder["text"].split())


def test_the_first_details_reminder_after_missed_ticks_is_reminder_1_of_1(year_app):
    app = year_app(D(2026, 9, 1))
    connect_api(app, LEA)
    renewals.record_request(app, lea=LEA, year="current", on=D(2026, 9, 1))
    renewals.record_enabled(at(app, D(2026, 9, 3)), lea=LEA, on=D(2026, 9, 3))
    tick_on(app, D(2026, 10, 20))  # every milestone (the third one last) passed unticked
    (details,) = [m for m in messages(app) if m["kind"] == "send_details_reminder"]
    assert "(Reminder 1 of 1.)" in details["text"]


def test_daily_details_reminders_count_1_2_3_of_3(year_app):
    app = year_app(D(2026, 9, 1))
    connect_api(app, LEA)
    renewals.record_request(app, lea=LEA, year="current", on=D(2026, 9, 1))
    renewals.record_enabled(at(app, D(2026, 9, 3)), lea=LEA, on=D(2026, 9, 3))
    day = D(2026, 9, 3)
    while day <= D(2026, 10, 20):
        tick_on(app, day)
        day = D.fromordinal(day.toordinal() + 1)
    found = [re.search(r"\(Reminder (\d) of (\d)\.\)", m["text"]) for m in messages(app)]
    assert [f.groups() for f in found if f] == [("1", "3"), ("2", "3"), ("3", "3")]


def test_the_digest_lists_next_years_overdue_and_enabled_items(year_app):
    app = year_app(D(2027, 5, 3))
    connect_api(app, LEA)
    connect_api(app, OTHER, contact="Jordan Lee")
    for lea in (LEA, OTHER):
        renewals.record_request(app, lea=lea, year="current", on=D(2026, 9, 1))
        renewals.record_enabled(app, lea=lea, year="current", on=D(2026, 9, 2))
        renewals.record_confirmed(app, lea=lea, year="current", on=D(2026, 9, 3))
    renewals.record_request(app, lea=LEA, on=D(2027, 5, 3))  # 2027-28, expected May 17
    renewals.record_request(app, lea=OTHER, on=D(2027, 5, 3))
    renewals.record_enabled(at(app, D(2027, 5, 14)), lea=OTHER, on=D(2027, 5, 14))
    tick_on(app, D(2027, 5, 19))
    sent = messages(app)
    assert {m["kind"] for m in sent} >= {"activation_overdue", "send_details_reminder", "coordinator_digest"}
    (digest,) = [m for m in sent if m["kind"] == "coordinator_digest"]
    text = " ".join(digest["text"].split())
    assert f"{LEA} " in text and f"{OTHER} " in text and "2027-28" in text
    assert "APSCN activation overdue (1)" in text and "details not yet sent to the Onboarding Manager (1)" in text
    assert "nothing needs follow-up" not in text


def test_a_digest_with_nothing_to_list_refers_to_no_items(year_app):
    app = year_app(D(2026, 9, 1))
    shown = preview(app, kind="coordinator_digest")
    assert "nothing needs follow-up" in shown.text and "items above" not in shown.text
    assert "items above" not in shown.html


# -- every email of a boundary day, read for dates past the cut -------------------------------------------------

# not about an API school year: the report of a year that ended, the one-time eSchoolPLUS activation, an upload
YEAR_FREE = ("report_ready", "powerschool_activation", "upload_complete")
DISTRICT_KINDS = [n for n in names(*Trigger) if email_kind(n).about_district and email_kind(n).previewable]
LONGDATE = re.compile(r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\w+) (\d{1,2}), (\d{4})")
BOUNDARY_DAYS = [
    D(2027, 4, 30),  # the day before the season opens
    D(2027, 5, 1),  # the season opens
    D(2027, 6, 16),  # the day before the cut
    D(2027, 6, 17),  # the cut
    D(2027, 6, 30),  # the disconnect
    D(2027, 7, 1),  # a new year
    D(2028, 2, 29),  # a leap day
    D(2028, 6, 16),  # the day before the cut of a leap year
    D(2028, 6, 17),  # its cut, a Saturday
    D(2028, 6, 19),  # the Monday after
    D(2028, 6, 30),
]


def _dates_in(text: str) -> list[date]:
    found = LONGDATE.finditer(" ".join(text.split()))
    return [datetime.strptime(" ".join(m.groups()), "%B %d %Y").date() for m in found]


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=str)
def test_no_email_of_a_boundary_day_asks_or_promises_anything_past_its_years_cut(year_app, day):
    year = SchoolYear.of(day)
    start = max(year.begins, D.fromordinal(day.toordinal() - 60))
    app = year_app(start)
    leas = ["0101000", "0104000", "0401000", "0505000", "4605000"]
    for lea in leas:
        connect_api(app, lea)
    # 0101000 lapsed; 0104000 requested, never enabled (overdue); 0401000 enabled, details never sent;
    # 0505000 done this year, next year requested and overdue; 4605000 done this year, nothing for next year
    renewals.record_request(app, lea="0104000", year="current", on=start)
    renewals.record_request(app, lea="0401000", year="current", on=start)
    renewals.record_enabled(app, lea="0401000", year="current", on=start)
    for lea in ("0505000", "4605000"):
        renewals.record_request(app, lea=lea, year="current", on=start)
        renewals.record_enabled(app, lea=lea, year="current", on=start)
        renewals.record_confirmed(app, lea=lea, year="current", on=start)
    if day >= D(year.start + 1, 1, 1):
        renewals.record_request(at(app, start), lea="0505000", year="next", on=start)
    tick_on(app, day)
    for lea in leas:
        with suppress(YearRefused):  # in the season, a lapsed year: refused, naming both (the table covers it)
            send_on_demand(app, kind="request_form", lea=lea)
    sent = messages(app)
    assert any(m["kind"] != "coordinator_digest" for m in sent), "the day sends something"
    previewed = 0
    for kind in DISTRICT_KINDS:  # and every kind previewed for every district, as it would go out that day
        for lea in leas:
            with suppress(UserError):  # refused: a year past its cut, or a lapsed year in the season
                shown = preview(app, kind=kind, lea=lea)
                year_of = SchoolYear.of(day).next if kind == "renewal_reminder" else SchoolYear.of(day)
                if kind == "request_form" and "School year:        " + SchoolYear.of(day).next.label in shown.text:
                    year_of = SchoolYear.of(day).next
                sent.append({"kind": kind, "school_year": year_of.start, "subject": shown.subject, "text": shown.text})
                previewed += 1
    assert previewed >= 2 * len(leas)  # not hollow: at least the renewal reminder and one more per district
    for m in sent:
        if m["school_year"] is None or m["kind"] in YEAR_FREE:
            continue
        about = SchoolYear(m["school_year"])
        if about.ends < day:
            pytest.fail(f"{m['kind']} about {about}, which ended before {day}")
        assert day < cut_day(about, app.calendar, 10), f"{m['kind']} about {about} on {day}, past its cut"
        for promised in _dates_in(m["text"]) + _dates_in(m["subject"]):
            assert promised <= about.ends, f"{m['kind']} about {about} names {promised}"
    for digest in (m for m in sent if m["kind"] == "coordinator_digest"):
        if day >= cut_day(year, app.calendar, 10):
            assert f", {year.label})" not in digest["text"], f"the digest of {day} lists {year}, past its cut"


# -- the report, status, LEA codes --------------------------------------------------------------------------------


def test_a_connection_retired_on_august_3_leaves_the_report_from_its_retirement(year_app):
    from apscn_tracker.services import connections

    app = year_app(D(2026, 6, 1))
    connect_api(app, LEA)
    connect_api(app, OTHER, contact="Jordan Lee")
    connections.retire(at(app, D(2026, 8, 3)), lea=LEA, note="moved to another vendor")
    report = build_report(at(app, D(2027, 7, 2)), year="2026-27")
    s = report["summary"]
    assert s["retired"]["count"] == 1
    assert s["retired"]["connections"][0] | {} == {
        "lea": LEA,
        "district": s["retired"]["connections"][0]["district"],
        "vendor": "Xello",
        "retired_on": "2026-08-03",
        "days_without_data": 33,
    }
    assert s["by_status"]["lapsed"] == 1 and s["api_connections"] == 1  # only OTHER
    rows = {r["lea"]: r for r in report["rows"]}
    assert rows[LEA]["status"] == "retired" and rows[LEA]["days_without_data"] == 33
    assert rows[OTHER]["days_without_data"] == 365
    assert "Retired during the year:** 1" in render_report(app, report, "md")


def test_status_all_always_shows_last_year(year_app):
    app = year_app(D(2026, 6, 1))
    connect_api(app, LEA)
    years = {r["school_year"] for r in status_rows(at(app, D(2026, 11, 2)), year="all", lea=LEA)}
    assert years == {"2025-26", "2026-27"}


@pytest.mark.parametrize("code", ["７５２００００", "٧٥٢٠٠٠٠", "७५२००००", "７５２０００"])
def test_lea_codes_in_other_scripts_digits_are_refused(year_app, code):
    app = year_app(D(2026, 9, 1))
    with pytest.raises(Exception, match="7 digits 0-9"):
        districts.add_district(app, lea=code, name="Second Warren")
