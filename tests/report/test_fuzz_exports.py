"""Exports with hostile names: the report's CSV neutralises every cell a spreadsheet would run as a formula,
the HTML escapes markup, the Markdown table keeps its columns, the iCalendar file keeps its properties.

The names are written straight into the ledger, as an older version or a hand-edited database could have left
them: input validation refuses formula cells, but an export must not rely on that.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from apscn_tracker.services.setup import init

TODAY = date(2026, 11, 2)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example","x")',
    "<script>alert(1)</script>",
    "a | b | c",
    "x\r\nBEGIN:VEVENT\r\nSUMMARY:injected",
    'O\'Brien "Pat" & <Co>',
]
any_text = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")  # PostgreSQL text holds no NUL
names = st.one_of(
    st.sampled_from(PAYLOADS),
    st.tuples(st.sampled_from(PAYLOADS), st.text(alphabet=any_text, max_size=20)).map("".join),
    st.text(alphabet=any_text, min_size=1, max_size=40),
)


@pytest.fixture
def demo(make_app):
    app = make_app(TODAY)
    init(app, demo=True)
    return app


def _leas(app) -> list[str]:
    from apscn_tracker.services.status import status_rows

    return sorted({r["lea"] for r in status_rows(app)})[:3]


def _rename(app, lea: str, name: str, county: str) -> None:
    engine = create_engine(app.settings.url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE district SET name = :n, county = :c WHERE lea_code = :l"),
                {"n": name, "c": county, "l": lea},
            )
    finally:
        engine.dispose()


@FUZZ
@given(data=st.data())
def test_report_exports_neutralise_formulas_and_escape_markup(demo, data):
    from apscn_tracker.services.report import build_report, render_report

    chosen = {lea: (data.draw(names), data.draw(names)) for lea in _leas(demo)}
    before = render_report(demo, build_report(demo), "html")  # markup the page has whatever the names
    for lea, (name, county) in chosen.items():
        _rename(demo, lea, name, county)
    report = build_report(demo)

    rows = list(csv.reader(io.StringIO(render_report(demo, report, "csv"), newline="")))
    header = rows[0]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or NUMBER.match(cell), (cell, row)
        found = dict(zip(header, row, strict=True))
        if found["lea"] in chosen:
            name, county = chosen[found["lea"]]
            assert _unneutralise(found["district"]) == name
            assert _unneutralise(found["county"]) == county

    html = render_report(demo, report, "html")
    assert "<script>alert" not in html
    for name, county in chosen.values():
        for value in (name, county):
            if "<" in value and value not in before:  # "<", "<td": the page's own markup holds them anyway
                assert value not in html, value  # a name's markup reaches the page escaped

    md = render_report(demo, report, "md")
    for block in _tables(md):  # every row of a table has as many cells as its header
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in block}) == 1, block
    assert not re.search(r"(?<!\\)<script", md)


def _tables(md: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in md.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def _unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


@FUZZ
@given(name=names)
def test_the_calendar_keeps_its_properties_whatever_the_district_name(demo, name):
    from icalendar import Calendar

    from apscn_tracker.services.ical import build_calendar

    lea = _leas(demo)[0]
    _rename(demo, lea, "Plain Name", "County")
    clean = build_calendar(demo, lea=lea)
    _rename(demo, lea, name, "County")
    ics = build_calendar(demo, lea=lea)
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", ics) is None  # every line ends in CRLF; no bare CR or LF inside
    parsed = Calendar.from_ical(ics)
    assert len(parsed.walk("VEVENT")) == len(Calendar.from_ical(clean).walk("VEVENT"))
    assert ics.count(b"\r\nBEGIN:") == clean.count(b"\r\nBEGIN:")
    assert b"\nSUMMARY:injected" not in ics


@pytest.mark.parametrize("name", ["x\r\nBEGIN:VEVENT\r\nSUMMARY:injected", "x\rBEGIN:VEVENT", "x\nATTENDEE:evil"])
def test_a_line_break_in_a_district_name_cannot_add_a_calendar_property(demo, name):
    from apscn_tracker.services.ical import build_calendar

    lea = _leas(demo)[0]
    _rename(demo, lea, name, "County")
    ics = build_calendar(demo, lea=lea)
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", ics) is None
    assert not re.search(rb"\r\n(SUMMARY:injected|ATTENDEE|BEGIN:VEVENT\r\nSUMMARY:injected)", ics)
