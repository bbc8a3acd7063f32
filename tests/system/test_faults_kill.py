"""kill -9 at random points of real `apscn tick` processes, against a slow SMTP server, then restart; many times.

Four days around the June 30 cut (renewal reminders, activation overdue notices, the rollover, lapsed
notices, digests), each day several ticks killed at random (while starting, rolling over, queueing, or with a
message on the wire between the server's receipt and its "250"), then one tick left to finish. After every
kill the ledger passes `db check`. At the end: every reminder a run without faults queues (a reference run on
its own ledger) is queued once and accepted by the server; a message is accepted twice only when a kill
caught it on the wire (the resend carries the same Message-ID, so the receiving side can drop it).

APSCN_FAULT_KILLS sets the number of kills (default 20; CI keeps the default).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.mail.claims import CLAIM_TIMEOUT
from apscn_tracker.services import districts, renewals
from apscn_tracker.services.app import App
from apscn_tracker.services.setup import init
from tests.support.faults import (
    FaultySmtp,
    apscn_argv,
    ledger_check,
    one_error_line,
    outbox_rows,
    record_figures,
    run_apscn,
    seed,
    smtp_env,
    write_config,
)
from tests.support.roster import EARLIER_ROSTER, connect_earlier_roster

KILLS = int(os.environ.get("APSCN_FAULT_KILLS", "20"))
# about five kills a day, so each has messages left to catch on the wire; lapsed notices go out weekly in July
DAYS = [date(2026, 6, 25), date(2026, 6, 29), date(2026, 7, 1)] + [
    date(2026, 7, 8) + timedelta(weeks=w) for w in range(max(1, -(-KILLS // 5) - 3))
]
LATER = CLAIM_TIMEOUT + timedelta(minutes=1)  # each process starts this much later: a dead claim can be retaken


def build(app_on) -> None:
    """29 districts with a contact, connected by API; 15 renewed last year (10 enabled), 5 asked early for the
    coming year and still wait for APSCN."""
    app = app_on(date(2025, 9, 1))
    init(app)
    connect_earlier_roster(app)
    leas = list(EARLIER_ROSTER)
    for lea in leas:
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"], contact_name="Data Lead")
    for i, lea in enumerate(leas[:15]):
        renewals.record_request(app, lea=lea, on=date(2025, 8, 20))
        if i < 10:
            renewals.record_enabled(app, lea=lea, on=date(2025, 9, 1))
    june = app_on(date(2026, 6, 10))
    for lea in leas[15:20]:
        renewals.record_request(june, lea=lea, year="next", on=date(2026, 6, 10))


def reference_keys(tmp_path: Path) -> set[str]:
    """The reminders a run without faults queues, on its own SQLite ledger (file transport)."""
    from apscn_tracker.services.tick import tick

    home = tmp_path / "reference"
    write_config(home)
    settings = load_settings(env={"APSCN_HOME": str(home), "APSCN_ACTOR": "reference"})
    apps: list[App] = []

    def on(day: date) -> App:
        apps.append(App(settings, today=day))
        return apps[-1]

    build(on)
    for day in DAYS:
        tick(on(day))
    keys = {key for _, key, _, _ in outbox_rows(apps[-1])}
    for a in apps:
        a.close()
    return keys


@pytest.mark.slow
def test_ticks_killed_at_random_points_and_restarted_lose_nothing_and_send_nothing_twice(make_app, home, tmp_path):
    rng = random.Random(seed(20260630))
    write_config(home)
    build(make_app)
    expected = reference_keys(tmp_path)
    app = make_app(DAYS[0])
    kills = finished_early = 0
    modes: Counter[str] = Counter()
    in_flight: set[str] = set()  # Message-IDs on the wire when a process was killed
    clock = datetime.now(UTC)
    per_day = [KILLS // len(DAYS) + (1 if i < KILLS % len(DAYS) else 0) for i in range(len(DAYS))]
    t0 = time.monotonic()
    with FaultySmtp(delay=0.03) as server:
        for day, n_kills in zip(DAYS, per_day, strict=True):
            env = smtp_env(server.port, day)
            for _ in range(n_kills):
                clock += LATER
                before = len(server.log)
                proc = subprocess.Popen(
                    apscn_argv(["tick", "--json"], clock), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                mode = rng.choice(["on the wire", "on the wire", "at a random time"])
                if mode == "on the wire":  # the server holds the n-th message: received, not yet answered
                    server.wait_for(before + rng.randint(1, 8), proc=proc)
                else:  # starting up, rolling over, queueing or delivering
                    time.sleep(rng.uniform(0.0, 0.8))
                proc.send_signal(signal.SIGKILL)
                _, err = proc.communicate(timeout=60)
                if proc.returncode == -signal.SIGKILL:
                    kills += 1
                    modes[mode] += 1
                else:
                    finished_early += 1
                    assert proc.returncode == 0 and one_error_line(err.decode()), err.decode()
                in_flight |= {mid for _, _, status, mid in outbox_rows(app) if status == "sending"}
                ledger_check(app)  # consistent after every kill
            clock += LATER
            done = run_apscn(["tick", "--json"], env, at=clock)  # the day's last tick runs to its end
            assert done.returncode == 0 and one_error_line(done.stderr), done.stderr
            assert json.loads(done.stdout)["failed"] == 0
            ledger_check(app)
        for _ in range(3):  # a message left in `sending` by the last kill is retaken after the claim timeout
            if {status for _, _, status, _ in outbox_rows(app)} == {"sent"}:
                break
            clock += LATER
            flush = run_apscn(["outbox", "send"], smtp_env(server.port, DAYS[-1]), at=clock)
            assert flush.returncode == 0, flush.stderr
    elapsed = time.monotonic() - t0

    rows = outbox_rows(app)
    keys = [key for _, key, _, _ in rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == expected, (sorted(expected - set(keys))[:5], sorted(set(keys) - expected)[:5])
    assert {status for _, _, status, _ in rows} == {"sent"}
    accepted = Counter(server.accepted())
    lost = [mid for _, _, _, mid in rows if accepted[mid] == 0]
    twice = {mid: n for mid, n in accepted.items() if n > 1}
    duplicates = [mid for mid in twice if mid not in in_flight]  # accepted twice without a kill to explain it
    strangers = set(accepted) - {mid for _, _, _, mid in rows}
    assert lost == [] and duplicates == [] and strangers == set()
    checks = ledger_check(app)
    assert checks["outbox"]["status"] == "ok" and checks["projection"]["status"] == "ok"
    final = run_apscn(["db", "check"], smtp_env(server.port, DAYS[-1]))
    assert final.returncode == 0, final.stdout
    assert kills >= KILLS * 3 // 4, (kills, finished_early)
    figures = {
        "kills": kills,
        "kill_modes": dict(modes),
        "ticks_finished_before_the_kill": finished_early,
        "messages": len(rows),
        "deliveries_accepted": sum(accepted.values()),
        "resent_after_a_kill_same_message_id": sum(n - 1 for n in twice.values()),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "seconds": round(elapsed, 1),
    }
    record_figures("kill", figures)
