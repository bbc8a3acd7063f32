"""The security review (SECURITY.md) checked: owner-only files under any umask, no database password in any
output, template overrides confined to their folder, HTML escaped and headers unbroken whatever a district
name holds, and a contact that can be removed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text

from apscn_tracker.ledger.models import Contact, Outbox
from apscn_tracker.services import districts
from apscn_tracker.services.setup import init
from tests.support.faults import run_apscn_on, write_config

TODAY = date(2026, 7, 8)


def apscn(*args: str, umask: int | None = None, **env: str) -> subprocess.CompletedProcess:
    return run_apscn_on(TODAY, *args, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None, **env)


def rename(url: str, lea: str, name: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE district SET name = :n WHERE lea_code = :l"), {"n": name, "l": lea})
    finally:
        engine.dispose()


@pytest.mark.sqlite_only
def test_everything_under_apscn_home_is_owner_only_even_with_a_permissive_umask(home, tmp_path):
    """Ledger, WAL files, outbox and its emails, yearly reports, config, scheduler lock, backups."""
    loose = 0o022  # what a shared machine often has: new files readable by everyone
    assert apscn("init", "--demo", umask=loose, APSCN_TODAY="2026-11-02").returncode == 0
    write_config(home)
    os.chmod(home / "config.toml", 0o600)
    for day in ("2026-06-29", "2026-07-01", "2026-07-08"):  # reminders, the rollover and the yearly report
        result = apscn("tick", umask=loose, APSCN_TODAY=day)
        assert result.returncode == 0, result.stderr
    backup = tmp_path / "backup.db"
    assert apscn("db", "backup", str(backup), umask=loose).returncode == 0
    files = [p for p in home.rglob("*")]
    assert any(p.suffix == ".eml" for p in files) and any(p.parent.name == "reports" for p in files)
    open_to_others = [
        f"{p} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in [*files, backup] if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert open_to_others == []
    assert apscn("db", "check").returncode == 0


def test_a_database_password_never_appears_in_errors_or_output(home):
    url = "postgresql+psycopg://coord:s3cret-pw@127.0.0.1:1/apscn"  # nothing listens on port 1
    for args in (["status"], ["db", "check"], ["db", "backup", "x.db"], ["doctor", "--json"], ["init"]):
        result = apscn(*args, APSCN_DATABASE_URL=url)
        assert "s3cret-pw" not in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr, (args, result.stderr)


@pytest.mark.sqlite_only
def test_the_smtp_password_is_refused_in_the_config_file(home):
    write_config(home, smtp_password="hunter2")
    result = apscn("status")
    assert result.returncode == 1 and "must not be stored in a file" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.fixture
def ledger(make_app, home):
    write_config(home)
    app = make_app(TODAY)
    init(app)
    districts.edit_district(app, lea="6001000", add_emails=["pat@lrsd.k12.example"], contact_name='Pat "Lee"')
    return app


def test_an_email_template_cannot_reach_outside_its_folder(ledger, home, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    own = home / "templates"
    own.mkdir()
    (own / "request_form.body.txt").write_text('{% include "../secret.txt" %}\n')
    result = apscn("request-form", "6001000", APSCN_TEMPLATES_DIR=str(own))
    assert result.returncode == 1 and "TOP-SECRET" not in result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    with ledger.ledger.read() as s:
        assert s.scalars(select(Outbox.id)).all() == []


def test_an_email_template_cannot_run_code(ledger, home):
    own = home / "templates"
    own.mkdir()
    (own / "request_form.body.txt").write_text("{{ cycler.__init__.__globals__.os.getcwd() }}\n")
    result = apscn("request-form", "6001000", APSCN_TEMPLATES_DIR=str(own))
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_a_report_template_cannot_reach_outside_its_folder(ledger, home, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    own = home / "templates" / "report"
    own.mkdir(parents=True)
    (own / "report.md").write_text('{% include "../../../secret.txt" %}\n')
    result = apscn("report", "--format", "md", APSCN_TEMPLATES_DIR=str(home / "templates"))
    assert "TOP-SECRET" not in result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_report_template_cannot_run_code(ledger, home, tmp_path):
    """Email templates render in Jinja's sandbox; report templates must too: a template found in a shared
    folder could otherwise run any command as the coordinator."""
    marker = tmp_path / "ran"
    own = home / "templates" / "report"
    own.mkdir(parents=True)
    (own / "report.md").write_text("{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}\n")
    result = apscn("report", "--format", "md", APSCN_TEMPLATES_DIR=str(home / "templates"))
    assert not marker.exists(), "a report template ran a shell command"
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr


def test_markup_and_line_breaks_in_a_district_name_are_escaped_and_cannot_add_a_header(ledger):
    from apscn_tracker.mail.message import build_message, message_bytes

    rename(ledger.settings.url, "6001000", "<script>alert(1)</script>\r\nBcc: everyone@evil.example")
    result = apscn("request-form", "6001000", "--json")
    assert result.returncode == 0, result.stderr
    with ledger.ledger.read() as s:
        row = s.scalars(select(Outbox)).one()
    assert "<script>" not in row.body_html and "&lt;script&gt;" in row.body_html
    raw = message_bytes(build_message(row, ledger.settings))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert [line for line in headers.split(b"\r\n") if line.lower().startswith(b"bcc")] == []


def test_removing_a_contact_deletes_the_row_and_stops_the_mail(ledger):
    result = apscn("district", "edit", "6001000", "--remove-email", "pat@lrsd.k12.example", "--note", "left")
    assert result.returncode == 0, result.stderr
    with ledger.ledger.read() as s:
        assert s.scalars(select(Contact).where(Contact.email == "pat@lrsd.k12.example")).all() == []
    form = apscn("request-form", "6001000", "--json")
    assert "pat@lrsd.k12.example" not in form.stdout
    shown = json.loads(apscn("district", "show", "6001000", "--json").stdout)
    assert shown["contacts"] == []
