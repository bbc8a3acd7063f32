"""`apscn doctor`: fail (exit code 1, for cron and monitoring) for what stops the reminders, warn (listed, exit 0)
for the rest."""

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
    kept = cfg.read_text(encoding="utf-8").replace("apscn-tracker@coop.example", "apscn-tracker@coop.k12.ar.us")
    cfg.write_text('coordinator_email = "coordinator@coop.k12.ar.us"\n' + kept)
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


def test_a_tick_older_than_26_hours_fails(healthy):
    with freeze_time("2026-07-09 13:59:00"):
        code, found = checks(healthy)
    assert code == 0
    with freeze_time("2026-07-09 14:01:00"):
        code, found = checks(healthy)
    assert code == 1
    assert found["tick"]["status"] == "fail" and "more than 26 hours" in found["tick"]["message"]


def test_a_ledger_where_the_tick_never_ran_fails(cli):
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


def test_failed_messages_warn_and_long_pending_ones_fail(healthy, make_app):
    app = make_app(DAY)
    with app.ledger.write() as s:
        s.execute(update(Outbox).where(Outbox.kind == "lapsed_notice").values(status="failed", last_error="550 no"))
        s.execute(update(Outbox).where(Outbox.kind == "coordinator_digest").values(status="pending"))
    with freeze_time(f"{DAY} 12:20:00"):
        code, found = checks(healthy)
    assert code == 0 and "pending messages" not in found, found  # due 20 minutes ago: delivery may be on its way
    assert found["failed messages"]["status"] == "warn"
    assert "550 no" in found["failed messages"]["details"][0]
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
    assert code == 1 and found["pending messages"]["status"] == "fail"


def test_districts_without_contacts_are_listed_as_a_warning(healthy):
    healthy("connect", "0104000", today=DAY)
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
        text = healthy("doctor").stdout
    assert code == 0
    assert found["contacts"]["status"] == "warn"
    assert found["contacts"]["details"] == ["0104000 STUTTGART SCHOOL DISTRICT"]
    assert text.rstrip().endswith("1 warning(s) to look at (warn above)")


@pytest.mark.parametrize(
    ("line", "check", "level", "needle"),
    [
        ("send_hour = 2", "send hour", "fail", "daylight-saving switch hours"),
        ('coordinator_email = ""', "configuration", "warn", "coordinator_email is not set"),
        ('mail_from = "not an address"', "mail setup", "fail", "mail_from must be one address"),
        ('mail_from = "Tracker <t@coop.example>"', "configuration", "warn", "is a placeholder address"),
        ('templates_dir = "/nowhere/at/all"', "mail setup", "fail", "templates_dir /nowhere/at/all does not exist"),
    ],
)
def test_configuration_problems_fail_or_warn(healthy, home, line, check, level, needle):
    cfg = home / "config.toml"
    key = line.split(" = ")[0]
    kept = [x for x in cfg.read_text(encoding="utf-8").splitlines() if not x.startswith(f"{key} ")]
    cfg.write_text("\n".join([line, *kept]) + "\n", encoding="utf-8")
    with freeze_time(f"{DAY} 13:00:00"):
        code, found = checks(healthy)
    assert code == (1 if level == "fail" else 0)
    found_check = found[check]
    assert found_check["status"] == level
    assert any(needle in d for d in found_check["details"]) or needle in found_check["message"], found_check


def test_a_configuration_that_cannot_be_read_is_reported_not_a_crash(healthy, home):
    (home / "config.toml").write_text("send_hour = [\n", encoding="utf-8")
    result = healthy("doctor")
    assert result.exit_code == 1
    assert "FAIL configuration:" in result.stdout and "not valid TOML" in result.stdout
    assert "Traceback" not in result.output
