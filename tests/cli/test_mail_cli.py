"""The mail commands: outbox list | show | send | retry, request-form, preview."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from apscn_tracker.ledger.models import Outbox
from tests.support.mail import COORDINATOR, LAPSED, TODAY, build_scenario, parse, rows

DAY = TODAY.isoformat()


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    a = make_app(TODAY)
    build_scenario(a)
    return a


def test_it_queues_and_prints_the_request_form_once(app, cli):
    first = cli("request-form", LAPSED, today=DAY)
    assert first.exit_code == 0, first.output
    assert "Subject: APSCN: eSchoolPLUS API Request - SPRING HILL SCHOOL DISTRICT (2906000), Xello, 2026-27" in (
        first.stdout
    )
    assert "LEA code:           2906000" in first.stdout
    assert "queued as message 1" in first.stderr
    again = cli("request-form", LAPSED, today=DAY)
    assert again.exit_code == 0 and "already queued as message 1" in again.stderr
    assert len(rows(app)) == 1
    copy = cli.json("request-form", LAPSED, "--again", today=DAY)
    assert copy["queued"] is True and copy["id"] == 2
    assert len(rows(app)) == 2


def test_it_defaults_the_request_form_to_next_year_once_this_year_is_requested(app, cli):
    r = cli.json("request-form", "6001000", today=DAY)
    assert r["school_year"] == "2027-28"
    assert r["to"] == ["Lee Grant <lee.grant@lrsd.example>", '"José \\"Pepe\\" Núñez, Jr." <jose@lrsd.example>']
    assert r["cc"] == [f"APSCN coordinator <{COORDINATOR}>"]


def test_it_refuses_a_request_form_for_a_scripted_district(app, cli):
    result = cli("request-form", "5803000", today=DAY)
    assert result.exit_code == 1 and "SFTP" in result.stderr and result.stderr.count("\n") == 1
    assert rows(app) == []


def test_it_previews_without_queuing(app, cli):
    shown = cli("preview", "renewal_reminder", "6001000", today=DAY)
    assert shown.exit_code == 0, shown.output
    assert "To: Lee Grant <lee.grant@lrsd.example>" in shown.stdout
    assert "request by Wed, Jun 16" in shown.stdout
    html = cli("preview", "lapsed_notice", LAPSED, "--html", today=DAY)
    assert html.stdout.splitlines()[4].startswith("<!DOCTYPE html>")
    digest = cli.json("preview", "coordinator_digest", today=DAY)
    assert digest["to"] == [f"APSCN coordinator <{COORDINATOR}>"] and "follow up" in digest["subject"]
    assert rows(app) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("preview", "birthday_card", "6001000"), "unknown email kind"),
        (("preview", "renewal_reminder"), "give its LEA code"),
        (("preview", "renewal_reminder", "9999999"), "no district"),
        (("outbox", "show", "42"), "no outbox message 42"),
        (("outbox", "retry", "42"), "no outbox message 42"),
        (("outbox", "list", "--status", "lost"), "unknown status"),
    ],
)
def test_it_says_what_is_wrong_in_one_line(app, cli, args, message):
    result = cli(*args, today=DAY)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and not result.stdout


def test_it_lists_shows_sends_and_retries(app, cli):
    cli("request-form", LAPSED, today=DAY)
    cli("request-form", "6001000", today=DAY)
    listed = cli.json("outbox", "list")
    assert [(r["id"], r["kind"], r["status"]) for r in listed] == [
        (1, "request_form", "pending"),
        (2, "request_form", "pending"),
    ]
    assert set(listed[0]) == {
        "id", "kind", "lea", "vendor", "school_year", "to", "cc", "subject", "status", "attempts",
        "created_at", "sent_at", "message_id", "last_error", "next_attempt_at", "recipients",
    }  # fmt: skip
    table = cli("outbox", "list")
    assert table.exit_code == 0 and "request_form" in table.stdout

    sent = cli.json("outbox", "send")
    assert sent["sent"] == 2 and sent["queue"]["pending"] == 0 and sent["transport"] == "file"
    files = sorted(app.settings.outbox_dir.glob("*.eml"))
    assert len(files) == 2
    assert {parse(f.read_bytes())["Message-ID"] for f in files} == {r["message_id"] for r in listed}
    assert cli.json("outbox", "list", "--status", "sent")[0]["sent_at"]
    assert cli.json("outbox", "list", "--status", "pending") == []

    shown = cli("outbox", "show", "1")
    assert shown.exit_code == 0 and "Message 1: request_form, sent after 1 try" in shown.stdout
    assert "LEA code:           2906000" in shown.stdout
    assert "<!DOCTYPE html>" in cli("outbox", "show", "1", "--html").stdout

    refused = cli("outbox", "retry", "1")
    assert refused.exit_code == 1 and "was sent" in refused.stderr
    with app.ledger.write() as s:
        s.scalars(select(Outbox).where(Outbox.id == 2)).one().status = "failed"
    again = cli("outbox", "retry", "2")
    assert again.exit_code == 0 and "queued again" in again.stdout
    assert cli.json("outbox", "send")["sent"] == 1
    assert len(list(app.settings.outbox_dir.glob("*.eml"))) == 2  # the same file, written again


def test_it_prints_an_empty_json_list_when_the_outbox_is_empty(app, cli):
    result = cli("outbox", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
