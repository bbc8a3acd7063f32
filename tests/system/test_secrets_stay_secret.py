"""A database password written in APSCN_DATABASE_URL, in any of its forms, and a SMTP password the login cannot
carry never reach an error, a JSON output, a log line or the ledger: each command runs in its own process."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from datetime import date

import pytest
from freezegun import freeze_time

from apscn_tracker.config import load_settings
from apscn_tracker.scheduler import Runner
from tests.support.faults import run_apscn_on

TODAY = date(2026, 7, 8)
PW = "Zq7-s3cret-Pw"
DOWN = "127.0.0.1:1"  # nothing listens on port 1: every command fails to connect
URLS = [
    f"postgresql+psycopg://coord@{DOWN}/apscn?password={PW}",
    f"postgresql+psycopg:///apscn?host=127.0.0.1&port=1&user=coord&password={PW}",
    f"postgresql+psycopg://coord@{DOWN}/apscn?sslmode=disable&%70assword={PW}",
    f"postgresql+psycopg://coord:{PW.replace('-', '%2D')}@{DOWN}/apscn",
    f"postgresql+psycopg://coord:{PW}@{DOWN}/apscn?password={PW}",
]
COMMANDS = [["status"], ["db", "check"], ["db", "backup", "x.db"], ["doctor", "--json"], ["init", "--json"]]


def apscn(*args: str, url: str) -> subprocess.CompletedProcess:
    return run_apscn_on(TODAY, *args, APSCN_DATABASE_URL=url)


def no_password_in(result: subprocess.CompletedProcess) -> str:
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert PW not in said and PW.replace("-", "%2D") not in said, said
    return said


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_password_given_as_a_query_parameter_shows_in_no_output(home, args):
    result = apscn(*args, url=URLS[0])
    said = no_password_in(result)
    assert "password=***" in said or "pg_dump" in said or "could not be used" in said, said
    if args[0] == "doctor":
        assert json.loads(result.stdout)["ok"] is False


@pytest.mark.parametrize("url", URLS[1:])
def test_a_password_in_any_other_form_shows_in_no_error(home, url):
    assert "***" in no_password_in(apscn("status", url=url))


def test_the_pg_dump_hint_names_the_database_without_its_password(home):
    result = apscn("db", "backup", "x.db", url=URLS[1])
    assert "postgresql:///apscn?" in result.stderr and "password" not in result.stderr.split("(", 1)[0]
    assert "user=coord" in result.stderr and PW not in result.stderr


def test_the_scheduler_log_shows_no_database_password(home, caplog, monkeypatch):
    monkeypatch.setenv("APSCN_DATABASE_URL", URLS[0])
    caplog.set_level(logging.INFO, logger="apscn_tracker")
    runner = Runner(load_settings())
    runner.run_tick()
    runner.run_delivery()
    assert "tick" in caplog.text and "cannot open the ledger" in caplog.text
    assert PW not in caplog.text


def test_scheduler_run_refuses_a_ledger_it_cannot_reach_without_its_password(home):
    result = apscn("scheduler", "run", url=URLS[2])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert PW not in result.stdout + result.stderr and "%70assword=***" in result.stderr


def test_the_running_scheduler_hides_passwords_in_whatever_any_module_logs(home, make_app, caplog, monkeypatch):
    from apscn_tracker.scheduler import run as run_scheduler
    from apscn_tracker.services.setup import init

    init(make_app(TODAY))
    smtp_secret = "Smtp-Secret-77"
    monkeypatch.setenv("APSCN_SMTP_PASSWORD", smtp_secret)
    caplog.set_level(logging.INFO)
    other = logging.getLogger("some.library")

    def ready(runner, sched, stop):
        other.warning("connecting with password=%s", "not-the-real-one")
        try:
            raise RuntimeError(f"server echoed {smtp_secret}")
        except RuntimeError:
            other.exception("a library failed")
        threading.Timer(0.2, stop, args=("test",)).start()  # once the loop runs

    with freeze_time("2026-07-08 11:00:00"):  # 06:00 in Chicago: before the send hour, no catch-up tick
        assert run_scheduler(load_settings(), install_signals=False, ready=ready) == 0
    assert "scheduler stopped" in caplog.text and "server echoed ***" in caplog.text
    assert "password=***" in caplog.text and "not-the-real-one" not in caplog.text
    assert smtp_secret not in caplog.text
    other.warning("after the scheduler: %s", smtp_secret)  # the handlers are as they were
    assert smtp_secret in caplog.text
