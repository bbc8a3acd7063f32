"""A database password written in APSCN_DATABASE_URL, in any of its forms, and a SMTP password the login cannot
carry never reach an error, a JSON output, a log line or the ledger: each command runs in its own process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from freezegun import freeze_time

from apscn_tracker.config import load_settings
from apscn_tracker.scheduler import Runner
from tests.support.faults import free_port, run_apscn, run_apscn_on, smtp_env, write_config

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


# -- a SMTP password the login cannot carry ------------------------------------------------------------------------

SMTP_PW = "ĦŴŁØ€ÐÞ"  # no character of it appears anywhere else: each one is searched for, alone


class AuthServer:
    """aiosmtpd on 127.0.0.1 that takes mail only after a login as ``tracker`` with ``password``."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.received: list[bytes] = []
        self.port = free_port()
        self.controller: Any = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(bytes(envelope.content))
        return "250 OK"

    def _check(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and auth_data.password == self.password.encode()
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> AuthServer:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._check,
            auth_required=True,
            auth_require_tls=False,  # loopback only; the tracker sends a password in clear only there
        )
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _traces_of(password: str, text: str) -> list[str]:
    """Each character of ``password`` found in ``text``, alone or escaped, and any position or length of it."""
    found = [c for c in password if c in text]
    found += [e for c in password for e in (ascii(c)[1:-1], f"\\x{ord(c):02x}") if e in text]
    found += [word for word in ("position", "ordinal", "codec") if word in text]
    return found


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_smtp_password_outside_ascii_gives_one_line_and_leaves_no_trace(home):
    write_config(home)
    smtp = {"APSCN_SMTP_USER": "tracker", "APSCN_SMTP_PASSWORD": SMTP_PW, "APSCN_TODAY": TODAY.isoformat()}
    with AuthServer(SMTP_PW) as server:
        env = {**smtp_env(server.port), **smtp}
        assert run_apscn(["init"], env).returncode == 0
        assert run_apscn(["request-form", "6001000"], env).returncode == 0
        runs = {args: run_apscn(args.split(), env) for args in ("outbox send", "tick", "doctor --json")}
        shown = run_apscn(["outbox", "list", "--json"], env)
    assert server.received == []
    for args, result in runs.items():
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert "APSCN_SMTP_PASSWORD" in result.stdout + result.stderr, args
    assert runs["outbox send"].stderr.count("\n") == 1 and "ASCII" in runs["outbox send"].stderr
    (mail,) = [c for c in json.loads(runs["doctor --json"].stdout)["checks"] if c["name"] == "mail setup"]
    assert mail["status"] == "fail"  # no login can work: no mail at all
    assert any("APSCN_SMTP_PASSWORD holds characters outside ASCII" in line for line in mail["details"]), mail
    (row,) = json.loads(shown.stdout)
    assert row["status"] == "pending" and row["attempts"] == 0 and row["last_error"] is None  # nothing claimed
    ledger = b"".join(p.read_bytes() for p in home.glob("apscn.db*")).decode("utf-8", "replace")
    outputs = "".join(r.stdout + r.stderr for r in [*runs.values(), shown])
    assert _traces_of(SMTP_PW, ledger) == [] and _traces_of(SMTP_PW, outputs) == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_scheduler_and_the_transport_itself_refuse_such_a_login_in_one_line(home, make_app, caplog, monkeypatch):
    from apscn_tracker.mail.transports import SmtpTransport, TemporaryError
    from tests.support.mail import TODAY as DAY
    from tests.support.mail import build_scenario, mail_settings, queue

    caplog.set_level(logging.DEBUG)
    with AuthServer(SMTP_PW) as server:
        for var, value in {
            **smtp_env(server.port),
            "APSCN_SMTP_USER": "tracker",
            "APSCN_SMTP_PASSWORD": SMTP_PW,
        }.items():
            if var.startswith("APSCN_"):
                monkeypatch.setenv(var, value)
        app = make_app(DAY, **mail_settings())
        build_scenario(app)
        queue(app, "request_form")
        monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", "coordinator@coop.example")
        assert Runner(load_settings()).run_delivery() is None
        transport = SmtpTransport(host="127.0.0.1", port=server.port, user="tracker", password=SMTP_PW)
        with pytest.raises(TemporaryError) as refused:
            transport.send(EmailMessage())
    assert refused.value.stop_batch and "outside ASCII" in str(refused.value)
    assert _traces_of(SMTP_PW, str(refused.value)) == []
    assert (
        "delivery failed; trying again in 5 minutes: APSCN_SMTP_PASSWORD holds characters outside ASCII" in caplog.text
    )
    assert "Traceback" not in caplog.text and _traces_of(SMTP_PW, caplog.text) == []
    assert server.received == []


# -- on a PostgreSQL server that answers ------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_on_a_reachable_server_a_password_given_as_a_query_parameter_shows_nowhere(home, tmp_path, schedulers):
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["APSCN_DATABASE_URL"])  # this test's own database
    if not url.password:
        pytest.skip("the test server is reached without a password")
    password = str(url.password)
    moved = url.set(password=None).update_query_dict({"password": password}).render_as_string(hide_password=False)
    assert f"password={password}" in moved
    runs = [
        run_apscn_on(TODAY, *args, APSCN_DATABASE_URL=moved)
        for args in (["init", "--json"], ["status"], ["doctor", "--json"], ["db", "check"], ["db", "backup", "x.db"])
    ]
    assert [r.returncode for r in runs] == [0, 0, 1, 0, 1], [r.stderr for r in runs]  # doctor: no tick yet
    assert json.loads(runs[0].stdout)["ledger"] == "database url" and "pg_dump" in runs[4].stderr
    scheduler = schedulers({**os.environ, "APSCN_DATABASE_URL": moved, "APSCN_TODAY": "2026-07-08"}, tmp_path / "s.log")
    scheduler.wait_log("scheduler started")
    assert scheduler.stop() == 0
    said = "".join(r.stdout + r.stderr for r in runs) + scheduler.text()
    assert "Traceback" not in said and password not in said
