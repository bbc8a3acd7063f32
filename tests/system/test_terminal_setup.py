"""The coordinator's terminal, setting up: `apscn config`, a folder without a ledger, init run twice, doctor's two
levels, warnings counted, help with real placeholders. Real processes, at 80 and 200 columns, piped and on a
pseudo-terminal (``tests/support/terminal.py``)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.models import TickRun
from apscn_tracker.resources import data_dir
from tests.support.senders import ended_sender
from tests.support.terminal import MODES, WIDTHS, apscn, cell_width

DAY = "2026-09-14"
ONE_LINE = "no ledger in {home}: {why}; run `apscn init` to create one (or point APSCN_HOME at yours)"


def _on(mode: str, width: int, *args: str, **env: str):
    return apscn(*args, mode=mode, width=width, columns=width if mode == "pipe" else None, **env)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
def test_config_set_checks_first_keeps_the_comments_and_show_fits(home, cli, mode, width):
    assert cli("init", today=DAY).exit_code == 0
    cfg = home / "config.toml"
    before = cfg.read_text(encoding="utf-8")
    refused = _on(mode, width, "config", "set", "send_hour", "2")
    assert refused.code == 1 and "daylight-saving" in refused.err and refused.err.count("\n") == 1
    assert cfg.read_text(encoding="utf-8") == before  # nothing written
    done = _on(mode, width, "config", "set", "send_hour", "8")
    assert done.code == 0, done.err
    text = cfg.read_text(encoding="utf-8")
    assert "send_hour = 8                      # the daily tick; keep it out of 1-3 a.m." in text
    assert text.count("#") == before.count("#")  # every comment kept
    assert _on(mode, width, "config", "set", "reminders.renewal_days_before", "[30, 7]").code == 0
    assert load_settings().reminders.renewal_days_before == (30, 7) and load_settings().send_hour == 8
    shown = _on(mode, width, "config", "show")
    assert shown.code == 0 and all(cell_width(line) <= width for line in shown.lines), shown.out
    (row,) = [line for line in shown.lines if line.startswith("send_hour ")]
    assert row.split()[1:] == ["8", "config.toml"]
    rows = {r["key"]: r for r in json.loads(apscn("config", "show", "--json").out)["settings"]}
    assert rows["reminders.renewal_days_before"]["value"] == [30, 7] and rows["max_attempts"]["from"] == "default"
    assert _on(mode, width, "config", "unset", "send_hour").code == 0 and load_settings().send_hour == 7
    assert "send_hour =" not in cfg.read_text(encoding="utf-8").split("[reminders]")[0].replace("# send", "")


@pytest.mark.sqlite_only
def test_a_key_appended_below_the_reminders_table_is_named_with_its_table_and_config_set_moves_it(home, cli):
    assert cli("init", today=DAY).exit_code == 0
    cfg = home / "config.toml"
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write('coordinator_email = "pat@coop.k12.ar.us"\n')
    for args in (["status"], ["tick"]):
        run = apscn(*args, APSCN_TODAY=DAY)
        assert run.code == 1 and run.err.count("\n") == 1, run.err
        assert "coordinator_email in " in run.err and "is in [reminders], not at the top level" in run.err
    typo = apscn("config", "set", "reminders.lapsed_every_day", "3")
    assert typo.code == 1 and "in [reminders]" in typo.err and "nearest known key is 'lapsed_every_days'" in typo.err
    typo = apscn("config", "set", "coordinater_email", "x@coop.k12.ar.us")
    assert "in the top level" in typo.err and "nearest known key is 'coordinator_email'" in typo.err
    moved = apscn("config", "set", "coordinator_email", "pat@coop.k12.ar.us")
    assert moved.code == 0 and "moved out of [reminders]" in moved.out, moved.err
    assert load_settings().coordinator_email == "pat@coop.k12.ar.us"
    assert apscn("status", APSCN_TODAY=DAY).code == 0


@pytest.mark.parametrize("command", [["status"], ["tick"], ["doctor"], ["history", "6001000"], ["scheduler", "run"]])
@pytest.mark.parametrize("folder", ["missing", "empty folder", "zero-byte file", "foreign file"])
@pytest.mark.sqlite_only
def test_a_folder_without_a_ledger_is_refused_in_one_line_and_nothing_is_created(home, command, folder):
    why = {
        "missing": "the folder does not exist",
        "empty folder": "there is no apscn.db",
        "zero-byte file": "apscn.db is empty (0 bytes)",
        "foreign file": "apscn.db is not a SQLite database",
    }[folder]
    if folder != "missing":
        home.mkdir(parents=True)
    if folder == "zero-byte file":
        (home / "apscn.db").write_bytes(b"")
    if folder == "foreign file":
        (home / "apscn.db").write_bytes(b"PK\x03\x04 a spreadsheet\n")
    before = sorted(p.name for p in home.iterdir()) if home.exists() else None
    run = apscn(*command, APSCN_TODAY=DAY)
    assert run.code == 1
    line = ONE_LINE.format(home=home, why=why)
    if command == ["doctor"]:  # doctor reports it as its ledger check, on stdout
        assert f"FAIL ledger: {line}" in run.out
    else:
        assert run.err == f"error: {line}\n" and run.out == ""
    assert (sorted(p.name for p in home.iterdir()) if home.exists() else None) == before


@pytest.mark.sqlite_only
def test_init_refuses_another_applications_sqlite_file_and_leaves_it_byte_for_byte(home):
    home.mkdir(parents=True)
    db = home / "apscn.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
        conn.execute("CREATE TABLE district (name TEXT)")  # a name the ledger uses too
        conn.execute("INSERT INTO district VALUES ('theirs')")
    conn.close()
    before = db.read_bytes()
    run = apscn("init", APSCN_TODAY=DAY)
    assert run.code == 1 and run.out == ""
    assert run.err == (
        f"error: {db} holds another application's tables (customers, district) and no ledger; nothing was "
        "changed; point APSCN_HOME at an empty folder\n"
    )
    assert db.read_bytes() == before  # not even switched to WAL
    assert sorted(p.name for p in home.iterdir()) == ["apscn.db"]  # no config.toml, no key


@pytest.mark.postgres_only
def test_init_refuses_a_postgresql_database_holding_other_tables(home):
    from sqlalchemy import create_engine, inspect, text

    server = os.environ["APSCN_TEST_DATABASE_URL"]
    name = "foreign_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        theirs = create_engine(url)
        with theirs.begin() as conn:
            conn.execute(text("CREATE TABLE customers (id integer)"))
        run = apscn("init", APSCN_TODAY=DAY, APSCN_DATABASE_URL=url)
        assert run.code == 1 and run.err.count("\n") == 1, run.err
        assert "holds another application's tables (customers) and no ledger" in run.err
        assert "point APSCN_DATABASE_URL at an empty database" in run.err
        with theirs.connect() as conn:
            assert inspect(conn).get_table_names() == ["customers"]
        theirs.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("demo", [[], ["--demo"]], ids=["init", "init --demo"])
def test_init_run_twice_says_the_ledger_is_ready_and_exits_0(home, mode, demo):
    first = apscn("init", *demo, mode=mode, APSCN_TODAY=DAY)
    assert first.code == 0 and f"ledger ready in {home} (sqlite)" in first.out  # which folder, APSCN_HOME or not
    again = apscn("init", *demo, mode=mode, APSCN_TODAY=DAY)
    assert again.code == 0, again.err
    assert f"the ledger in {home} is ready (initialised before)" in again.out


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
def test_doctor_fails_on_a_fresh_ledger_until_the_tick_runs_and_then_only_warns(home, cli, mode, width):
    assert cli("init", today=DAY).exit_code == 0
    assert cli("connect", "--all", today=DAY).exit_code == 0
    fresh = _on(mode, width, "doctor")
    assert fresh.code == 1
    assert "FAIL tick: the daily tick has never run" in fresh.out
    assert "warn contacts: 257 district(s) with a connection have no contact" in fresh.out
    assert "warn reminders: district reminders are held" in fresh.out  # a new ledger: until `reminders start`
    assert fresh.lines[-1] == "the reminders are at risk: fix what FAIL says above"
    assert apscn("config", "set", "coordinator_email", "pat@coop.k12.ar.us").code == 0
    assert cli("tick", today=DAY).exit_code == 0
    ticked = _on(mode, width, "doctor")
    assert ticked.code == 0, ticked.out
    assert "FAIL" not in ticked.out and "ok   tick: last tick" in ticked.out
    assert "is a placeholder" in ticked.out  # the example's mail_from, apscn-tracker@coop.example
    assert ticked.lines[-1].startswith("nothing stops the reminders; 3 warning(s)")  # held is one of them
    assert all(len(line) <= width for line in ticked.lines) or mode == "pipe" and width == 200, ticked.out


@pytest.mark.sqlite_only
def test_a_killed_tick_is_reported_as_killed(home, cli, make_app):
    assert cli("init", today=DAY).exit_code == 0
    gone = ended_sender()
    app = make_app(DAY)
    with app.ledger.write() as s:  # the row a tick opens when it starts, left by a process now gone
        s.add(TickRun(today=date(2026, 9, 14), started_at=datetime.now(UTC), counts=json.dumps({"running": gone})))
    run = apscn("doctor", "--json")
    (tick,) = [c for c in json.loads(run.out)["checks"] if c["name"] == "tick"]
    assert run.code == 1 and tick["status"] == "fail"
    assert "was killed before it finished" in tick["message"] and "running" not in tick["message"]


@pytest.mark.sqlite_only
def test_tick_without_a_coordinator_counts_its_warnings_instead_of_one_line_per_key(home, cli):
    assert cli("init", today=DAY).exit_code == 0
    assert cli("connect", "--all", today=DAY).exit_code == 0
    assert cli("reminders", "start", today=DAY).exit_code == 0
    run = apscn("tick", APSCN_TODAY="2026-09-16")  # a lapsed notice is due for every district (none requested)
    assert run.code == 0
    assert run.err.splitlines() == [
        "warning: lapsed_notice not queued: nobody to send it to (the district has no contact); "
        "`apscn doctor` lists the districts (257 times)"
    ]


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["request", "--help"], ["[LEA]...", "--from FILE", "--on DATE", "--year YEAR", "--vendor VENDOR"]),
        (["district", "edit", "--help"], ["--add-email EMAIL", "--name NAME"]),
        (["status", "--help"], ["--lea LEA", "--today DATE", "--only STATUS"]),
        (["outbox", "list", "--help"], ["--limit N"]),
        (["config", "set", "--help"], ["{KEY} {VALUE}"]),
    ],
)
def test_help_names_its_values(args, shown):
    run = apscn(*args, columns=200)
    assert run.code == 0 and "<str>" not in run.out and "<list" not in run.out
    for text in shown:
        assert text in run.out, (text, run.out)


def test_no_help_of_any_command_shows_a_type_placeholder():
    walk = (
        "import typer, json; from apscn_tracker.cli.main import app; g = typer.main.get_command(app)\n"
        "def walk(grp, path):\n"
        "    ctx = typer.Context(grp)\n"
        "    for n in grp.list_commands(ctx):\n"
        "        c = grp.get_command(ctx, n); yield (*path, n)\n"
        "        if hasattr(c, 'list_commands'): yield from walk(c, (*path, n))\n"
        "print(json.dumps(list(walk(g, ()))))"
    )
    paths = json.loads(subprocess.run([sys.executable, "-c", walk], capture_output=True, text=True, check=True).stdout)
    assert len(paths) >= 30
    for path in paths:
        out = subprocess.run(
            [sys.executable, "-m", "apscn_tracker", *path, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        ).stdout
        assert "<str>" not in out and "<int>" not in out and "<list[str]>" not in out, (path, out)


def test_the_example_configuration_is_left_intact_by_a_set_and_unset_round_trip(home, cli):
    assert cli("init", today=DAY).exit_code == 0
    cfg = home / "config.toml"
    assert apscn("config", "set", "send_hour", "9").code == 0
    assert apscn("config", "set", "send_hour", "7").code == 0
    assert cfg.read_text(encoding="utf-8") == (data_dir() / "config.example.toml").read_text(encoding="utf-8")
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
