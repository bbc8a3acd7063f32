"""`apscn doctor`: what needs attention, and exit code 1 when anything does (for cron and monitoring)."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time
from sqlalchemy import update

from apscn_tracker.ledger.models import Outbox, TickRun

DAY = "2026-07-08"


def checks(cli) -> tuple[int, dict[str, dict]]:
    result = cli("doctor", "--json")
    data = json.loads(result.stdout)
    assert data["ok"] is (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in data["checks"]}


@pytest.fixture
def healthy(cli, home):
    """A ledger where every connected district has a contact, a coordinator is configured, and the tick ran at
    07:00 on July 8."""
    assert cli("init", today=DAY).exit_code == 0
    assert cli("reminders", "start", today=DAY).exit_code == 0  # a new ledger holds them
    cfg = home / "config.toml"
    cfg.write_text('coordinator_email = "coordinator@coop.example"\n' + cfg.read_text(encoding="utf-8"))
    assert cli("district", "edit", "0101000", "--add-email", "pat@0101000.k12.example").exit_code == 0
    assert cli("connect", "0101000", today=DAY).exit_code == 0
    with freeze_time(f"{DAY} 12:00:00"):
        assert cli("tick", today=DAY).exit_code == 0
    return cli


def test_a_healthy_ledger_an_hour_after_the_tick_is_all_good_and_exits_0(healthy):
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
        text = healthy("doctor").stdout
    assert code == 0, found
    assert found["tick"]["status"] == "ok" and "last tick 1 hours ago for 2026-07-08" in found["tick"]["message"]
    assert found["outbox"]["message"] == "0 pending, 0 sending, 2 sent, 0 failed"
    assert text.rstrip().endswith("all good")


def test_a_tick_older_than_26_hours_needs_attention(healthy):
    with freeze_time("2026-07-09 13:59:00"):
        code, found = checks(healthy)
    assert code == 0
    with freeze_time("2026-07-09 14:01:00"):
        code, found = checks(healthy)
    assert code == 1
    assert found["tick"]["status"] == "attention" and "more than 26 hours" in found["tick"]["message"]


def test_a_ledger_where_the_tick_never_ran_needs_attention(cli):
    cli("init", today=DAY)
    code, found = checks(cli)
    assert code == 1 and "never run" in found["tick"]["message"]


def test_a_tick_that_started_and_never_finished_is_reported(healthy, make_app):
    app = make_app(DAY)
    with app.ledger.write() as s:
        s.execute(update(TickRun).values(finished_at=None, ok=False))
    with freeze_time(f"{DAY} 14:00:00"):
        code, found = checks(healthy)
    assert code == 1 and "never finished" in found["tick"]["message"]


def test_failed_and_long_pending_messages_need_attention(healthy, make_app):
    app = make_app(DAY)
    with app.ledger.write() as s:
        s.execute(update(Outbox).where(Outbox.kind == "lapsed_notice").values(status="failed", last_error="550 no"))
        s.execute(update(Outbox).where(Outbox.kind == "coordinator_digest").values(status="pending"))
    with freeze_time(f"{DAY} 12:20:00"):
        code, found = checks(healthy)
    assert code == 1 and "pending messages" not in found  # due 20 minutes ago: delivery may be on its way
    assert found["failed messages"]["status"] == "attention"
    assert "550 no" in found["failed messages"]["details"][0]
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
    assert found["pending messages"]["status"] == "attention"


def test_districts_without_contacts_are_listed(healthy):
    healthy("connect", "0104000", today=DAY)
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
    assert code == 1
    assert found["contacts"]["details"] == ["0104000 STUTTGART SCHOOL DISTRICT"]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("send_hour = 2", "daylight-saving switch hours"),
        ('coordinator_email = ""', "coordinator_email is not set"),
        ('mail_from = "not an address"', "mail_from must be one address"),
        ('templates_dir = "/nowhere/at/all"', "templates_dir /nowhere/at/all does not exist"),
    ],
)
def test_configuration_problems_need_attention(healthy, home, line, needle):
    cfg = home / "config.toml"
    key = line.split(" = ")[0]
    kept = [x for x in cfg.read_text(encoding="utf-8").splitlines() if not x.startswith(f"{key} ")]
    cfg.write_text("\n".join([line, *kept]) + "\n", encoding="utf-8")
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
    assert code == 1
    assert found["configuration"]["status"] == "attention"
    assert any(needle in d for d in found["configuration"]["details"]), found["configuration"]


def test_a_configuration_that_cannot_be_read_is_reported_not_a_crash(healthy, home):
    (home / "config.toml").write_text("send_hour = [\n", encoding="utf-8")
    result = healthy("doctor")
    assert result.exit_code == 1
    assert "!! configuration:" in result.stdout and "not valid TOML" in result.stdout
    assert "Traceback" not in result.output
