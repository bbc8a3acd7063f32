"""Each recipient's answer kept and acted on (aiosmtpd, for fast fault injection; ``tests/system/test_postfix.py``
runs the same cases against a real Postfix), recipients resolved again when a message is sent again, the
ledger id in Message-IDs, the CA file and the envelope sender."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from apscn_tracker.config import ConfigError, load_settings
from apscn_tracker.ledger.db import MIGRATIONS, make_engine, open_ledger
from apscn_tracker.ledger.meta import ledger_id
from apscn_tracker.ledger.models import Event
from apscn_tracker.mail.transports import SetupError, SmtpTransport
from apscn_tracker.services import districts
from apscn_tracker.services.delivery import deliver_pending
from apscn_tracker.services.outbox import outbox_rows, retry_failed, retry_message
from tests.support.mail import COORDINATOR, ENABLED, NOW, TODAY, build_scenario, mail_settings, queue, rows


@pytest.fixture
def app(make_app, smtp):
    a = make_app(
        TODAY,
        **mail_settings(mail_transport="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_timeout=5),
    )
    build_scenario(a)
    return a


def test_a_recipient_refused_for_now_gets_it_alone_later_and_the_other_never_twice(app, smtp):
    queue(app, "send_details_reminder")  # to Lee Grant and Jose
    smtp.handler.rcpt_replies["jose@lrsd.example"] = "451 4.3.0 Try later"
    assert deliver_pending(app, now=NOW) == {"sent": 0, "failed": 0, "retrying": 1}
    (row,) = rows(app)
    assert row.status == "pending" and "451 4.3.0" in row.last_error
    (listed,) = outbox_rows(app)
    assert listed["next_attempt_at"] == (NOW + timedelta(minutes=1)).isoformat()
    assert [(r["address"], r["state"]) for r in listed["recipients"]] == [
        ("lee.grant@lrsd.example", "sent"),
        ("jose@lrsd.example", "deferred"),
    ]
    smtp.handler.rcpt_replies.clear()
    assert deliver_pending(app, now=NOW + timedelta(minutes=2))["sent"] == 1
    assert [r.rcpt_tos for r in smtp.received] == [["lee.grant@lrsd.example"], ["jose@lrsd.example"]]
    with app.ledger.read() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.kind.like("message_%")).order_by(Event.id))]
    assert kinds[-2:] == ["message_delivered", "message_sent"]  # one message_sent: db check stays sound


def test_a_retry_goes_to_the_contacts_of_today_and_the_history_says_so(app, smtp):
    original = queue(app, "send_details_reminder")
    smtp.handler.rcpt_replies["jose@lrsd.example"] = "550 5.1.1 No such user"
    deliver_pending(app, now=NOW)
    assert rows(app)[0].status == "failed"
    districts.edit_district(app, lea=ENABLED, remove_emails=["jose@lrsd.example"], add_emails=["jose@new.example"])
    shown = retry_message(app, id=original.id)
    assert any("jose@new.example" in a for a in shown["to"]) and not any("jose@lrsd" in a for a in shown["to"])
    smtp.received.clear()
    assert deliver_pending(app)["sent"] == 1  # due now (the retry's time is the real one)
    assert [r.rcpt_tos for r in smtp.received] == [["jose@new.example"]]  # Lee had it already
    with app.ledger.read() as s:
        (note,) = s.scalars(select(Event.note).where(Event.kind == "message_readdressed"))
    assert "jose@new.example" in note and "(was " in note and "jose@lrsd.example" in note


def test_retry_failed_of_a_kind_leaves_the_other_kinds_failed(app, smtp):
    queue(app, "send_details_reminder")
    queue(app, "renewal_reminder")
    smtp.handler.data_replies.extend(["554 5.7.1 Rejected", "554 5.7.1 Rejected"])
    deliver_pending(app, now=NOW)
    assert [r.status for r in rows(app)[:2]] == ["failed", "failed"]
    assert [r["kind"] for r in retry_failed(app, kind="renewal_reminder")] == ["renewal_reminder"]
    assert [r.status for r in rows(app)[:2]] == ["failed", "pending"]


def test_a_client_host_rejected_for_every_recipient_is_a_setup_failure_not_a_refusal(app, smtp):
    queue(app, "request_form")
    for who in ("dana.white@2906000.example", COORDINATOR):
        smtp.handler.rcpt_replies[who] = "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied"
    with pytest.raises(SetupError, match="APSCN_SMTP_USER"):
        deliver_pending(app, now=NOW)
    assert [(r.status, r.attempts) for r in rows(app)] == [("pending", 0)]


def test_the_envelope_sender_is_the_bounce_address_when_set(make_app, smtp):
    app = make_app(
        TODAY,
        **mail_settings(
            mail_transport="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port, bounce_address="bounces@coop.example"
        ),
    )
    build_scenario(app)
    queue(app, "coordinator_digest")
    deliver_pending(app, now=NOW)
    assert smtp.received[0].mail_from == "bounces@coop.example"


def test_two_ledgers_give_the_same_key_two_message_ids(make_app, tmp_path, monkeypatch):
    found = []
    for name in ("a", "b"):
        monkeypatch.setenv("APSCN_HOME", str(tmp_path / name))
        monkeypatch.delenv("APSCN_DATABASE_URL", raising=False)  # each its own SQLite file, on a PostgreSQL run too
        app = make_app(TODAY, **mail_settings())
        build_scenario(app)
        found.append(queue(app, "coordinator_digest").message_id)
    assert found[0] != found[1]


def test_a_ledger_made_before_ledger_ids_gets_one_on_upgrade_and_keeps_its_messages(home):
    settings = load_settings()
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(
            text(
                "INSERT INTO outbox (key, kind, to_addrs, cc_addrs, subject, body_text, body_html, message_id, "
                "status, attempts, next_attempt_at, created_at) VALUES ('old', 'coordinator_digest', "
                "'a@b.example', '', 's', 't', 'h', '<m@x>', 'failed', 3, '2026-11-02 14:00:00', "
                "'2026-11-02 14:00:00')"
            )
        )
    engine.dispose()
    ledger = open_ledger(settings)
    with ledger.read() as s:
        first = ledger_id(s)
    assert len(first) == 32
    from apscn_tracker.mail.outbox import list_messages

    with ledger.read() as s:
        (row,) = list_messages(s)
    assert row["status"] == "failed" and row["recipients"][0]["state"] == "pending"
    ledger.dispose()


def test_a_ca_file_is_added_to_the_systems_trust_and_a_missing_one_is_a_setting_error(tmp_path, monkeypatch):
    monkeypatch.setenv("APSCN_SMTP_CA_FILE", str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="smtp_ca_file .*APSCN_SMTP_CA_FILE.*no such file"):
        load_settings()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    transport = SmtpTransport(host="127.0.0.1", port=1, security="ssl", ca_file=Path(junk))
    with pytest.raises(SetupError, match="smtp_ca_file"):
        transport.send(None)  # type: ignore[arg-type]
