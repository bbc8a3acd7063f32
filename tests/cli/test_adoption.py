"""Adopting the tracker in the middle of a school year, as a coordinator does it, through the commands: a new
ledger holds district reminders until the ledger is true, and then only the districts that did not renew hear
from it. The emails are counted on a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import csv
import json

from apscn_tracker.config import load_settings
from apscn_tracker.resources import data_dir
from tests.support.snapshot import snapshot

T = "2026-09-16"  # 2026-27 has begun (a district without a request has no data); a lapsed notice is due
NOT_RENEWED = ["0101000", "0401000", "2906000", "6001000", "6040700", "7207000", "7510000"]
COORDINATOR = "coordinator@coop.example"


def bundled_leas() -> list[str]:
    with (data_dir() / "arkansas-lea-roster.csv").open(encoding="utf-8", newline="") as fh:
        return [r["lea_code"] for r in csv.DictReader(fh)]


def sheet(rows: list[str]) -> str:
    return "lea_code,vendor,school_year,requested_on,enabled_on,confirmed_on,note\n" + "".join(r + "\n" for r in rows)


def renewed_rows() -> list[str]:
    return [
        f"{lea},Xello,2026-27,2026-06-02,2026-06-15,2026-06-17," for lea in bundled_leas() if lea not in NOT_RENEWED
    ]


def test_a_mid_year_adoption_reminds_only_the_districts_that_did_not_renew(cli, home, smtp, tmp_path):
    assert cli("init", today=T).exit_code == 0
    (home / "config.toml").write_text(
        f'coordinator_email = "{COORDINATOR}"\nmail_from = "APSCN Tracker <tracker@coop.example>"\n'
        f'mail_transport = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsmtp_timeout = 5\n',
        encoding="utf-8",
    )
    assert cli.json("reminders", "status", today=T)["held"] is True
    assert cli.json("connect", "--all", today=T)["connected"] == 257
    for lea in NOT_RENEWED[:4]:
        assert cli("district", "edit", lea, "--add-email", f"data@{lea}.k12.example", today=T).exit_code == 0

    # the coordinator's spreadsheet, with the mistakes spreadsheets have: all refused at once, nothing written
    mistakes = renewed_rows()
    mistakes[3] = mistakes[3].replace("2026-06-15", "2026-05-15")  # enabled before it was requested
    mistakes[10] = mistakes[10].replace("2026-06-02", "2026-13-02")  # no such month
    mistakes[20] = "9901000,Xello,2026-27,2026-06-02,,,"  # no such county
    mistakes.append(mistakes[30])  # the same row twice
    mistakes[40] = mistakes[40].replace("2026-06-17", "2026-10-01")  # in the future
    bad = tmp_path / "where-they-stand.csv"
    bad.write_text(sheet(mistakes), encoding="utf-8")
    before = snapshot(load_settings().url)
    refused = cli("import-renewals", str(bad), today=T)
    assert refused.exit_code == 1 and snapshot(load_settings().url) == before
    table = refused.stderr.splitlines()
    assert "where-they-stand.csv: nothing was imported (5 problems)" in table[0]
    rows = {line.split()[0]: line.split()[1] for line in table[2:]}
    assert rows == {"5": "enabled_on", "12": "requested_on", "22": "lea_code", "42": "confirmed_on", "252": "lea_code"}

    fixed = tmp_path / "where-they-stand.csv"
    fixed.write_text(sheet(renewed_rows()), encoding="utf-8")
    assert cli.json("import-renewals", str(fixed), "--dry-run", today=T)["steps"]["confirmed"] == 250
    assert snapshot(load_settings().url) == before
    done = cli.json("import-renewals", str(fixed), today=T)
    assert done["steps"] == {"requested": 250, "enabled": 250, "confirmed": 250}
    again = cli.json("import-renewals", str(fixed), today=T)  # the same file again: nothing new
    assert again["unchanged"] == 250 and again["steps"] == {"requested": 0, "enabled": 0, "confirmed": 0}
    history = cli.json("history", "0104000", today=T)
    assert any(e["kind"] == "confirmed" and "where-they-stand.csv" in e["note"] for e in history)

    counts = {}
    for r in cli.json("status", today=T):
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    assert counts == {"confirmed": 250, "lapsed": 7}

    # held: the tick records its run; only the coordinator's digest goes out, saying how many would have
    held = cli.json("tick", today=T)
    assert held["held"] == 7 and held["sent"] == 1
    assert [r.rcpt_tos for r in smtp.received] == [[COORDINATOR]]
    digest = smtp.received[0].message.get_body(("plain",)).get_content()
    assert "Reminders are held: 7 district emails would have gone out today" in digest

    assert cli.json("reminders", "start", today=T)["held"] is False
    started = cli.json("tick", today=T)
    assert started["queued"]["lapsed_notice"] == 7 and started["sent"] == 7
    notices = smtp.received[1:]
    assert len(notices) == 7
    to_districts = sorted(a for r in notices for a in r.rcpt_tos if a.startswith("data@"))
    assert to_districts == sorted(f"data@{lea}.k12.example" for lea in NOT_RENEWED[:4])
    assert cli.json("tick", today=T)["sent"] == 0  # the same day again: nothing twice


def test_a_ledger_made_with_init_demo_has_its_reminders_running(cli):
    assert cli("init", "--demo", today=T).exit_code == 0
    assert cli.json("reminders", "status", today=T)["held"] is False


def test_pause_until_a_date_holds_reminders_up_to_that_day(cli):
    assert cli("init", "--demo", today=T).exit_code == 0
    assert cli.json("reminders", "pause", "--until", "2026-09-20", today=T)["held"] is True
    assert cli.json("reminders", "status", today="2026-09-20")["held"] is True
    assert cli.json("reminders", "status", today="2026-09-21")["held"] is False
    doctor = json.loads(cli("doctor", "--json", today=T).stdout)  # exit 1: the tick has never run
    (check,) = [c for c in doctor["checks"] if c["name"] == "reminders"]
    assert check["status"] == "warn" and "held until 2026-09-20" in check["message"]
