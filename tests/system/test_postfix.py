"""Delivery through a real Postfix on 127.0.0.1 (with Dovecot for the login), the way real mail servers answer:
per recipient, with 5xx and 4xx refusals, bounces after acceptance, STARTTLS or TLS from the start, a login, a
self-signed certificate. What arrives is read from Postfix's Maildir (``tests/support/postfix.py``). The
aiosmtpd tests (``tests/mail``) stay for fast fault injection."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from apscn_tracker.ledger.models import Event
from apscn_tracker.services import districts
from apscn_tracker.services.delivery import deliver_pending
from apscn_tracker.services.doctor import doctor
from apscn_tracker.services.outbox import retry_message
from tests.support.faults import run_apscn_on, write_config
from tests.support.mail import COORDINATOR, ENABLED, LAPSED, TODAY, build_scenario, mail_settings, queue, rows
from tests.support.postfix import PASSWORD, USER, Postfix, require


@pytest.fixture(scope="module")
def postfix() -> Iterator[Postfix]:
    require()
    server = Postfix().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mx(postfix: Postfix) -> Postfix:
    postfix.reset()
    return postfix


PORTS = {"none": "plain", "starttls": "submission", "ssl": "smtps"}


def settings(mx: Postfix, security: str = "none", *, port: str | None = None, login: bool = False, **extra: Any):
    """The mail settings of a ledger sending through ``mx`` (``port``: which of its listeners)."""
    values: dict[str, Any] = {
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": getattr(mx, port or PORTS[security]),
        "smtp_security": security,
        "smtp_timeout": 10,
        **extra,
    }
    if login:
        values["smtp_user"] = USER
    return values


@pytest.fixture
def ledger(make_app, home):
    """A ledger with the scenario's districts; ``ledger(settings)`` gives it those mail settings (config.toml
    for the child processes, the App for this one)."""

    def make(values: dict[str, Any], password: str | None = None):
        config(home, values)
        extra = {"smtp_password": password} if password else {}
        app = make_app(TODAY, **mail_settings(**values, **extra))
        build_scenario(app)
        return app

    return make


def config(home: Path, values: dict[str, Any]) -> None:
    """config.toml: the scenario's sender and coordinator, then ``values`` (which win)."""
    merged = {**mail_settings(), **{k: str(v) if isinstance(v, Path) else v for k, v in values.items()}}
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "config.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in merged.items()))


def apscn(*args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {"APSCN_SMTP_PASSWORD": password} if password else {}
    return run_apscn_on(TODAY, *args, **env)


def one_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def contacts(app, lea: str, *emails: str) -> None:
    districts.edit_district(app, lea=lea, emails=list(emails))


def history(app, kind: str) -> list[str]:
    with app.ledger.read() as s:
        return [e.note for e in s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))]


# -- well-formed mail ------------------------------------------------------------------------------------------


def test_postfix_receives_well_formed_mail_over_tls_1_3_with_a_login_and_never_the_password(mx, ledger):
    app = ledger(settings(mx, "starttls", login=True, smtp_ca_file=mx.cert), password=PASSWORD)
    for kind in ("renewal_reminder", "send_details_reminder", "request_form"):
        queue(app, kind)
    sent = apscn("outbox", "send", "--json", password=PASSWORD)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == 3
    got = mx.settle()
    assert len(got) == 7  # renewal: Lee, Jose, Cc coordinator; details: Lee, Jose; request form: Dana, Cc
    for m in got:
        assert m["Return-Path"] == f"<{COORDINATOR}>"  # the envelope sender: bounces reach the coordinator
        assert m["From"] == "APSCN Tracker <tracker@coop.example>" and m["Reply-To"]
        assert m.get_content_type() == "multipart/alternative"
        assert "TLSv1.3" in str(m["Received"]) and "Authenticated sender" not in str(m["Received"])
    assert PASSWORD not in mx.log() + sent.stdout + sent.stderr


# -- 1. outcomes per recipient -----------------------------------------------------------------------------------


def test_postfix_a_district_address_refused_for_good_fails_the_message_and_the_notice_command_works(mx, ledger):
    app = ledger(settings(mx))
    contacts(app, LAPSED, "refused@lrsd.example")
    original = queue(app, "request_form")  # To the district, Cc the coordinator
    assert deliver_pending(app) == {"sent": 1, "failed": 1, "retrying": 0}  # the notice went out
    message, notice = rows(app)
    assert message.status == "failed" and "550 5.1.1" in message.last_error
    got = mx.settle()
    assert mx.delivered_to(got) == [COORDINATOR, COORDINATOR]  # its Cc copy, and the notice
    (text,) = [m for m in got if str(m["Subject"]).startswith("Partly delivered")]
    body = text.get_body(preferencelist=("plain",)).get_content()
    assert f"apscn outbox retry {original.id}" in body and "--remove-email" in body
    # 2. the address fixed, the retry goes to the district's contact of today, and only to it
    contacts(app, LAPSED, "dana.new@lrsd.example")
    mx.reset()
    retry_message(app, id=original.id)
    assert deliver_pending(app)["sent"] == 1
    assert mx.delivered_to(mx.settle()) == ["dana.new@lrsd.example"]  # the coordinator does not get it twice
    (done,) = [r for r in rows(app) if r.id == original.id]
    assert done.status == "sent" and "dana.new@lrsd.example" in done.to_addrs
    assert any("was refused@lrsd.example" in n for n in history(app, "message_readdressed"))
    assert apscn("outbox", "retry", str(original.id)).returncode == 1  # sent to everyone: nothing to retry


def test_postfix_a_recipient_refused_for_now_is_retried_alone_and_nobody_gets_it_twice(mx, ledger):
    app = ledger(settings(mx))
    contacts(app, ENABLED, "lee.grant@lrsd.example", "busy@lrsd.example")
    queue(app, "send_details_reminder")
    assert deliver_pending(app) == {"sent": 0, "failed": 0, "retrying": 1}
    (row,) = rows(app)
    assert row.status == "pending" and "450 4.2.1" in row.last_error
    listed = json.loads(apscn("outbox", "list", "--json").stdout)
    assert listed[0]["next_attempt_at"] and {r["address"]: r["state"] for r in listed[0]["recipients"]} == {
        "lee.grant@lrsd.example": "sent",
        "busy@lrsd.example": "deferred",
    }
    first = mx.settle()
    assert mx.delivered_to(first) == ["lee.grant@lrsd.example"]
    mx.accept_busy()
    mx.reset_mail()
    retry_message(app, id=row.id)  # due now rather than in a minute
    assert deliver_pending(app)["sent"] == 1
    got = mx.settle()
    assert mx.delivered_to(got) == ["busy@lrsd.example"]  # Lee does not get it twice
    assert {str(m["Message-ID"]) for m in first + got} == {row.message_id}  # a resend keeps its Message-ID
    shown = apscn("outbox", "show", str(row.id))
    assert "busy@lrsd.example: sent" in shown.stdout and "lee.grant@lrsd.example: sent" in shown.stdout


def test_postfix_a_refused_cc_leaves_the_message_sent_and_tells_the_coordinator(mx, ledger):
    app = ledger(settings(mx, coordinator_email="refused@coop.example"))
    queue(app, "renewal_reminder")  # To Lee and Jose, Cc the (refused) coordinator
    deliver_pending(app)
    (row,) = rows(app)  # no notice: the coordinator is the one refused
    assert row.status == "sent" and "refused@coop.example" in row.last_error
    assert mx.delivered_to(mx.settle()) == ["jose@lrsd.example", "lee.grant@lrsd.example"]


def test_postfix_retry_failed_of_one_kind_puts_them_all_back_to_the_current_contacts(mx, ledger):
    app = ledger(settings(mx))
    contacts(app, ENABLED, "refused@lrsd.example")
    queue(app, "send_details_reminder")
    queue(app, "powerschool_activation")
    deliver_pending(app)
    assert [r.status for r in rows(app)[:2]] == ["failed", "failed"]
    contacts(app, ENABLED, "lee.grant@lrsd.example")
    again = apscn("outbox", "retry", "--failed", "--kind", "send_details_reminder", "--json")
    assert again.returncode == 0, again.stderr
    assert [r["to"] for r in json.loads(again.stdout)] == ["lee.grant@lrsd.example"]
    mx.reset()
    assert apscn("outbox", "send").returncode == 0
    assert [r.status for r in rows(app)[:2]] == ["sent", "failed"]
    assert mx.delivered_to(mx.settle()) == ["lee.grant@lrsd.example"]


# -- 3. and 4. setup failures: no try charged, nothing failed, exit 1 naming the setting -----------------------


def untouched(app) -> None:
    """Every message waits as queued: no try charged, no error kept, nothing failed."""
    assert {(r.status, r.attempts, r.last_error) for r in rows(app)} == {("pending", 0, None)}


def test_postfix_a_self_signed_certificate_stops_delivery_naming_smtp_ca_file_until_it_is_set(mx, ledger, home):
    app = ledger(settings(mx, "ssl", login=True), password=PASSWORD)
    queue(app, "request_form")
    line = one_error(apscn("outbox", "send", password=PASSWORD))
    assert "(self-signed certificate)" in line and "smtp_ca_file" in line and "APSCN_SMTP_SECURITY" not in line
    untouched(app)
    assert doctor_line(apscn("doctor", "--json", password=PASSWORD)) == line.removeprefix("error: ")
    ticked = apscn("tick", "--json", password=PASSWORD)
    assert one_error(ticked).endswith(line.removeprefix("error: "))
    assert json.loads(ticked.stdout)["delivery_error"] == line.removeprefix("error: ")
    assert mx.settle(quiet=0.5) == []
    config(home, settings(mx, "ssl", login=True, smtp_ca_file=mx.cert))
    assert apscn("outbox", "send", password=PASSWORD).returncode == 0
    assert COORDINATOR in mx.delivered_to(mx.settle())
    assert doctor_line(apscn("doctor", "--json", password=PASSWORD)) is None


def doctor_line(result: subprocess.CompletedProcess) -> str | None:
    """The line of ``doctor --json``'s mail delivery check (the setup failure that stopped delivery) when it fails
    (doctor then exits 1), else None."""
    (check,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "mail delivery"]
    if check["status"] == "ok":
        return None
    assert result.returncode == 1 and check["status"] == "fail"
    return check["message"]


def test_postfix_a_wrong_password_is_tried_once_then_delivery_pauses_until_the_settings_change(mx, ledger):
    app = ledger(settings(mx, "starttls", login=True, smtp_ca_file=mx.cert), password="wrong")
    queue(app, "request_form")
    first = one_error(apscn("outbox", "send", password="wrong"))
    assert "refused the login" in first and "APSCN_SMTP_PASSWORD" in first
    second = one_error(apscn("tick", password="wrong")).removeprefix("error: delivery: ")
    assert second.startswith(first.removeprefix("error: ")) and second.endswith("until the mail settings change")
    assert mx.log().count("authentication failed") == 1  # one login try in all: no lockout
    assert doctor_line(apscn("doctor", "--json", password="wrong")) == second
    untouched(app)  # with what the tick queued: no try charged
    assert apscn("outbox", "send", password=PASSWORD).returncode == 0  # a new password: tried again, and works
    assert mx.settle() and all(r.status == "sent" for r in rows(app))


@pytest.mark.parametrize(
    ("case", "security", "port", "words"),
    [
        ("tls-to-the-starttls-port", "ssl", "submission", ("TLS with 127.0.0.1", "APSCN_SMTP_SECURITY")),
        ("plain-to-the-starttls-port", "none", "submission", ("encrypted connection first", "APSCN_SMTP_SECURITY")),
        ("no-login-where-one-is-needed", "starttls", "submission", ("Client host rejected", "APSCN_SMTP_USER")),
    ],
)
def test_postfix_a_mode_or_a_login_that_does_not_match_the_server_stops_delivery_naming_the_setting(
    mx, ledger, case, security, port, words
):
    app = ledger(settings(mx, security, port=port, smtp_ca_file=mx.cert))
    queue(app, "request_form")
    line = one_error(apscn("outbox", "send"))
    assert all(w in line for w in words), line
    untouched(app)  # 554 Client host rejected too: nothing failed, no notice queued
    assert mx.settle(quiet=0.5) == []


def test_an_outbox_folder_that_cannot_be_written_stops_delivery_naming_it(make_app, home):
    app = make_app(TODAY, **mail_settings())
    write_config(home)
    build_scenario(app)
    queue(app, "request_form")
    (home / "outbox").write_text("not a folder")
    line = one_error(apscn("outbox", "send"))
    assert "outbox folder" in line and "APSCN_HOME" in line
    untouched(app)
    assert any(c["name"] == "mail delivery" and c["status"] == "fail" for c in doctor(app)["checks"])


# -- 5. Message-IDs, 6. bounces -----------------------------------------------------------------------------------


def test_postfix_two_ledgers_give_the_same_message_different_message_ids(mx, make_app, tmp_path, monkeypatch):
    ids = []
    for name in ("rehearsal", "production"):
        monkeypatch.setenv("APSCN_HOME", str(tmp_path / name))
        monkeypatch.delenv("APSCN_DATABASE_URL", raising=False)  # each its own SQLite file, on a PostgreSQL run too
        app = make_app(TODAY, **mail_settings(**settings(mx)))
        build_scenario(app)
        queue(app, "coordinator_digest")  # the same key in both
        (row,) = rows(app)
        deliver_pending(app)
        ids.append(row.message_id)
    got = mx.settle()
    assert len(set(ids)) == 2 and sorted(str(m["Message-ID"]) for m in got) == sorted(ids)


def test_postfix_a_message_accepted_then_bounced_goes_back_to_the_bounce_address(mx, ledger):
    app = ledger(settings(mx, bounce_address="bounces@coop.example"))
    contacts(app, LAPSED, "moved@lrsd.example")  # accepted, then found unknown behind an alias
    queue(app, "request_form")
    assert deliver_pending(app)["sent"] == 1
    got = mx.settle()
    bounce = [m for m in got if str(m["Delivered-To"]) == "bounces@coop.example"]
    assert len(bounce) == 1 and "Undelivered Mail" in str(bounce[0]["Subject"])
    assert all(m["Return-Path"] == "<bounces@coop.example>" for m in got if m not in bounce)
