"""Two schedulers for availability: only one acts, and when it dies (kill -9) the next one to start takes over.

On PostgreSQL the lock is an advisory lock held by the scheduler's database session, so schedulers on two
machines (here: two APSCN_HOME folders, nothing shared but the database) exclude each other, and the server
frees the lock the moment the holder's connection dies. On SQLite it is a file lock beside the ledger.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from apscn_tracker.services.setup import init


def _second_refused(env: dict[str, str]) -> str:
    second = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "scheduler", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
    assert "another scheduler is running" in second.stderr
    return second.stderr


def test_when_the_acting_scheduler_is_killed_the_standby_takes_over(make_app, home, tmp_path, schedulers):
    init(make_app())
    env = {**os.environ}
    first = schedulers(env, tmp_path / "first.log")
    first.wait_log("scheduler started")
    _second_refused(env)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL  # no clean shutdown, no unlock: the process is gone
    t0 = time.monotonic()
    standby = schedulers(env, tmp_path / "standby.log")
    standby.wait_log("scheduler started", timeout=30)
    taken_over_in = time.monotonic() - t0
    _second_refused(env)  # and the new one excludes the others in turn
    assert standby.stop(signal.SIGTERM) == 0
    assert taken_over_in < 30


@pytest.mark.postgres_only
def test_schedulers_on_two_machines_sharing_one_postgresql_ledger_exclude_each_other(
    make_app, home, tmp_path, schedulers
):
    init(make_app())
    machine_a = {**os.environ, "APSCN_HOME": str(tmp_path / "machine-a")}
    machine_b = {**os.environ, "APSCN_HOME": str(tmp_path / "machine-b")}
    acting = schedulers(machine_a, tmp_path / "a.log")
    acting.wait_log("scheduler started")
    message = _second_refused(machine_b)
    assert "PostgreSQL" in message
    assert acting.stop(signal.SIGKILL) == -signal.SIGKILL
    standby = schedulers(machine_b, tmp_path / "b.log")
    standby.wait_log("scheduler started", timeout=30)
    assert standby.stop(signal.SIGTERM) == 0
