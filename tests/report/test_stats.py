"""The report's statistics as a pure function: hand-built rows in, numbers out (no ledger, no templates)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by
from apscn_tracker.report.stats import (
    PERCENTILE_METHOD,
    ROW_FIELDS,
    ReportRow,
    compute_report,
    days_without_data,
    nearest_rank,
)

CAL = StateCalendar()
Y25 = SchoolYear(2025)  # July 1, 2025 .. June 30, 2026


def api(lea: str, req: date | None = None, ena: date | None = None, conf: date | None = None, **kw) -> ReportRow:
    exp = expected_enabled_by(CAL, req) if req else None
    return ReportRow(
        lea=lea,
        district=kw.pop("district", f"District {lea}"),
        vendor=kw.pop("vendor", "Xello"),
        method="api",
        requested_on=req,
        expected_enabled_by=exp,
        enabled_on=ena,
        confirmed_on=conf,
        **kw,
    )


def sftp(lea: str, **kw) -> ReportRow:
    return ReportRow(lea=lea, district=kw.pop("district", f"District {lea}"), vendor="Xello", method="sftp", **kw)


# A year of five connections, every date checked against the 2025 state calendar by hand:
# - 0101000 requested Mon June 2, 2025, enabled Thu June 12 (8 working days), confirmed June 13: before July 1.
# - 0104000 requested Mon July 7 (July 4 was the holiday), expected Mon July 21, enabled Wed July 23: 12 working
#   days, late, 22 days without data (July 1 .. July 22).
# - 0201000 never requested: lapsed.
# - 0301000 requested Mon Sept 8, 2025, expected Mon Sept 22, never enabled: overdue.
# - 0401000 scripted SFTP upload.
YEAR_ROWS = [
    api("0101000", date(2025, 6, 2), date(2025, 6, 12), date(2025, 6, 13), reminders_sent=1),
    api("0104000", date(2025, 7, 7), date(2025, 7, 23), reminders_sent=3),
    api("0201000", has_contact=False, reminders_sent=4),
    api("0301000", date(2025, 9, 8)),
    sftp("0401000"),
]


def report(rows, today=date(2025, 10, 1), year=Y25, previous_rows=None):
    return compute_report(rows, year=year, today=today, calendar=CAL, previous_rows=previous_rows)


def test_nearest_rank_takes_the_value_at_rank_ceil_p_n_over_100():
    values = list(range(1, 11))
    assert nearest_rank(values, 50) == 5
    assert nearest_rank(values, 90) == 9
    assert nearest_rank(values, 100) == 10
    assert nearest_rank(values, 1) == 1
    assert nearest_rank([3, 9], 50) == 3  # the lower middle value, never an average
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([], 50) is None
    assert nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90) == 10  # ceil(9.9) = 10


def test_nearest_rank_refuses_a_percentile_outside_1_to_100():
    with pytest.raises(ValueError):
        nearest_rank([1], 0)
    with pytest.raises(ValueError):
        nearest_rank([1], 101)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=80), st.integers(1, 100))
def test_nearest_rank_is_an_observed_value_with_at_least_p_percent_at_or_below_it(values, p):
    values.sort()
    got = nearest_rank(values, p)
    n = len(values)
    assert got in values
    assert 100 * sum(v <= got for v in values) >= p * n
    assert 100 * sum(v < got for v in values) < p * n


def test_a_year_is_summarised_by_status_share_working_days_gaps_and_contacts():
    r = report(YEAR_ROWS)
    s = r["summary"]
    assert r["school_year"] == "2025-26" and r["as_of"] == "2025-10-01" and not r["complete"]
    assert s["connections"] == 5 and s["api_connections"] == 4 and s["scripted_connections"] == 1
    assert {k: v for k, v in s["by_status"].items() if v} == {
        "confirmed": 1,
        "enabled": 1,
        "lapsed": 1,
        "overdue": 1,
        "scripted": 1,
    }
    assert s["requested_before_july1"] == {"count": 1, "of": 4, "share": 0.25}
    assert s["enabled_before_july1"] == {"count": 1, "of": 4, "share": 0.25}
    assert s["working_days_to_enable"] == {
        "count": 2,
        "median": 8,
        "p90": 12,
        "min": 8,
        "max": 12,
        "method": PERCENTILE_METHOD,
    }
    assert s["activations"] == {"enabled": 2, "on_time": 1, "late": 1, "still_overdue": 1}
    overdue = {o["lea"]: o for o in s["overdue_activations"]}
    assert overdue["0301000"]["still_open"] and overdue["0301000"]["enabled_on"] is None
    assert overdue["0301000"]["working_days"] == CAL.working_days_between(date(2025, 9, 8), date(2025, 10, 1))
    assert overdue["0104000"] == {
        "lea": "0104000",
        "district": "District 0104000",
        "vendor": "Xello",
        "requested_on": "2025-07-07",
        "expected_enabled_by": "2025-07-21",
        "enabled_on": "2025-07-23",
        "working_days": 12,
        "still_open": False,
    }
    gaps = {g["lea"]: g for g in s["days_without_data"]["by_connection"]}
    # July 1 .. Oct 1 inclusive is 93 days for the two connections still down.
    assert gaps == {
        "0104000": {"lea": "0104000", "district": "District 0104000", "vendor": "Xello", "days": 22, "ongoing": False},
        "0201000": {"lea": "0201000", "district": "District 0201000", "vendor": "Xello", "days": 93, "ongoing": True},
        "0301000": {"lea": "0301000", "district": "District 0301000", "vendor": "Xello", "days": 93, "ongoing": True},
    }
    assert s["days_without_data"]["total_days"] == 22 + 93 + 93
    assert s["days_without_data"]["longest"] == 93 and s["days_without_data"]["ongoing"] == 2
    assert s["districts_without_contact"] == {
        "count": 1,
        "districts": [{"lea": "0201000", "district": "District 0201000"}],
    }


def test_each_row_carries_its_dates_working_days_gap_reminders_and_status():
    rows = {r["lea"]: r for r in report(YEAR_ROWS)["rows"]}
    assert list(rows) == sorted(rows)
    assert all(tuple(r) == ROW_FIELDS for r in rows.values())
    assert rows["0104000"] == {
        "school_year": "2025-26",
        "lea": "0104000",
        "district": "District 0104000",
        "county": None,
        "vendor": "Xello",
        "method": "api",
        "status": "enabled",
        "requested_on": "2025-07-07",
        "expected_enabled_by": "2025-07-21",
        "enabled_on": "2025-07-23",
        "confirmed_on": None,
        "working_days_to_enable": 12,
        "enabled_late": True,
        "days_without_data": 22,
        "reminders_sent": 3,
        "has_contact": True,
    }
    assert rows["0101000"]["days_without_data"] == 0 and rows["0101000"]["enabled_late"] is False
    assert rows["0401000"]["status"] == "scripted" and rows["0401000"]["days_without_data"] is None


def test_charts_count_enables_per_monday_week_and_per_working_day():
    charts = report(YEAR_ROWS)["charts"]
    weeks = charts["enabled_by_week"]
    assert weeks[0] == {"week_of": "2025-06-09", "count": 1}  # Thu June 12 -> week of Mon June 9
    assert weeks[-1] == {"week_of": "2025-07-21", "count": 1}  # Wed July 23 -> week of Mon July 21
    assert len(weeks) == 7 and sum(w["count"] for w in weeks) == 2  # empty weeks in between are kept
    hist = charts["working_days_to_enable"]
    assert [h["working_days"] for h in hist] == list(range(13))
    assert {h["working_days"]: h["count"] for h in hist if h["count"]} == {8: 1, 12: 1}
    assert {c["status"] for c in charts["status"]} == {"confirmed", "enabled", "lapsed", "overdue", "scripted"}


def test_an_empty_year_has_zero_counts_no_shares_no_percentiles_and_empty_charts():
    r = report([])
    s = r["summary"]
    assert s["connections"] == 0 and set(s["by_status"].values()) == {0}
    assert s["requested_before_july1"] == {"count": 0, "of": 0, "share": None}
    assert s["working_days_to_enable"]["median"] is None and s["working_days_to_enable"]["p90"] is None
    assert s["days_without_data"]["total_days"] == 0 and s["days_without_data"]["longest"] == 0
    assert r["charts"] == {"status": [], "enabled_by_week": [], "working_days_to_enable": []}
    assert r["rows"] == [] and r["by_vendor"] == [] and r["comparison"] is None
    json.dumps(r)  # JSON-ready


def test_a_year_with_no_enables_has_no_working_day_statistics_and_every_api_connection_still_down():
    rows = [api("0101000", date(2025, 9, 8)), api("0104000")]
    s = report(rows)["summary"]
    assert s["working_days_to_enable"]["count"] == 0 and s["working_days_to_enable"]["median"] is None
    assert s["activations"] == {"enabled": 0, "on_time": 0, "late": 0, "still_overdue": 1}
    assert s["days_without_data"]["ongoing"] == 2
    assert report(rows)["charts"]["enabled_by_week"] == []


def test_a_finished_year_reports_statuses_as_of_june_30_not_disconnected():
    r = report(YEAR_ROWS, today=date(2026, 7, 1))
    assert r["complete"] and r["as_of"] == "2026-06-30"
    assert r["summary"]["by_status"]["disconnected"] == 0
    statuses = {row["lea"]: row["status"] for row in r["rows"]}
    assert statuses == {
        "0101000": "confirmed",
        "0104000": "enabled",
        "0201000": "lapsed",
        "0301000": "overdue",
        "0401000": "scripted",
    }


def test_days_without_data_count_from_july_1_until_the_enable_day():
    today = date(2025, 10, 1)
    assert days_without_data(api("1", date(2025, 6, 2), date(2025, 6, 12)), Y25, today) == (0, False)
    assert days_without_data(api("1", date(2025, 6, 20), date(2025, 7, 1)), Y25, today) == (0, False)
    assert days_without_data(api("1", date(2025, 6, 20), date(2025, 7, 8)), Y25, today) == (7, False)
    assert days_without_data(api("1", date(2025, 6, 20)), Y25, date(2025, 7, 1)) == (1, True)
    assert days_without_data(api("1"), Y25, date(2025, 6, 15)) == (0, False)  # the year has not begun
    assert days_without_data(sftp("1"), Y25, today) is None


def test_a_connection_never_enabled_lacks_data_for_the_whole_year_366_days_in_a_leap_year():
    assert days_without_data(api("1"), SchoolYear(2026), date(2027, 9, 1)) == (365, False)
    assert days_without_data(api("1"), SchoolYear(2027), date(2028, 9, 1)) == (366, False)  # Feb 29, 2028
    assert days_without_data(api("1"), SchoolYear(2027), date(2028, 6, 30)) == (366, True)
    assert days_without_data(api("1"), SchoolYear(2027), date(2028, 3, 1)) == (245, True)  # Jul 1 .. Mar 1


def test_working_days_across_february_29_count_the_leap_day_as_a_working_day():
    # Tue Feb 29, 2028 is a working day: Mon Feb 28 -> Fri Mar 3 is 4 working days.
    row = ReportRow(
        lea="1",
        district="D",
        vendor="Xello",
        method="api",
        requested_on=date(2028, 2, 28),
        expected_enabled_by=expected_enabled_by(CAL, date(2028, 2, 28)),
        enabled_on=date(2028, 3, 3),
    )
    r = compute_report([row], year=SchoolYear(2027), today=date(2028, 7, 2), calendar=CAL)
    assert r["rows"][0]["working_days_to_enable"] == 4
    assert r["rows"][0]["days_without_data"] == (date(2028, 3, 3) - date(2027, 7, 1)).days == 246
    assert r["charts"]["enabled_by_week"] == [{"week_of": "2028-02-28", "count": 1}]


def test_the_previous_year_is_compared_only_when_the_ledger_has_requests_for_it():
    previous = [
        api("0101000", date(2024, 6, 3), date(2024, 6, 13)),
        api("0104000", date(2024, 6, 10), date(2024, 6, 28)),
        api("0201000", date(2024, 8, 1), date(2024, 8, 9)),
        api("0301000", date(2024, 6, 3), date(2024, 6, 14)),
    ]
    r = report(YEAR_ROWS, previous_rows=previous)
    cmp = r["comparison"]
    assert cmp["school_year"] == "2024-25" and cmp["current_complete"] is False
    metrics = {m["key"]: m for m in cmp["metrics"]}
    assert metrics["requested_before_july1"] == {
        "key": "requested_before_july1",
        "label": "Requested before July 1",
        "kind": "share",
        "previous": 0.75,
        "current": 0.25,
        "change": -0.5,
    }
    assert metrics["lapsed"]["previous"] == 0 and metrics["lapsed"]["current"] == 1
    assert metrics["api_connections"]["change"] == 0
    assert report(YEAR_ROWS, previous_rows=[api("0101000")])["comparison"] is None
    assert report(YEAR_ROWS, previous_rows=[])["comparison"] is None
    assert report(YEAR_ROWS)["comparison"] is None


def test_vendors_are_summarised_separately():
    rows = [*YEAR_ROWS, api("0101000", date(2025, 6, 2), date(2025, 6, 10), vendor="Acme")]
    by_vendor = {v["vendor"]: v for v in report(rows)["by_vendor"]}
    assert list(by_vendor) == ["Acme", "Xello"]
    assert by_vendor["Acme"]["requested_before_july1_share"] == 1.0
    assert by_vendor["Xello"]["connections"] == 5 and by_vendor["Xello"]["lapsed"] == 1


_days = st.dates(min_value=date(2025, 5, 1), max_value=date(2026, 6, 30))


@st.composite
def _rows(draw):
    out = []
    for i in range(draw(st.integers(0, 25))):
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(sftp(f"{i:07d}", has_contact=draw(st.booleans())))
            continue
        req = draw(st.none() | _days)
        ena = conf = None
        if req is not None and draw(st.booleans()):
            ena = req + timedelta(days=draw(st.integers(0, 40)))
            if draw(st.booleans()):
                conf = ena + timedelta(days=draw(st.integers(0, 10)))
        out.append(api(f"{i:07d}", req, ena, conf, has_contact=draw(st.booleans())))
    return out


@settings(max_examples=150, deadline=None)
@given(_rows(), st.dates(min_value=date(2025, 5, 1), max_value=date(2026, 9, 1)))
def test_the_summary_is_consistent_with_its_rows_for_any_ledger(rows, today):
    rows = [r for r in rows if r.enabled_on is None or r.enabled_on <= date(2026, 6, 30)]
    r = report(rows, today=today)
    s = r["summary"]
    assert sum(s["by_status"].values()) == s["connections"] == len(r["rows"]) == len(rows)
    assert s["requested_before_july1"]["count"] <= s["api_connections"]
    assert s["enabled_before_july1"]["count"] <= s["requested_before_july1"]["count"]
    wd = s["working_days_to_enable"]
    if wd["count"]:
        assert wd["min"] <= wd["median"] <= wd["p90"] <= wd["max"]
    assert s["days_without_data"]["total_days"] == sum(x["days_without_data"] or 0 for x in r["rows"])
    assert all(0 <= (x["days_without_data"] or 0) <= 366 for x in r["rows"])
    assert sum(w["count"] for w in r["charts"]["enabled_by_week"]) == wd["count"]
    assert sum(h["count"] for h in r["charts"]["working_days_to_enable"]) == wd["count"]
    json.dumps(r)
