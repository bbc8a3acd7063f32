"""Rendering: a self-contained HTML page with its charts, Markdown, CSV that reads back, JSON; and the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by
from apscn_tracker.report import charts
from apscn_tracker.report.render import neutralise, render_csv, render_html, render_json, render_markdown
from apscn_tracker.report.stats import ROW_FIELDS, ReportRow, compute_report
from apscn_tracker.resources import templates_dir
from apscn_tracker.services.report import build_report
from apscn_tracker.services.setup import init

TEMPLATES = [templates_dir() / "report"]
CAL = StateCalendar()
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Tree(HTMLParser):
    """Checks that every element is closed in order, and collects tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tree:
    tree = Tree()
    tree.feed(html)
    tree.close()
    assert tree.errors == [] and tree.stack == [], (tree.errors, tree.stack)
    return tree


def row(lea, name, req=None, ena=None, conf=None, **kw) -> ReportRow:
    return ReportRow(
        lea=lea,
        district=name,
        vendor=kw.pop("vendor", "Xello"),
        method=kw.pop("method", "api"),
        requested_on=req,
        expected_enabled_by=expected_enabled_by(CAL, req) if req else None,
        enabled_on=ena,
        confirmed_on=conf,
        **kw,
    )


ROWS = [
    row("0101000", "DeWitt", date(2025, 6, 2), date(2025, 6, 12), date(2025, 6, 13)),
    row("0104000", "Stuttgart & Sons <b>", date(2025, 7, 7), date(2025, 7, 23), has_contact=False),
    row("0201000", '=HYPERLINK("http://x")', vendor="+Acme"),
    row("0301000", "Pipe | District", date(2025, 9, 8)),
    row("0401000", "Scripted", method="sftp"),
]


@pytest.fixture
def report():
    prev = [row("0101000", "DeWitt", date(2024, 6, 3), date(2024, 6, 13))]
    return compute_report(ROWS, year=SchoolYear(2025), today=date(2025, 10, 1), calendar=CAL, previous_rows=prev)


def test_the_html_report_parses_and_holds_the_three_charts_and_every_district(report):
    html = render_html(report, template_dirs=TEMPLATES)
    tree = parse(html)
    svgs = [a for t, a in tree.tags if t == "svg"]
    assert [a["class"] for a in svgs] == ["chart chart-status", "chart chart-working-days", "chart chart-weeks"]
    assert all(a.get("role") == "img" for a in svgs)
    text = "".join(tree.text)
    for r in ROWS:
        assert r.lea in text and r.district in text
    assert "Connections by status" in text and "Compared with 2024-25" in text


def test_the_html_report_is_self_contained_no_script_no_external_resource(report):
    html = render_html(report, template_dirs=TEMPLATES)
    tree = parse(html)
    tags = {t for t, _ in tree.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert "<style>" in html and "@media print" in html
    for _, attrs in tree.tags:
        for key, value in attrs.items():
            assert not key.startswith("on"), key
            assert key == "xmlns" or not (value or "").startswith(("http:", "https:", "//")), (key, value)
    assert "url(" not in html and "@import" not in html


def test_district_names_are_escaped_in_the_html(report):
    html = render_html(report, template_dirs=TEMPLATES)
    assert "Stuttgart &amp; Sons &lt;b&gt;" in html and "<b>" not in html


def test_an_empty_year_renders_every_format_with_placeholder_charts():
    empty = compute_report([], year=SchoolYear(2030), today=date(2030, 8, 1), calendar=CAL)
    tree = parse(render_html(empty, template_dirs=TEMPLATES))
    assert sum(1 for t, _ in tree.tags if t == "svg") == 3
    assert "No renewal was enabled this school year" in "".join(tree.text)
    assert "# APSCN eSchoolPLUS API renewals, 2030-31" in render_markdown(empty, template_dirs=TEMPLATES)
    assert render_csv(empty).splitlines() == [",".join(ROW_FIELDS)]
    assert json.loads(render_json(empty)) == empty


def test_the_csv_reads_back_with_the_csv_module_one_row_per_renewal_with_iso_dates(report):
    text = render_csv(report)
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == ROW_FIELDS
    assert [r["lea"] for r in rows] == [r["lea"] for r in report["rows"]]
    first = rows[0]
    assert first["requested_on"] == "2025-06-02" and date.fromisoformat(first["enabled_on"]) == date(2025, 6, 12)
    assert first["working_days_to_enable"] == "8" and first["enabled_late"] == "no" and first["has_contact"] == "yes"
    assert rows[-1]["days_without_data"] == "" and rows[-1]["status"] == "scripted"
    assert next(r for r in rows if r["lea"] == "0104000")["district"] == "Stuttgart & Sons <b>"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe(report):
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    hostile = next(r for r in rows if r["lea"] == "0201000")
    assert hostile["district"] == '\'=HYPERLINK("http://x")' and hostile["vendor"] == "'+Acme"
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{lead}1") == f"'{lead}1"
    assert neutralise("Plain") == "Plain" and neutralise(-3) == -3 and neutralise(None) is None


def test_the_json_is_the_report_itself(report):
    assert json.loads(render_json(report)) == report


def test_the_markdown_report_escapes_table_cells_and_lists_every_district(report):
    md = render_markdown(report, template_dirs=TEMPLATES)
    assert "Pipe \\| District" in md
    assert "| Measure | 2024-25 | 2025-26 | Change |" in md
    for r in ROWS:
        assert f"| {r.lea} |" in md
    section = md.split("## Per district and vendor", 1)[1].split("##", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(ROWS)
    assert {len(re.split(r"(?<!\\)\|", line)) for line in table} == {13}  # 11 columns, none split by a name


def test_a_chart_text_is_escaped_and_every_bar_has_its_number():
    svg = charts.status_chart([{"status": "<x>", "count": 2}, {"status": "lapsed", "count": 1}])
    assert "&lt;x&gt;" in svg and "<x>" not in svg
    parse(svg)
    weeks = charts.weeks_chart(
        [
            {"week_of": "2025-06-23", "count": 3},
            {"week_of": "2025-06-30", "count": 0},
            {"week_of": "2025-07-07", "count": 1},
        ],
        school_year_begins=date(2025, 7, 1),
    )
    assert "July 1" in weeks and ">3</text>" in weeks
    parse(weeks)
    hist = charts.working_days_chart([{"working_days": 4, "count": 2}], window=10)
    assert "10-day window" in hist
    parse(hist)


# -- through the ledger and the CLI -------------------------------------------------------------------------


@pytest.fixture
def demo(make_app):
    app = make_app("2026-11-02")
    init(app, demo=True)
    return app


def test_the_demo_report_lists_every_demo_district_in_html(demo):
    html = render_html(build_report(demo), template_dirs=TEMPLATES)
    text = "".join(parse(html).text)
    rows = build_report(demo)["rows"]
    assert len(rows) == 29
    for r in rows:
        assert r["lea"] in text and r["district"] in text


def test_report_writes_markdown_csv_and_json_to_stdout(cli, demo):
    md = cli("report", "--format", "md", today="2026-11-02")
    assert md.exit_code == 0 and md.stdout.startswith("# APSCN eSchoolPLUS API renewals, 2026-27")
    data = json.loads(cli("report", "--format", "json", today="2026-11-02").stdout)
    assert data["school_year"] == "2026-27" and len(data["rows"]) == 29
    out = cli("report", "--format", "csv", today="2026-11-02").stdout
    assert not out.startswith("\ufeff") and len(list(csv.DictReader(io.StringIO(out)))) == 29
    html = cli("report", today="2026-11-02").stdout
    assert html.startswith("<!DOCTYPE html>")


def test_report_o_infers_the_format_from_the_suffix_and_marks_csv_as_utf8_for_spreadsheets(cli, demo, tmp_path):
    result = cli("report", "-o", tmp_path / "r.csv", today="2026-11-02")
    assert result.exit_code == 0 and result.stdout == ""
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 29 and tuple(rows[0]) == ROW_FIELDS
    assert cli("report", "-o", tmp_path / "r.json", "--year", "previous", today="2026-11-02").exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["school_year"] == "2025-26"
    assert cli("report", "-o", tmp_path / "r.htm", today="2026-11-02").exit_code == 0
    parse((tmp_path / "r.htm").read_text())
    assert cli("report", "--format", "md", "-o", tmp_path / "r.txt", today="2026-11-02").exit_code == 0
    assert (tmp_path / "r.txt").read_text().startswith("# APSCN")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--year", "all"), "one school year"),
        (("--year", "2026-28"), "2026-28"),
        (("--format", "pdf"), "unknown report format"),
    ],
)
def test_report_refuses_bad_input_with_one_line_and_exit_code_1(cli, demo, args, message):
    result = cli("report", *args, today="2026-11-02")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_report_and_calendar_explain_every_option(cli):
    for command, options in (("report", ("--year", "--format", "--output", "--today")), ("calendar", ("--lea",))):
        result = cli(command, "--help")
        assert result.exit_code == 0
        for option in options:
            line = next(line for line in result.stdout.splitlines() if option in line)
            assert len(line.split(option, 1)[1].strip()) > 10, line


def test_large_counts_are_written_compactly_on_axes_and_with_separators_in_tables():
    assert [charts.compact(v) for v in (950, 1000, 7499, 12_800, 3_141_441)] == ["950", "1k", "7.5k", "12k", "3.1M"]
    svg = charts.status_chart([{"status": "confirmed", "count": 53_874}, {"status": "lapsed", "count": 1_759}])
    assert "53,874" in svg and 'viewBox="0 0 540' in svg
    many = [{"week_of": (date(2025, 5, 5) + timedelta(weeks=i)).isoformat(), "count": 4000 + i} for i in range(57)]
    weeks = charts.weeks_chart(many)
    assert ">4k</text>" in weeks and ">4000</text>" not in weeks  # axis in k; bar numbers left out when too wide


def test_long_lists_are_cut_in_the_page_but_complete_in_the_json():
    rows = [row(f"{i:07d}", f"District {i}") for i in range(1, 131)]  # never requested: all lapsed with a gap
    big = compute_report(rows, year=SchoolYear(2025), today=date(2025, 10, 1), calendar=CAL)
    assert len(big["summary"]["days_without_data"]["by_connection"]) == 130
    html = render_html(big, template_dirs=TEMPLATES)
    assert "The 50 longest of 130" in html
    gaps = html.split('id="days-without-data"', 1)[1].split("</table>", 1)[0]
    assert gaps.count("<tr>") == 51  # header + 50
    assert "The 50 longest of 130" in render_markdown(big, template_dirs=TEMPLATES)
