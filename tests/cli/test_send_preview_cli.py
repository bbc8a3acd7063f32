"""`apscn preview KIND` for every kind of email, and `apscn send KIND LEA` for the kinds sent on demand."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import func, select

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.kinds import EMAIL_KINDS
from tests.support.mail import (
    COORDINATOR,
    ENABLED,
    LAPSED,
    ONBOARDING,
    SCRIPTED,
    SUBJECT_OF,
    TODAY,
    build_scenario,
    rows,
)
from tests.support.mail import queue as queue_message

DAY = TODAY.isoformat()
ON_DEMAND = [("request_form", LAPSED), ("powerschool_activation", ENABLED), ("upload_complete", SCRIPTED)]


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    a = make_app(TODAY)
    build_scenario(a)
    return a


def _preview_args(kind: str) -> list[str]:
    lea = SUBJECT_OF[kind] if EMAIL_KINDS[kind].about_district else None
    return ["preview", kind, *([lea] if lea else [])]


def _queued_events(app) -> int:
    with app.ledger.read() as s:
        return int(s.scalar(select(func.count()).select_from(Event).where(Event.kind == "message_queued")) or 0)


@pytest.mark.parametrize("kind", list(EMAIL_KINDS))
def test_preview_shows_every_kind_of_email_and_queues_nothing(app, cli, kind):
    shown = cli.json(*_preview_args(kind), today=DAY)
    assert shown["to"] and shown["subject"] and shown["text"].strip() and "</html>" in shown["html"]
    assert "None" not in shown["subject"] + shown["text"]
    assert rows(app) == []


def test_preview_of_report_ready_shows_the_report_of_the_year_that_ended_or_of_the_year_given(app, cli):
    ended = cli.json("preview", "report_ready", today=DAY)
    assert ended["subject"] == "APSCN renewal report 2025-26 is ready"
    assert "apscn-report-2025-26.html" in ended["text"] and ended["to"] == [f"APSCN coordinator <{COORDINATOR}>"]
    this_year = cli.json("preview", "report_ready", "--year", "2026-27", today=DAY)
    assert this_year["subject"] == "APSCN renewal report 2026-27 is ready"
    # the ledger's figures, not the registry's sample
    assert "API connections: 4 (1 scripted by SFTP, in 5 districts)" in this_year["text"]
    assert "Overdue activations: 1 never enabled" in this_year["text"]


def test_preview_of_a_delivery_notice_shows_the_latest_failed_message_or_an_example(app, cli):
    example = cli.json("preview", "delivery_failed", today=DAY)
    assert "an example" in example["text"]
    row = queue_message(app, "lapsed_notice")
    with app.ledger.write() as s:
        failed = s.get(Outbox, row.id)
        failed.status, failed.last_error = "failed", "550 5.1.1 no such user"
    shown = cli("preview", "delivery_failed", today=DAY)
    assert shown.exit_code == 0, shown.output
    assert f"refused message #{row.id} (lapsed_notice)" in shown.stdout and "550 5.1.1 no such user" in shown.stdout
    assert f"(LEA {LAPSED})" in shown.stdout and "an example" not in shown.stdout


@pytest.mark.parametrize(("kind", "lea"), ON_DEMAND)
def test_send_queues_each_kind_sent_on_demand_once_and_again_with_again(app, cli, kind, lea):
    first = cli("send", kind, lea, today=DAY)
    assert first.exit_code == 0, first.output
    assert "queued as message 1" in first.stderr and "Subject: " in first.stdout
    again = cli.json("send", kind, lea, today=DAY)
    assert again["queued"] is False and again["id"] == 1 and again["kind"] == kind
    assert len(rows(app)) == 1 and _queued_events(app) == 1
    copy = cli.json("send", kind, lea, "--again", today=DAY)
    assert copy["queued"] is True and copy["id"] == 2
    assert [r.kind for r in rows(app)] == [kind, kind] and _queued_events(app) == 2


def test_send_addresses_an_upload_to_the_onboarding_manager(app, cli):
    sent = cli.json("send", "upload_complete", SCRIPTED, today=DAY)
    assert sent["to"] == [f"Robin Onboarding <{ONBOARDING}>"]
    assert sent["school_year"] == "2026-27" and "upload complete for 2026-27" in sent["subject"]


def test_send_queues_the_one_time_activation_once_whatever_the_year(app, cli):
    assert cli.json("send", "powerschool_activation", ENABLED, today=DAY)["queued"] is True
    later = cli.json("send", "powerschool_activation", ENABLED, "--year", "2027-28", today=DAY)
    assert later["queued"] is False and len(rows(app)) == 1


def test_request_form_is_the_shortcut_of_send_request_form(app, cli):
    assert cli.json("request-form", LAPSED, today=DAY)["id"] == 1
    same = cli.json("send", "request_form", LAPSED, today=DAY)
    assert same["queued"] is False and same["id"] == 1
    assert len(rows(app)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "renewal_reminder", ENABLED), "renewal_reminder is not sent on demand"),
        (("send", "birthday_card", ENABLED), "unknown email kind 'birthday_card'"),
        (("send", "upload_complete", ENABLED), "is for scripted SFTP uploads"),
        (("send", "powerschool_activation", SCRIPTED), "scripted SFTP upload"),
        (("send", "request_form", LAPSED, "--year", "2024-25"), "request_form is for 2026-27 or 2027-28"),
        (("send", "request_form", "9999999"), "no district"),
    ],
)
def test_send_says_what_is_wrong_in_one_line_and_queues_nothing(app, cli, args, message):
    result = cli(*args, today=DAY)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and not result.stdout
    assert rows(app) == []


def test_the_read_only_mail_commands_do_not_wait_for_a_writer(app, cli):
    queue_message(app, "lapsed_notice")
    writer = sqlite3.connect(app.ledger.engine.url.database)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process's unit of work holds the write lock
        started = time.monotonic()
        for args in (["outbox", "list"], ["outbox", "show", "1"], *(_preview_args(k) for k in EMAIL_KINDS)):
            result = cli(*args, today=DAY)
            assert result.exit_code == 0, (args, result.output)
        assert time.monotonic() - started < 30  # a write would wait 60 s for the lock, then fail
    finally:
        writer.rollback()
        writer.close()
