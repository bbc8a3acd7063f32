"""`apscn db backup FILE` and `apscn db check`: a consistent owner-only copy, and a check that finds damage."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import make_engine
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.services import districts
from apscn_tracker.services.db.backups import pg_dump_hint
from apscn_tracker.services.setup import init
from tests.support.snapshot import snapshot

TODAY = date(2026, 11, 2)


@pytest.fixture
def demo(make_app):
    """A demo school year (every status), as `apscn init --demo` leaves it."""
    app = make_app(TODAY)
    init(app, demo=True)
    app.close()
    return app


def run_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


def check(cli) -> tuple[int, dict[str, dict]]:
    result = cli("db", "check", "--json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert data["ok"] is (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in data["checks"]}


# -- check ------------------------------------------------------------------------------------------------------


def test_a_sound_ledger_passes_every_check_and_the_check_changes_nothing(demo, cli):
    before = snapshot(demo.settings.url)
    code, found = check(cli)
    assert code == 0, found
    assert {c["status"] for c in found.values()} == {"ok"}
    assert set(found) >= {"migrations", "integrity", "append_only", "projection", "outbox"}
    assert "renewals rebuilt from" in found["projection"]["message"] and "all equal" in found["projection"]["message"]
    text_out = cli("db", "check")
    assert text_out.exit_code == 0 and text_out.stdout.rstrip().endswith("the ledger is sound")
    assert snapshot(demo.settings.url) == before


def test_a_renewal_row_that_disagrees_with_its_events_is_found_and_named(demo, cli):
    run_sql(
        demo.settings.url,
        "UPDATE renewal SET enabled_on = requested_on WHERE id = "
        "(SELECT min(id) FROM renewal WHERE enabled_on IS NOT NULL AND enabled_on <> requested_on)",
    )
    code, found = check(cli)
    assert code == 1
    proj = found["projection"]
    assert proj["status"] == "problem" and proj["message"].startswith("1 renewal(s) differ")
    assert (
        len(proj["details"]) == 1 and "enabled_on is" in proj["details"][0] and "the events say" in proj["details"][0]
    )
    out = cli("db", "check")
    assert out.exit_code == 1 and "!! projection" in out.stdout and "has problems" in out.stdout


def test_events_of_a_renewal_without_its_row_are_found(demo, cli):
    lea = "6001000"  # the demo recorded requests for it
    run_sql(
        demo.settings.url,
        "DELETE FROM renewal WHERE connection_id = (SELECT c.id FROM connection c JOIN district d "
        f"ON d.id = c.district_id WHERE d.lea_code = '{lea}') AND requested_on IS NOT NULL",
    )
    code, found = check(cli)
    assert code == 1
    assert any(d.startswith(lea) and "no renewal row" in d for d in found["projection"]["details"])


def test_a_missing_append_only_trigger_is_a_problem(demo, cli):
    drop = "DROP TRIGGER event_no_delete" if demo.settings.is_sqlite else "DROP TRIGGER event_append_only ON event"
    run_sql(demo.settings.url, drop)
    code, found = check(cli)
    assert code == 1 and found["append_only"]["status"] == "problem"


def test_a_ledger_written_by_a_newer_version_is_reported_without_reading_its_tables(demo, cli):
    run_sql(demo.settings.url, "UPDATE alembic_version SET version_num = '9999'")
    code, found = check(cli)
    assert code == 1
    assert "9999 is unknown" in found["migrations"]["message"] and "projection" not in found
    assert cli("db", "check").stdout.count("\n") <= 4


def test_the_check_applies_no_migration(home, cli, make_app):
    engine = make_engine(load_settings().url)  # an empty database: no tables at all
    if engine.dialect.name == "postgresql":  # the test database is a copy of a migrated one: empty it
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    code, found = check(cli)
    assert code == 1 and "no ledger tables" in found["migrations"]["message"]
    engine = create_engine(load_settings().url)
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                if engine.dialect.name == "sqlite"
                else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ).all()
    engine.dispose()
    assert tables == []


@pytest.mark.sqlite_only
def test_no_ledger_is_a_one_line_error_and_creates_nothing(home, cli):
    result = cli("db", "check")
    assert result.exit_code == 1 and result.stderr.startswith("error: no ledger at") and "apscn init" in result.stderr
    assert not (home / "apscn.db").exists()


@pytest.mark.sqlite_only
def test_a_row_pointing_to_a_missing_district_is_an_integrity_problem(demo, cli):
    conn = sqlite3.connect(demo.settings.db_path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("INSERT INTO contact (district_id, email) VALUES (99999, 'ghost@example.org')")
    conn.commit()
    conn.close()
    code, found = check(cli)
    assert code == 1 and found["integrity"]["status"] == "problem"
    assert found["integrity"]["details"] == [f"contact row {_last_contact(demo)} points to a missing district"]


def _last_contact(app) -> int:
    conn = sqlite3.connect(app.settings.db_path)
    try:
        return conn.execute("SELECT max(id) FROM contact").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.sqlite_only
def test_a_damaged_database_file_is_reported_in_one_line(demo, cli):
    path = demo.settings.db_path
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 2 * page):  # scribble over interior pages
        data[offset + 100 : offset + 600] = os.urandom(500)
    path.write_bytes(bytes(data))
    result = cli("db", "check", "--json")
    assert result.exit_code == 1
    if result.stdout:
        found = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
        assert "problem" in {c["status"] for c in found.values()}
    else:  # so damaged SQLite will not even read it: still one line, no traceback
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_a_message_left_in_sending_is_a_warning_and_a_sent_one_without_its_event_a_problem(demo, cli):
    app = demo
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with app.ledger.write() as s:
        for key, status in (("test:stuck", "sending"), ("test:unrecorded", "sent")):
            s.add(
                Outbox(
                    key=key,
                    kind="request_form",
                    to_addrs="pat@0101000.k12.example",
                    subject="s",
                    body_text="b",
                    body_html="<p>b</p>",
                    message_id=f"<{key}@x>",
                    status=status,
                    attempts=1,
                    next_attempt_at=long_ago,
                    claimed_at=long_ago,
                    claimed_by="host:1:dead",
                    created_at=long_ago,
                    sent_at=long_ago if status == "sent" else None,
                )
            )
    code, found = check(cli)
    assert code == 1 and found["outbox"]["status"] == "problem"
    details = " ".join(found["outbox"]["details"])
    assert "no message_sent event" in details and "left in 'sending'" in details
    run_sql(app.settings.url, "DELETE FROM outbox WHERE key = 'test:unrecorded'")
    code, found = check(cli)
    assert code == 0 and found["outbox"]["status"] == "warning" and "left in 'sending'" in found["outbox"]["message"]


@pytest.mark.sqlite_only
def test_a_ledger_readable_by_others_is_a_problem(demo, cli):
    os.chmod(demo.settings.db_path, 0o644)
    code, found = check(cli)
    assert code == 1 and found["permissions"]["status"] == "problem"
    assert "chmod 600" in found["permissions"]["details"][0]


# -- backup -----------------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_backup_is_an_owner_only_single_file_copy_of_the_whole_ledger(demo, cli, tmp_path):
    target = tmp_path / "backups" / "apscn-2026-11-02.db"
    target.parent.mkdir()
    result = cli("db", "backup", str(target))
    assert result.exit_code == 0, result.output
    assert f"to {target}" in result.stdout and "owner-only" in result.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no -wal, no temporary file
    assert snapshot(f"sqlite:///{target}") == snapshot(demo.settings.url)
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    # the copy is a working ledger: point APSCN_HOME at it and check it
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    (restored / "apscn.db").write_bytes(target.read_bytes())
    os.chmod(restored / "apscn.db", 0o600)
    env_home = os.environ["APSCN_HOME"]
    os.environ["APSCN_HOME"] = str(restored)
    try:
        code, found = check(cli)
    finally:
        os.environ["APSCN_HOME"] = env_home
    assert code == 0, found


@pytest.mark.sqlite_only
def test_a_backup_taken_while_another_process_writes_is_consistent(demo, cli, tmp_path, make_app):
    stop = threading.Event()
    app = make_app(TODAY)

    def writer() -> None:  # one district and its event per unit of work, as fast as it goes
        for n in range(1, 100):
            if stop.is_set():
                return
            districts.add_district(app, lea=f"75{n:02d}700", name=f"Charter {n}")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        results = [cli("db", "backup", str(tmp_path / f"b{i}.db")) for i in range(5)]
    finally:
        stop.set()
        thread.join()
    assert all(r.exit_code == 0 for r in results), [r.output for r in results]
    for i in range(5):
        conn = sqlite3.connect(tmp_path / f"b{i}.db")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        districts_n = conn.execute("SELECT count(*) FROM district").fetchone()[0]
        added_events = conn.execute("SELECT count(*) FROM event WHERE kind = 'district_added'").fetchone()[0]
        conn.close()
        assert districts_n == added_events  # each district with its event: no half-written unit of work


@pytest.mark.sqlite_only
def test_backup_refuses_to_overwrite_without_force_and_replaces_with_it(demo, cli, tmp_path):
    target = tmp_path / "b.db"
    target.write_text("precious")
    result = cli("db", "backup", str(target))
    assert result.exit_code == 1 and "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "precious"
    assert cli("db", "backup", str(target), "--force").exit_code == 0
    assert target.read_bytes().startswith(b"SQLite format 3\x00")


@pytest.mark.sqlite_only
@pytest.mark.parametrize("where", ["missing-folder/b.db", "."])
def test_backup_to_a_missing_folder_or_a_folder_is_a_one_line_error(demo, cli, tmp_path, where):
    result = cli("db", "backup", str(tmp_path / where))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


@pytest.mark.sqlite_only
def test_backup_with_no_ledger_creates_none(home, cli, tmp_path):
    result = cli("db", "backup", str(tmp_path / "b.db"))
    assert result.exit_code == 1 and "no ledger" in result.stderr
    assert not (home / "apscn.db").exists() and not (tmp_path / "b.db").exists()


@pytest.mark.postgres_only
def test_backup_on_postgresql_names_pg_dump_and_writes_nothing(demo, cli, tmp_path):
    result = cli("db", "backup", str(tmp_path / "b.db"))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "pg_dump --format=custom" in result.stderr and "postgresql://" in result.stderr
    assert "+psycopg" not in result.stderr
    assert list(tmp_path.glob("b.db*")) == []


def test_the_pg_dump_hint_never_shows_a_password():
    hint = pg_dump_hint("postgresql+psycopg://bob:s3cret@db.coop.example:5433/apscn?sslmode=require")
    assert "s3cret" not in hint and "postgresql://bob@db.coop.example:5433/apscn?sslmode=require" in hint


def test_db_check_works_through_the_console_entry_point(demo, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "db", "check"], capture_output=True, text=True, env=os.environ
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith("the ledger is sound") and out.stderr == ""
