"""A mail setup that cannot work (a login refused, TLS that does not match the server, a server that wants
encryption first, a certificate not trusted, an outbox folder that cannot be written) is a configuration
problem: real `apscn outbox send` and `apscn tick` processes exit 1 with one line naming the setting to fix
(also in `--json`), no message is charged a try or marked failed, the run stops, and the scheduler logs one
line. Real aiosmtpd servers on 127.0.0.1, no mocks."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.scheduler.jobs import Runner
from tests.support.faults import run_apscn_on, write_config
from tests.support.mail import TODAY, build_scenario, mail_settings, queue, rows
from tests.support.smtp_server import USER, Server, authenticator, self_signed_certificate, server_context

SECRET = "Hunter2-s3cret-XYZ"
KINDS = ("lapsed_notice", "request_form", "activation_overdue")


@pytest.fixture
def queued(make_app, home):
    """Three messages waiting, the settings of the child processes in config.toml."""
    write_config(home)
    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    for kind in KINDS:
        queue(app, kind)
    return app


@pytest.fixture
def cert(tmp_path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def untouched(app) -> None:
    """Every message still waits as it was: no try charged, no error stored, nothing failed."""
    got = rows(app)
    assert len(got) >= len(KINDS)
    assert {(r.status, r.attempts, r.last_error) for r in got} == {("pending", 0, None)}, [
        (r.id, r.status, r.attempts, r.last_error) for r in got
    ]


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def smtp_env(server: Server, security: str, **extra: str) -> dict[str, str]:
    env = {
        "APSCN_MAIL_TRANSPORT": "smtp",
        "APSCN_SMTP_HOST": "127.0.0.1",
        "APSCN_SMTP_PORT": str(server.port),
        "APSCN_SMTP_SECURITY": security,
        "APSCN_SMTP_TIMEOUT": "5",
        **extra,
    }
    env.pop("SSL_CERT_FILE", None)
    return env


Setup = Callable[[tuple[Path, Path], list[str]], tuple[Server, str, dict[str, str]]]


def wrong_password(cert, tries):
    server = Server(authenticator=authenticator(SECRET, tries), auth_require_tls=False, auth_required=True)
    login = {"APSCN_SMTP_USER": USER, "APSCN_SMTP_PASSWORD": "wrong-" + SECRET}
    return server, "none", login


def starttls_demanded(cert, tries):
    return Server(tls_context=server_context(*cert), require_starttls=True), "none", {}


def starttls_not_offered(cert, tries):
    return Server(), "starttls", {}


def login_only_encrypted(cert, tries):
    server = Server(tls_context=server_context(*cert), authenticator=authenticator(SECRET, tries))
    return server, "none", {"APSCN_SMTP_USER": USER, "APSCN_SMTP_PASSWORD": SECRET}


def ssl_to_a_plain_server(cert, tries):
    return Server(), "ssl", {}


def untrusted_certificate(cert, tries):
    return Server(ssl_context=server_context(*cert)), "ssl", {}


CASES: dict[str, tuple[Setup, tuple[str, ...]]] = {
    "wrong-password": (wrong_password, ("refused the login of tracker", "APSCN_SMTP_USER", "APSCN_SMTP_PASSWORD")),
    "starttls-demanded": (starttls_demanded, ("encrypted connection first", "APSCN_SMTP_SECURITY", "PORT")),
    "starttls-not-offered": (starttls_not_offered, ("does not offer STARTTLS", "APSCN_SMTP_SECURITY", "PORT")),
    "login-only-encrypted": (login_only_encrypted, ("does not offer a login", "APSCN_SMTP_SECURITY", "PORT")),
    "ssl-to-a-plain-server": (ssl_to_a_plain_server, ("TLS with 127.0.0.1", "APSCN_SMTP_SECURITY", "PORT")),
    "untrusted-certificate": (untrusted_certificate, ("is not trusted (self-signed certificate)", "smtp_ca_file")),
}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("case", list(CASES))
def test_a_mail_setup_that_cannot_work_exits_1_naming_the_setting_and_charges_no_message(queued, cert, case):
    make, words = CASES[case]
    tries: list[str] = []
    server, security, login = make(cert, tries)
    env = smtp_env(server, security, **login)
    server.start()
    try:
        sent = run_apscn_on(TODAY, "outbox", "send", **env)
        as_json = run_apscn_on(TODAY, "outbox", "send", "--json", **env)
        ticked = run_apscn_on(TODAY, "tick", "--json", **env)
    finally:
        server.stop()
    line = error_line(sent)
    assert all(w in line for w in words), line
    assert "sent 0" in sent.stdout
    assert all(w in json.loads(as_json.stdout)["error"] for w in words), as_json.stdout
    assert error_line(as_json).startswith(line)  # after a refused login: the same line, and paused
    assert all(w in json.loads(ticked.stdout)["delivery_error"] for w in words), ticked.stdout
    assert all(w in error_line(ticked) for w in words)
    untouched(queued)  # the tick's own digest too
    assert server.received == []
    assert len(tries) <= 3  # one login try a run at most: a wrong password is never tried in a loop
    for result in (sent, as_json, ticked):
        assert SECRET not in result.stdout + result.stderr


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_wrong_password_is_tried_once_a_run_whatever_waits(queued):
    for n in range(25):  # three batches' worth
        queue(queued, "request_form", key=f"more-{n}")
    tries: list[str] = []
    server, security, login = wrong_password(None, tries)
    server.start()
    try:
        refused = run_apscn_on(TODAY, "outbox", "send", **smtp_env(server, security, **login))
    finally:
        server.stop()
    assert "refused the login" in error_line(refused)
    assert len(tries) == 1, tries  # one mechanism, one connection: never PLAIN then LOGIN, never batch after batch
    untouched(queued)


@pytest.fixture
def refusing(monkeypatch, caplog):
    """A server that refuses the configured (wrong) password, running; the logins it saw."""
    tries: list[str] = []
    server, security, login = wrong_password(None, tries)
    for var, value in smtp_env(server, security, **login).items():
        monkeypatch.setenv(var, value)
    caplog.set_level(logging.INFO)
    server.start()
    try:
        yield tries
    finally:
        server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_scheduler_logs_a_refused_login_in_one_line(queued, refusing, caplog):
    tries = refusing
    runner = Runner(load_settings())
    assert runner.run_delivery() is None
    assert runner.run_tick() is not None
    assert "delivery failed; trying again in 5 minutes: 127.0.0.1" in caplog.text
    assert "delivery did not run: 127.0.0.1" in caplog.text  # the tick's line
    assert "Traceback" not in caplog.text and SECRET not in caplog.text
    refusals = [r for r in caplog.records if "refused the login" in r.getMessage() and r.levelno >= logging.ERROR]
    assert len(refusals) == 2 and all(r.exc_info is None for r in caplog.records)
    assert len(tries) == 1  # one login try; then delivery pauses until the mail settings change
    assert "paused" in refusals[1].getMessage()
    untouched(queued)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_paused_delivery_is_logged_when_it_starts_and_ends_not_every_five_minutes(queued, refusing, caplog):
    tries = refusing
    runner = Runner(load_settings())
    for _ in range(5):  # 25 minutes of delivery runs
        assert runner.run_delivery() is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors  # the refused login, then the pause; nothing more while it stays paused
    assert "refused the login" in errors[0] and "paused" in errors[1]
    runner.settings = dataclasses.replace(runner.settings, smtp_password=SECRET)  # the password is fixed
    assert runner.run_delivery() == {"sent": len(KINDS), "failed": 0, "retrying": 0}
    assert "delivery works again" in caplog.text
    assert len(tries) == 2 and SECRET not in caplog.text


# -- the outbox folder --------------------------------------------------------------------------------------


def blocked_by_a_file(outbox: Path) -> None:
    outbox.write_text("not a folder\n")


def blocked_by_permissions(outbox: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes a folder whatever its mode; the other cases cover root")
    outbox.mkdir(mode=0o500)


def blocked_by_a_read_only_mount(outbox: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    outbox.mkdir(mode=0o700)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=8m", "tmpfs", str(outbox)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")


@pytest.mark.parametrize("block", [blocked_by_a_file, blocked_by_permissions, blocked_by_a_read_only_mount])
def test_an_outbox_folder_that_cannot_be_written_exits_1_naming_it_and_charges_no_message(queued, home, block):
    outbox = home / "outbox"
    block(outbox)
    try:
        sent = run_apscn_on(TODAY, "outbox", "send")
        ticked = run_apscn_on(TODAY, "tick", "--json")
    finally:
        if outbox.is_mount():
            subprocess.run(["umount", str(outbox)], check=True)
    line = error_line(sent)
    assert f"the outbox folder {outbox} cannot be written" in line and "APSCN_HOME" in line, line
    assert "cannot be written" in json.loads(ticked.stdout)["delivery_error"]
    assert "cannot be written" in error_line(ticked)
    untouched(queued)
