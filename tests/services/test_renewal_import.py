"""`import-renewals` and `upload` on a real ledger: steps already recorded, problems named by row and column,
scripted uploads told to the Onboarding Manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.errors import InputError, Problems, UserError
from apscn_tracker.services import connections, renewals, vendors
from apscn_tracker.services.renewal_import import import_renewals
from apscn_tracker.services.status import history, status_rows
from apscn_tracker.services.uploads import record_upload
from tests.support.snapshot import snapshot

HEAD = "lea_code,vendor,school_year,requested_on,enabled_on,confirmed_on,note\n"


def sheet(tmp_path: Path, body: str, name: str = "sheet.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


@pytest.fixture
def app(make_app):
    from apscn_tracker.services.setup import init

    a = make_app("2026-09-14")
    init(a)
    return a


def test_a_step_the_ledger_holds_with_another_date_is_a_problem_that_names_correct(app, tmp_path):
    connections.connect(app, lea="6001000", vendor="Xello", method="api")
    renewals.record_request(app, lea="6001000", year="2026-27", on=app.today.replace(month=6, day=1))
    before = snapshot(load_settings().url)
    with pytest.raises(Problems) as refused:
        import_renewals(app, path=sheet(tmp_path, "6001000,Xello,2026-27,2026-06-03,,,\n"))
    (problem,) = refused.value.problems
    assert problem[:2] == (2, "requested_on") and "already recorded on 2026-06-01" in problem[2]
    assert "apscn correct 6001000" in problem[2]
    assert snapshot(load_settings().url) == before


def test_a_step_the_ledger_holds_with_the_same_date_is_left_alone_and_the_next_one_taken(app, tmp_path):
    connections.connect(app, lea="6001000", vendor="Xello", method="api")
    renewals.record_request(app, lea="6001000", year="2026-27", on=app.today.replace(month=6, day=1))
    out = import_renewals(app, path=sheet(tmp_path, "6001000,,current,6/1/2026,2026-06-12,,enabled late\n"))
    assert out["steps"] == {"requested": 0, "enabled": 1, "confirmed": 0}
    (row,) = status_rows(app, lea="6001000")
    assert row["enabled_on"] == "2026-06-12"
    enabled = [e for e in history(app, lea="6001000") if e["kind"] == "enabled"]
    assert enabled[0]["note"] == "from sheet.csv row 2: enabled late"


def test_a_district_without_a_connection_gets_its_api_connection_from_the_import(app, tmp_path):
    out = import_renewals(app, path=sheet(tmp_path, "0401000,Xello,2026-27,2026-06-02,,,\n"))
    assert out["connections_created"] == 1
    kinds = [e["kind"] for e in history(app, lea="0401000")]
    assert kinds[-2:] == ["connected", "requested"]


def test_a_scripted_connection_and_an_unknown_column_are_refused(app, tmp_path):
    connections.connect(app, lea="0401000", vendor="Xello", method="sftp", course_planning=True)
    with pytest.raises(Problems, match="scripted SFTP"):
        import_renewals(app, path=sheet(tmp_path, "0401000,Xello,2026-27,2026-06-02,,,\n"))
    bad = tmp_path / "bad.csv"
    bad.write_text("lea,when\n6001000,2026-06-02\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing columns lea_code, school_year"):
        import_renewals(app, path=bad)


def test_an_upload_is_recorded_told_to_the_onboarding_manager_and_shown_by_status(app):
    vendors.edit_vendor(app, name="Xello", onboarding_email="onboarding@xello.example")
    connections.connect(app, lea="0401000", vendor="Xello", method="sftp", course_planning=True)
    out = record_upload(app, lea="bentonville", on=app.today.replace(day=10))
    assert "<onboarding@xello.example>" in out["told"] and out["uploaded_on"] == "2026-09-10"
    (row,) = status_rows(app, lea="0401000")
    assert row["status"] == "scripted" and row["last_upload"] == "2026-09-10"
    again = record_upload(app, lea="0401000", on=app.today.replace(day=10))
    assert again["told"] is None  # the same day's upload is told once


def test_an_upload_for_an_api_connection_is_refused(app):
    connections.connect(app, lea="6001000", vendor="Xello", method="api")
    with pytest.raises(UserError, match="scripted SFTP connections"):
        record_upload(app, lea="6001000")
