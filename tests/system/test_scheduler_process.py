"""`apscn scheduler run` as a real process: one per ledger, and a clean stop on SIGTERM or SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from apscn_tracker.ledger.models import Outbox, TickRun
from apscn_tracker.services.setup import init
from tests.support.crash import TODAY, SlowSmtp, lapsed_ledger, process_env


def test_a_second_scheduler_on_the_same_ledger_refuses_to_start_and_names_the_first(
    make_app, home, tmp_path, schedulers
):
    import os

    init(make_app())
    env = {**os.environ}
    first = schedulers(env, tmp_path / "first.log")
    first.wait_log("scheduler started")
    second = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "scheduler", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    assert "another scheduler is running" in second.stderr
    if "APSCN_DATABASE_URL" not in env:
        assert f"(pid {first.proc.pid})" in second.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    checks = {c["name"]: c["message"] for c in json.loads(doctor.stdout)["checks"]}
    if "APSCN_DATABASE_URL" not in env:
        assert checks["scheduler"] == f"a scheduler is running (pid {first.proc.pid})"

    assert first.stop(signal.SIGINT) == 0
    assert "SIGINT: stopping after the current unit of work" in first.text()
    assert "scheduler stopped" in first.text()
    # the lock went with it: a new scheduler starts
    third = schedulers(env, tmp_path / "third.log")
    third.wait_log("scheduler started")
    assert third.stop() == 0


@pytest.mark.slow
def test_sigterm_during_delivery_stops_after_the_current_batch_and_the_next_tick_sends_the_rest(
    make_app, home, tmp_path, schedulers
):
    lapsed_ledger(make_app, home, send_hour=0)  # hour 0: every start is after the send hour, so it catches up
    with SlowSmtp(delay=0.3) as server:
        env = process_env(server)
        sched = schedulers(env, tmp_path / "scheduler.log")
        server.wait_for(2)
        assert sched.stop(signal.SIGTERM) == 0
        log = sched.text()
        assert "SIGTERM: stopping after the current unit of work" in log
        assert "scheduler stopped" in log and "Traceback" not in log

        app = make_app(TODAY)
        with app.ledger.write() as s:
            by_status = dict(s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
            beat = s.execute(select(TickRun.ok, TickRun.error)).one()
        sent = by_status.get("sent", 0)
        assert "sending" not in by_status  # the message on the wire was finished, not abandoned
        assert sent == len(server.received) < 30
        assert by_status.get("pending", 0) == 30 - sent
        assert beat == (False, "stopped before the end; the next run catches up")

        server.delay = 0.0
        rest = subprocess.run(
            [sys.executable, "-m", "apscn_tracker", "tick", "--json"], env=env, capture_output=True, text=True
        )
        assert rest.returncode == 0, rest.stderr
        assert json.loads(rest.stdout)["sent"] == 30 - sent
    assert len(server.received) == len(set(server.received)) == 30
