"""`apscn tick` on the command line: the JSON contract, the dry run, the exit codes."""

from __future__ import annotations

import json

from freezegun import freeze_time

from apscn_tracker.config import load_settings

DAY = "2026-07-08"
CONTRACT = {"today", "disconnected", "queued", "sent", "failed"}
KINDS = {
    "renewal_reminder",
    "lapsed_notice",
    "activation_overdue",
    "send_details_reminder",
    "coordinator_digest",
    "report_ready",
}


def lapsed(cli) -> None:
    assert cli("init", today=DAY).exit_code == 0
    assert cli("reminders", "start", today=DAY).exit_code == 0  # a new ledger holds them
    cfg = load_settings().config_file  # a coordinator, for the digest
    cfg.write_text('coordinator_email = "coordinator@coop.example"\n' + cfg.read_text(encoding="utf-8"))
    assert cli("district", "edit", "0101000", "--add-email", "pat@0101000.k12.example").exit_code == 0
    assert cli("connect", "0101000", today=DAY).exit_code == 0


def test_tick_json_holds_the_contract_fields_and_a_count_for_every_kind(cli):
    lapsed(cli)
    with freeze_time(f"{DAY} 12:00:00"):
        data = cli.json("tick", "--today", DAY)
    assert CONTRACT <= set(data)
    assert data["today"] == DAY and data["disconnected"] == 0
    assert set(data["queued"]) == KINDS
    assert data["queued"]["lapsed_notice"] == 1 and data["queued"]["coordinator_digest"] == 1
    assert (data["sent"], data["failed"]) == (2, 0)


def test_the_dry_run_lists_what_would_go_and_to_whom_and_writes_nothing(cli):
    lapsed(cli)
    with freeze_time(f"{DAY} 12:00:00"):
        data = cli.json("tick", "--dry-run", today=DAY)
        text = cli("tick", "--dry-run", today=DAY).stdout
        assert cli.json("outbox", "list") == []
    assert data["dry_run"] is True and data["sent"] == 0
    (row,) = data["would_queue"]
    assert (row["kind"], row["lea"], row["milestone"], row["to"]) == (
        "lapsed_notice",
        "0101000",
        DAY,
        ["pat@0101000.k12.example"],
    )
    assert text.splitlines()[0] == f"{DAY}: disconnected 0; would queue lapsed_notice 1, coordinator_digest 1"
    assert "lapsed_notice 0101000 Xello 2026-27 (due 2026-07-08) to pat@0101000.k12.example" in text


def test_the_human_summary_is_one_line(cli):
    lapsed(cli)
    with freeze_time(f"{DAY} 12:00:00"):
        result = cli("tick", today=DAY)
        again = cli("tick", today=DAY)
    assert result.exit_code == 0
    assert result.stdout == f"{DAY}: disconnected 0; queued lapsed_notice 1, coordinator_digest 1; sent 2, failed 0\n"
    assert again.stdout == f"{DAY}: disconnected 0; queued nothing; sent 0, failed 0\n"


def test_a_delivery_that_cannot_run_exits_1_and_leaves_the_messages_queued(cli, monkeypatch):
    lapsed(cli)
    monkeypatch.setenv("APSCN_MAIL_FROM", "not an address")
    with freeze_time(f"{DAY} 12:00:00"):
        result = cli("tick", "--json", today=DAY)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["queued"]["lapsed_notice"] == 1
    assert result.stderr.startswith("error: delivery: mail_from must be one address")
    assert result.stderr.count("\n") == 1
    monkeypatch.delenv("APSCN_MAIL_FROM")
    assert {r["status"] for r in cli.json("outbox", "list")} == {"pending"}


def test_a_bad_today_is_one_line_on_stderr(cli):
    cli("init")
    result = cli("tick", "--today", "2026-13-01")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "--today" in result.stderr
