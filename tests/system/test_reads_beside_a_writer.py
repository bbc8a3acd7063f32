"""Reads never wait for writes: while another process holds the ledger's write lock, every read-only command
runs to the end at once, as a real ``apscn`` process.

The writer is a separate process. On SQLite it opens the ledger file and holds ``BEGIN IMMEDIATE`` with a
write in it; on PostgreSQL it holds the advisory write lock of ``ledger.db`` in an open transaction. The
commands run with a busy timeout (``APSCN_BUSY_TIMEOUT_MS``) far longer than a read takes, even on a loaded
machine: one that took the write lock would wait that long and then fail with "the ledger is busy", which the
control case checks (with a short timeout, as do the cases still expected to wait).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import WRITE_LOCK_KEY

T = "2026-09-14"  # a Monday in the 2026-27 school year
BUSY_MS = 15_000  # the busy timeout the read-only commands run with
SHORT_MS = 2_000  # the one of the control case, a writing command expected to wait
LEA = "6001000"

SQLITE_WRITER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE alembic_version SET version_num = version_num")
print("holding", flush=True)
sys.stdin.read()
con.execute("ROLLBACK")
"""

POSTGRES_WRITER = """
import sys, psycopg
con = psycopg.connect(sys.argv[1])
con.execute("SELECT pg_advisory_xact_lock(%s)", (int(sys.argv[2]),))
con.execute("UPDATE alembic_version SET version_num = version_num")
print("holding", flush=True)
sys.stdin.read()
con.rollback()
"""


def _case(*args: str, sqlite_only: bool = False):
    return pytest.param(args, id=" ".join(args), marks=[pytest.mark.sqlite_only] if sqlite_only else [])


READ_ONLY = [
    _case("status"),
    _case("status", "--json"),
    _case("status", "--year", "all", "--json"),
    _case("history", LEA),
    _case("history", LEA, "--json"),
    _case("district", "list"),
    _case("district", "show", LEA, "--json"),
    _case("vendor", "list", "--json"),
    _case("outbox", "list"),
    _case("outbox", "list", "--json"),
    _case("outbox", "show", "1"),
    _case("preview", "renewal_reminder", LEA),
    _case("preview", "coordinator_digest"),
    _case("preview", "delivery_failed"),
    _case("preview", "report_ready"),
    _case("tick", "--dry-run"),
    _case("report", "-o", "{tmp}/report.html"),
    _case("report", "-f", "json"),
    _case("calendar", "-o", "{tmp}/deadlines.ics"),
    _case("calendar"),
    _case("doctor", "--json"),
    _case("db", "check", "--json"),
    _case("db", "backup", "{tmp}/backup.db", "--json", sqlite_only=True),  # PostgreSQL: pg_dump's job
]

CHECKS = ("doctor", "db")  # exit code 1 means "something needs attention", not a failure to run


@pytest.fixture
def ledger(cli, home: Path) -> Path:
    """A ledger with a connection, a recorded step and one queued message (number 1)."""
    for args in (
        ("init",),
        ("district", "edit", LEA, "--add-email", "it@district.example"),
        ("connect", LEA),
        ("request", LEA),
        ("request-form", LEA),
    ):
        result = cli(*args, today=T)
        assert result.exit_code == 0, result.output + (result.stderr or "")
    return home


@pytest.fixture
def writer(ledger: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the ledger's write lock until the test ends."""
    url = load_settings().url
    if url.startswith("sqlite"):
        argv = [sys.executable, "-c", SQLITE_WRITER, url.split("///", 1)[1]]
    else:
        argv = [sys.executable, "-c", POSTGRES_WRITER, url.replace("+psycopg", ""), str(WRITE_LOCK_KEY)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding", proc.stderr
    try:
        yield proc
    finally:
        proc.communicate(timeout=30)  # closes its stdin: it rolls back and exits
    assert proc.returncode == 0, proc.stderr


def apscn(*args: str, busy_ms: int) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``apscn ARGS`` as its own process with that busy timeout; return it and its wall time."""
    env = {**os.environ, "APSCN_BUSY_TIMEOUT_MS": str(busy_ms), "APSCN_TODAY": T}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", *args], env=env, capture_output=True, text=True, timeout=120
    )
    return done, time.monotonic() - started


def test_a_writing_command_waits_for_the_writer_and_gives_up_after_the_busy_timeout(writer):
    done, took = apscn("vendor", "add", "Naviance", busy_ms=SHORT_MS)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: the ledger is busy"), done.stderr
    assert took >= SHORT_MS / 1000


@pytest.mark.parametrize("args", READ_ONLY)
def test_a_read_only_command_runs_at_once_beside_a_writer(writer, tmp_path, args):
    busy_ms = BUSY_MS
    done, took = apscn(*(a.format(tmp=tmp_path) for a in args), busy_ms=busy_ms)
    ran = done.returncode == 0 or (args[0] in CHECKS and done.returncode == 1 and json.loads(done.stdout)["checks"])
    assert ran and "busy" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert took < busy_ms / 1000, f"took {took:.1f} s: it waited for the writer"
    for arg in args:
        if arg.startswith("{tmp}"):
            assert Path(arg.format(tmp=tmp_path)).stat().st_size > 0
