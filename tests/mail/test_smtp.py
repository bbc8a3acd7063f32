"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1, a free port), no mocks of smtplib."""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, select

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.mail.message import build_message
from apscn_tracker.mail.outbox import problems
from apscn_tracker.mail.transports import SetupError, SmtpTransport, TemporaryError
from apscn_tracker.services.delivery import deliver_pending
from tests.support.mail import COORDINATOR, NOW, TODAY, build_scenario, mail_settings, parts, queue, rows
from tests.support.smtp_server import Server, authenticator, self_signed_certificate, server_context

NOTHING = {"sent": 0, "failed": 0, "retrying": 0}
SECRET = "Hunter2-s3cret-XYZ"


def smtp_settings(server: Server, **extra: Any) -> dict[str, Any]:
    return mail_settings(mail_transport="smtp", smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout=5, **extra)


@pytest.fixture
def app(make_app, smtp):
    a = make_app(TODAY, **smtp_settings(smtp))
    build_scenario(a)
    return a


def _addresses(row: Outbox) -> list[str]:
    return [a for _, a in getaddresses([row.to_addrs, row.cc_addrs]) if a]


def _events(app, kind: str) -> int:
    with app.ledger.write() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.kind == kind))


# -- delivery --------------------------------------------------------------------------------------------


def test_it_delivers_every_kind_to_a_real_smtp_server(app, smtp):
    for kind in EMAIL_KINDS:
        assert queue(app, kind) is not None
    assert deliver_pending(app, now=NOW) == {"sent": len(EMAIL_KINDS), "failed": 0, "retrying": 0}
    assert len(smtp.received) == len(EMAIL_KINDS)
    by_id = {r.message_id: r for r in rows(app)}
    for got in smtp.received:
        msg = got.message
        row = by_id.pop(msg["Message-ID"])
        assert row.status == "sent" and row.sent_at == NOW and row.attempts == 1
        assert msg["Subject"] == row.subject
        assert msg["Date"] == "Mon, 02 Nov 2026 08:00:00 -0600"
        assert got.mail_from == COORDINATOR  # the envelope sender: bounces go to the coordinator
        assert sorted(got.rcpt_tos) == sorted(_addresses(row))
        text, html = parts(msg)
        assert text == row.body_text and html == row.body_html
        assert not msg.defects
    assert by_id == {}
    assert _events(app, "message_sent") == len(EMAIL_KINDS)


def test_it_sends_a_batch_over_one_connection(app, smtp):
    for kind in ("renewal_reminder", "lapsed_notice", "activation_overdue", "request_form", "coordinator_digest"):
        queue(app, kind)
    assert deliver_pending(app, now=NOW)["sent"] == 5
    assert len(smtp.received) == 5
    assert len({r.peer for r in smtp.received}) == 1


def test_it_opens_no_connection_when_nothing_is_due(app, smtp):
    transport = SmtpTransport(host="127.0.0.1", port=smtp.port)
    with transport:
        pass
    assert transport.connections == 0
    assert deliver_pending(app, now=NOW) == NOTHING


def test_it_keeps_every_message_while_the_server_is_down_for_days_then_delivers_each_once(make_app, smtp):
    app = make_app(TODAY, **smtp_settings(smtp, max_attempts=3))
    build_scenario(app)
    for kind in ("renewal_reminder", "lapsed_notice", "coordinator_digest"):
        queue(app, kind)
    smtp.stop()
    clock = NOW
    for _ in range(72):  # three days, a delivery run every hour
        result = deliver_pending(app, now=clock)
        assert result["sent"] == 0 and result["failed"] == 0
        clock += timedelta(hours=1)
    waiting = rows(app)
    assert {r.status for r in waiting} == {"pending"}
    assert all(r.attempts >= 3 for r in waiting)
    assert all("cannot reach the SMTP server" in (r.last_error or "") for r in waiting)
    assert max(r.next_attempt_at for r in waiting) - clock <= timedelta(hours=6)
    with app.ledger.write() as s:  # the coordinator digest sees them
        assert len(problems(s, max_attempts=3, now=clock)) == 3

    smtp.start()
    assert deliver_pending(app, now=clock + timedelta(hours=6)) == {"sent": 3, "failed": 0, "retrying": 0}
    assert deliver_pending(app, now=clock + timedelta(hours=12)) == NOTHING
    sent_ids = sorted(r.message["Message-ID"] for r in smtp.received)
    assert sent_ids == sorted(r.message_id for r in waiting)
    assert {r.status for r in rows(app)} == {"sent"}


def test_it_gives_back_the_rest_of_a_claimed_batch_untried_when_the_server_is_down(make_app, smtp):
    app = make_app(TODAY, **smtp_settings(smtp))
    build_scenario(app)
    for kind in ("renewal_reminder", "lapsed_notice", "coordinator_digest"):
        queue(app, kind)
    smtp.stop()
    assert deliver_pending(app, now=NOW) == {"sent": 0, "failed": 0, "retrying": 1}
    tried, *rest = rows(app)
    assert tried.status == "pending" and tried.attempts == 1 and tried.next_attempt_at > NOW
    # the others were claimed with it, never tried: due again at once, no try counted, nobody holds them
    assert [(r.status, r.attempts, r.claimed_by, r.next_attempt_at) for r in rest] == [("pending", 0, None, NOW)] * 2
    smtp.start()
    assert deliver_pending(app, now=NOW) == {"sent": 2, "failed": 0, "retrying": 0}


@pytest.mark.parametrize(
    "reply", ["451 4.7.1 Greylisted, try again later", "421 4.3.2 Service shutting down", "452 4.3.1 Out of space"]
)
def test_it_retries_after_a_temporary_refusal_then_delivers(app, smtp, reply):
    queue(app, "lapsed_notice")
    smtp.handler.data_replies.append(reply)
    assert deliver_pending(app, now=NOW) == {"sent": 0, "failed": 0, "retrying": 1}
    (row,) = rows(app)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == NOW + timedelta(minutes=1)
    assert reply.split()[0] in row.last_error
    assert deliver_pending(app, now=NOW + timedelta(seconds=30)) == NOTHING  # not due yet
    assert deliver_pending(app, now=NOW + timedelta(minutes=1)) == {"sent": 1, "failed": 0, "retrying": 0}
    (row,) = rows(app)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert len(smtp.received) == 1


def test_it_retries_when_every_recipient_is_refused_for_now(app, smtp):
    queue(app, "lapsed_notice")
    (row,) = rows(app)
    for address in _addresses(row):
        smtp.handler.rcpt_replies[address] = "450 4.2.1 Mailbox busy"
    assert deliver_pending(app, now=NOW)["retrying"] == 1
    assert "450" in rows(app)[0].last_error
    smtp.handler.rcpt_replies.clear()
    assert deliver_pending(app, now=NOW + timedelta(minutes=2))["sent"] == 1


def test_it_marks_a_permanent_refusal_failed_and_tells_the_coordinator(app, smtp):
    original = queue(app, "renewal_reminder")
    smtp.handler.data_replies.append("550 5.1.1 Mailbox unavailable")
    # the failure notice is queued with the failure, and goes out in the same run
    assert deliver_pending(app, now=NOW) == {"sent": 1, "failed": 1, "retrying": 0}
    failed, notice = rows(app)
    assert failed.id == original.id and failed.status == "failed"
    assert "550 5.1.1 Mailbox unavailable" in failed.last_error
    assert notice.kind == "delivery_failed" and notice.status == "sent"
    (got,) = smtp.received
    msg = got.message
    assert got.rcpt_tos == [COORDINATOR]
    assert msg["Subject"] == f"Not delivered: {original.subject}"
    text, _ = parts(msg)
    assert f"apscn outbox retry {original.id}" in text and "550 5.1.1" in text
    assert _events(app, "message_failed") == 1
    assert deliver_pending(app, now=NOW + timedelta(days=1)) == NOTHING


def test_it_tells_nobody_when_the_refused_message_was_for_the_coordinator(app, smtp):
    queue(app, "coordinator_digest")
    smtp.handler.data_replies.append("554 5.7.1 Rejected")
    assert deliver_pending(app, now=NOW) == {"sent": 0, "failed": 1, "retrying": 0}
    assert [r.kind for r in rows(app)] == ["coordinator_digest"]


def test_a_district_address_refused_for_good_fails_the_message_while_the_other_received_it(app, smtp):
    queue(app, "send_details_reminder")  # to Lee Grant and Jose
    smtp.handler.rcpt_replies["jose@lrsd.example"] = "550 5.1.1 No such user"
    assert deliver_pending(app, now=NOW) == {"sent": 1, "failed": 1, "retrying": 0}
    reminder, notice = rows(app)
    assert reminder.status == "failed" and "jose@lrsd.example" in reminder.last_error
    assert notice.kind == "delivery_failed" and notice.subject.startswith("Partly delivered:")
    assert smtp.received[0].rcpt_tos == ["lee.grant@lrsd.example"]
    assert smtp.received[1].rcpt_tos == [COORDINATOR]


def test_it_sends_a_reminder_queued_twice_once(app, smtp):
    assert queue(app, "renewal_reminder", key="renewal:7:2027:14") is not None
    assert queue(app, "renewal_reminder", key="renewal:7:2027:14") is None
    deliver_pending(app, now=NOW)
    assert queue(app, "renewal_reminder", key="renewal:7:2027:14") is None  # sent already: still nothing new
    deliver_pending(app, now=NOW + timedelta(days=1))
    assert len(smtp.received) == 1 and len(rows(app)) == 1


def test_it_resends_with_the_same_message_id_after_a_crash_between_send_and_mark(app, smtp):
    row = queue(app, "renewal_reminder")
    # the restarted process has the same configuration (the Reply-To names the coordinator)
    app.settings.config_file.write_text('coordinator_name = "Casey Coordinator"\n', encoding="utf-8")
    env = {
        **os.environ,
        "APSCN_MAIL_TRANSPORT": "smtp",
        "APSCN_SMTP_HOST": "127.0.0.1",
        "APSCN_SMTP_PORT": str(smtp.port),
        "APSCN_MAIL_FROM": app.settings.mail_from,
        "APSCN_COORDINATOR_EMAIL": COORDINATOR,
    }
    # the server kills the sender once it has the whole message, before it answers: sent, never marked
    sender: list[subprocess.Popen] = []
    smtp.handler.on_data = lambda: os.kill(sender[0].pid, signal.SIGKILL)
    sender.append(
        subprocess.Popen(
            [sys.executable, "-m", "apscn_tracker", "outbox", "send"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    )
    _, stderr = sender[0].communicate(timeout=120)
    smtp.handler.on_data = None
    assert sender[0].returncode == -signal.SIGKILL, stderr
    assert len(smtp.received) == 1
    (left,) = rows(app)
    assert left.status == "sending" and left.attempts == 1 and left.sent_at is None

    # a restart right after takes the claim back at once: its sender ran on this host and its process is gone
    # (a claim whose sender may still be alive waits for the timeout: tests/mail/test_claim_owners.py)
    assert deliver_pending(app, now=datetime.now(UTC)) == {"sent": 1, "failed": 0, "retrying": 0}

    first, second = smtp.received
    assert first.message["Message-ID"] == second.message["Message-ID"] == row.message_id
    assert first.data == second.data  # byte for byte the same message
    (done,) = rows(app)
    assert done.status == "sent" and done.attempts == 2
    assert _events(app, "message_sent") == 1


def test_it_retries_when_the_server_does_not_answer_in_time(make_app):
    with socket.socket() as mute:  # accepts connections, never says a word
        mute.bind(("127.0.0.1", 0))
        mute.listen(5)
        port = mute.getsockname()[1]
        settings = mail_settings(mail_transport="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=0.5)
        app = make_app(TODAY, **settings)
        build_scenario(app)
        queue(app, "lapsed_notice")
        assert deliver_pending(app, now=NOW) == {"sent": 0, "failed": 0, "retrying": 1}
    assert "timed out" in rows(app)[0].last_error


# -- login, TLS, secrets ---------------------------------------------------------------------------------


def _all_stored_text(app) -> str:
    """Every value of every table of the ledger, as text."""
    meta = MetaData()
    meta.reflect(bind=app.ledger.engine)
    out = []
    with app.ledger.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def _secret_forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.b64encode(b"\0tracker\0" + raw).decode()]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_it_logs_in_and_keeps_the_password_out_of_the_outbox_files_and_logs(make_app, cli, monkeypatch, caplog):
    server = Server(authenticator=authenticator(SECRET), auth_require_tls=False, auth_required=True)
    server.start()
    try:
        monkeypatch.setenv("APSCN_SMTP_PASSWORD", SECRET)
        caplog.set_level(logging.DEBUG)
        app = make_app(TODAY, **smtp_settings(server, smtp_user="tracker"))
        assert app.settings.smtp_password == SECRET  # from the environment
        build_scenario(app)
        for kind in EMAIL_KINDS:
            queue(app, kind)
        assert deliver_pending(app, now=NOW)["sent"] == len(EMAIL_KINDS)

        # the same ledger through the CLI (env settings), and the file transport
        queue(app, "request_form", key="cli-1")
        for var, value in {
            "APSCN_MAIL_TRANSPORT": "smtp",
            "APSCN_SMTP_HOST": "127.0.0.1",
            "APSCN_SMTP_PORT": str(server.port),
            "APSCN_SMTP_USER": "tracker",
            "APSCN_COORDINATOR_EMAIL": COORDINATOR,
        }.items():
            monkeypatch.setenv(var, value)
        sent = cli("outbox", "send")
        assert sent.exit_code == 0, sent.output
        monkeypatch.setenv("APSCN_MAIL_TRANSPORT", "file")
        queue(app, "request_form", key="file-1")
        assert cli("outbox", "send").exit_code == 0
        listing = cli("outbox", "list", "--json")
        shown = cli("outbox", "show", "1", "--json")

        # a refused login: a setup problem, said in one line without the password; the message is untouched
        monkeypatch.setenv("APSCN_SMTP_PASSWORD", "wrong-" + SECRET)
        monkeypatch.setenv("APSCN_MAIL_TRANSPORT", "smtp")
        queue(app, "request_form", key="cli-2")
        refused = cli("outbox", "send")
        assert refused.exit_code == 1
    finally:
        server.stop()

    last = rows(app)[-1]
    assert last.status == "pending" and last.attempts == 0 and last.last_error is None
    assert "refused the login of tracker" in refused.stderr and "APSCN_SMTP_PASSWORD" in refused.stderr
    assert len(server.received) == len(EMAIL_KINDS) + 1
    places = {
        "ledger": _all_stored_text(app),
        "eml": "\n".join(p.read_bytes().decode("ascii") for p in app.settings.outbox_dir.glob("*.eml")),
        "logs": caplog.text,
        "cli": "\n".join(r.output + (r.stderr or "") for r in (sent, listing, shown, refused)),
        "mail": "\n".join(r.data.decode("ascii") for r in server.received),
        "repr": repr(app.settings) + repr(SmtpTransport(host="h", port=1, user="tracker", password=SECRET)),
    }
    assert places["eml"] and places["logs"] and "refused the login" in places["cli"]
    for where, text in places.items():
        for form in _secret_forms(SECRET) + _secret_forms("wrong-" + SECRET):
            assert form not in text, f"the password shows in {where}"


def test_it_refuses_to_send_a_password_unencrypted_to_a_remote_server(make_app):
    transport = SmtpTransport(host="mail.example.org", port=25, security="none", user="tracker", password=SECRET)
    with pytest.raises(TemporaryError, match="without encryption") as caught:
        transport.send(EmailMessage())
    assert caught.value.stop_batch and SECRET not in str(caught.value)


def test_it_says_when_the_user_is_set_without_a_password():
    transport = SmtpTransport(host="127.0.0.1", port=25, user="tracker", password=None)
    with pytest.raises(TemporaryError, match="APSCN_SMTP_PASSWORD"):
        transport.send(EmailMessage())


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted by the client through SSL_CERT_FILE."""
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def test_it_logs_in_after_starttls(make_app, certificate, monkeypatch):
    server = Server(
        tls_context=server_context(*certificate),
        require_starttls=True,
        authenticator=authenticator(SECRET),
        auth_required=True,
    )
    server.start()
    try:
        monkeypatch.setenv("APSCN_SMTP_PASSWORD", SECRET)
        app = make_app(TODAY, **smtp_settings(server, smtp_security="starttls", smtp_user="tracker"))
        build_scenario(app)
        queue(app, "lapsed_notice")
        queue(app, "request_form")
        assert deliver_pending(app, now=NOW)["sent"] == 2
    finally:
        server.stop()
    assert [r.tls for r in server.received] == [True, True]


def test_it_delivers_over_ssl(make_app, certificate):
    cert, key = certificate
    server = Server(ssl_context=server_context(cert, key))
    server.start()
    try:
        app = make_app(TODAY, **smtp_settings(server, smtp_security="ssl"))
        build_scenario(app)
        queue(app, "lapsed_notice")
        assert deliver_pending(app, now=NOW)["sent"] == 1
    finally:
        server.stop()
    assert len(server.received) == 1


def test_it_keeps_the_message_when_the_certificate_is_not_trusted(make_app, certificate, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    server = Server(tls_context=server_context(*certificate), require_starttls=True)
    server.start()
    try:
        app = make_app(TODAY, **smtp_settings(server, smtp_security="starttls"))
        build_scenario(app)
        queue(app, "lapsed_notice")
        with pytest.raises(SetupError, match="certificate of 127.0.0.1:[0-9]+ is not trusted"):
            deliver_pending(app, now=NOW)  # the setup, not the message: no try charged
    finally:
        server.stop()
    (row,) = rows(app)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None) and not server.received


def test_it_builds_messages_the_server_accepts_unchanged(app, smtp):
    row = queue(app, "send_details_reminder")
    deliver_pending(app, now=NOW)
    (got,) = smtp.received
    assert got.message["Message-ID"] == build_message(row, app.settings)["Message-ID"]
    assert got.data.isascii()
