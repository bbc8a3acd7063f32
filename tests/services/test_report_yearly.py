"""The scheduler's July 1 step: the finished year's report written owner-only to $APSCN_HOME/reports/."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.mail.render import render
from apscn_tracker.services import connections, renewals
from apscn_tracker.services.messages import render_message
from apscn_tracker.services.report import build_report, report_summary, write_yearly_report
from apscn_tracker.services.setup import init


@pytest.fixture
def finished_year(make_app):
    app = make_app("2025-06-30")
    init(app)
    connections.connect(app, lea="0101000")
    connections.connect(app, lea="0104000")
    renewals.record_request(app, lea="0101000", year="2025-26", on=date(2025, 6, 2))
    renewals.record_enabled(app, lea="0101000", year="2025-26", on=date(2025, 6, 12))
    return make_app("2026-07-01")


def test_the_yearly_report_is_written_as_html_and_json_readable_by_the_owner_only(finished_year, home):
    path = write_yearly_report(finished_year, year=SchoolYear(2025))
    folder = home / "reports"
    assert path == folder / "apscn-report-2025-26.html"
    assert sorted(p.name for p in folder.iterdir()) == ["apscn-report-2025-26.html", "apscn-report-2025-26.json"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    data = json.loads((folder / "apscn-report-2025-26.json").read_text(encoding="utf-8"))
    assert data == build_report(finished_year, year="2025-26")
    assert data["complete"] and data["as_of"] == "2026-06-30"
    assert data["summary"]["by_status"]["lapsed"] == 1 and data["summary"]["by_status"]["enabled"] == 1


def test_writing_the_yearly_report_again_replaces_it_and_leaves_no_temporary_file(finished_year, home):
    write_yearly_report(finished_year, year=SchoolYear(2025))
    (home / "reports").chmod(0o755)
    write_yearly_report(finished_year, year=SchoolYear(2025))
    assert len(list((home / "reports").iterdir())) == 2
    assert stat.S_IMODE((home / "reports").stat().st_mode) == 0o700
    assert (
        report_summary(finished_year, year=SchoolYear(2025)) == build_report(finished_year, year="2025-26")["summary"]
    )


def _context(finished_year):
    path = write_yearly_report(finished_year, year=SchoolYear(2025))
    return {
        "school_year": "2025-26",
        "path": str(path),
        "summary": report_summary(finished_year, year=SchoolYear(2025)),
    }


def test_the_report_ready_email_templates_render_with_school_year_path_and_summary(finished_year):
    ctx = _context(finished_year)
    rendered = render("report_ready", ctx)
    assert rendered.subject == "APSCN renewal report 2025-26 is ready"
    assert ctx["path"] in rendered.text and "Requested before July 1: 1 of 2 (50%)" in rendered.text
    assert "median 8" in rendered.text and rendered.text.startswith("Hello,")
    html = render("report_ready", ctx | {"path": "/x/<a&b>.html"}).html
    assert "/x/&lt;a&amp;b&gt;.html" in html and "<a&b>" not in html


def test_the_report_ready_email_renders_as_the_tick_queues_it(finished_year, make_app):
    """Through the production path: recipients, the mail context (school year as a mapping, the coordinator
    named) and the renderer."""
    app = make_app("2026-07-01", coordinator_name="Pat Coordinator", coordinator_email="pat@coop.example")
    ctx = _context(finished_year)
    with app.ledger.read() as s:
        rendered, who, full = render_message(
            s,
            app,
            kind="report_ready",
            school_year=SchoolYear(2025),
            extra={"path": ctx["path"], "summary": ctx["summary"]},
        )
    assert full["school_year"]["label"] == "2025-26" and who.to == ["Pat Coordinator <pat@coop.example>"]
    assert rendered.subject == "APSCN renewal report 2025-26 is ready"
    assert "apscn-report-2025-26.html" in rendered.text and "apscn-report-2025-26.html" in rendered.html
    assert rendered.text.startswith("Hello Pat Coordinator,") and "--year 2025-26 " in rendered.text
    assert "Hello Pat Coordinator," in rendered.html


def test_an_empty_finished_year_still_gets_a_report_and_an_email(make_app):
    app = make_app("2026-07-01")
    init(app)
    ctx = _context(app)
    assert ctx["summary"]["connections"] == 0
    assert "median n/a" in render("report_ready", ctx).text


def test_report_o_gives_the_file_ordinary_permissions_and_refuses_a_missing_folder(cli, finished_year, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        assert cli("report", "-o", tmp_path / "r.md", today="2026-07-01").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.md").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    result = cli("report", "-o", tmp_path / "nowhere" / "r.md", today="2026-07-01")
    assert result.exit_code == 1 and "does not exist" in result.stderr
