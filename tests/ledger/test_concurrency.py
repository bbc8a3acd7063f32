"""Several coordinators and the daily tick writing to one ledger at the same moment, in real processes.

Each worker process runs a list of `apscn` commands in a row (one process per coordinator saves the interpreter
start-up of each command; every command still opens the ledger as `apscn` does). All processes wait for a
common start time, so their first commands collide. No command may fail with "database is locked" (or any
error it would not give alone), no write may be lost, and a step recorded by two coordinators at once must
be recorded exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from apscn_tracker.ledger.models import Contact, District, Event
from apscn_tracker.services import connections, districts
from apscn_tracker.services.setup import init

TODAY = date(2026, 7, 8)

WORKER = r"""
import contextlib, io, json, sys, time
from apscn_tracker.cli.main import app

commands, start = json.loads(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
results = []
for argv in commands:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args=argv, prog_name="apscn")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # a traceback: report it as such
            import traceback
            err.write("TRACEBACK " + "".join(traceback.format_exception(exc)))
            code = 99
    results.append({"argv": argv, "code": code, "stderr": err.getvalue(), "stdout": out.getvalue(),
                    "seconds": round(time.monotonic() - t0, 3)})
print(json.dumps(results))
"""


def start_workers(plans: list[list[list[str]]], env: dict[str, str], delay: float = 4.0) -> list[subprocess.Popen]:
    start = time.time() + delay  # time for every interpreter to start and import before the first command
    return [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(plan), str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for plan in plans
    ]


def collect(procs: list[subprocess.Popen], timeout: float = 240) -> list[dict]:
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        results.extend(json.loads(out))
    return results


@pytest.fixture
def ledger(make_app, home):
    app = make_app(TODAY)
    init(app)
    connections.connect(app, lea=None, vendor="Xello", method="api", all_districts=True)
    with app.ledger.write() as s:
        leas = list(s.scalars(select(District.lea_code).order_by(District.lea_code)))
    for lea in leas[:3]:
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"])
    app.close()
    (home / "config.toml").write_text(
        'coordinator_email = "coordinator@coop.example"\nmail_from = "APSCN Tracker <tracker@coop.example>"\n'
    )
    return leas


@pytest.mark.slow
def test_coordinators_and_ticks_writing_at_once_lose_nothing_and_never_see_a_locked_ledger(ledger, make_app):
    leas = ledger
    hot = leas[0]  # every coordinator records the same request and the same enable at the same moment
    mine = leas[1:]
    n_workers = 6
    plans: list[list[list[str]]] = [[] for _ in range(n_workers)]
    for w in range(n_workers):
        plans[w] += [["request", hot, "--on", "2026-07-01"], ["enable", hot, "--on", "2026-07-06"]]
    for i, lea in enumerate(mine):
        plans[i % n_workers] += [
            ["request", lea, "--on", "2026-07-01", "--note", f"worker {i % n_workers}"],
            ["district", "edit", lea, "--add-email", f"it.{lea}@{lea}.k12.example"],
            ["enable", lea, "--on", "2026-07-06"],
            ["status", "--lea", lea, "--json"],
            ["confirm", lea, "--on", "2026-07-07"],
        ]
    ticker = [["tick", "--json"] for _ in range(4)]  # the tick queues and delivers while the others write
    env = {**os.environ, "APSCN_TODAY": TODAY.isoformat()}
    t0 = time.monotonic()
    results = collect(start_workers([*plans, ticker], env))
    elapsed = time.monotonic() - t0

    problems = [r for r in results if "locked" in r["stderr"] or "busy" in r["stderr"] or r["code"] not in (0, 1)]
    assert problems == [], problems
    hot_results = Counter((r["argv"][0], r["code"]) for r in results if r["argv"][1:2] == [hot])
    assert hot_results == {("request", 0): 1, ("request", 1): n_workers - 1, ("enable", 0): 1, ("enable", 1): 5}
    refusals = {r["stderr"].split(";")[0] for r in results if r["code"] == 1}
    assert all(("already requested" in m or "already enabled" in m) for m in refusals), refusals
    others = [r for r in results if r["argv"][1:2] != [hot]]
    assert all(r["code"] == 0 and r["stderr"] == "" for r in others), [r for r in others if r["code"]]

    app = make_app(TODAY)
    with app.ledger.read() as s:
        kinds = Counter(
            (lea, kind)
            for lea, kind in s.execute(
                select(District.lea_code, Event.kind)
                .join(District, District.id == Event.district_id)
                .where(Event.kind.in_(("requested", "enabled", "confirmed")))
            )
        )
        emails = set(s.scalars(select(Contact.email)))
    for lea in mine:
        assert kinds[(lea, "requested")] == kinds[(lea, "enabled")] == kinds[(lea, "confirmed")] == 1, lea
        assert f"it.{lea}@{lea}.k12.example" in emails
    assert kinds[(hot, "requested")] == kinds[(hot, "enabled")] == 1 and kinds[(hot, "confirmed")] == 0
    rows = {r["lea"]: r for r in json.loads(_cli(env, "status", "--json").stdout)}
    assert {rows[lea]["status"] for lea in mine} == {"confirmed"} and rows[hot]["status"] == "enabled"
    ticks = [json.loads(r["stdout"]) for r in results if r["argv"][0] == "tick"]
    assert len(ticks) == 4 and all(t["failed"] == 0 for t in ticks)
    check = _cli(env, "db", "check")
    assert check.returncode == 0, check.stdout
    slowest = max(r["seconds"] for r in results)
    print(f"\n{len(results)} commands in {n_workers + 1} processes, {elapsed:.1f} s, slowest command {slowest:.2f} s")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "apscn_tracker", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_twelve_coordinators_enabling_one_district_at_once_record_it_once(ledger, make_app):
    """The race the serialised units of work close: each command read "not enabled yet" before any wrote."""
    lea = ledger[5]
    env = {**os.environ, "APSCN_TODAY": TODAY.isoformat()}
    assert _cli(env, "request", lea, "--on", "2026-07-01").returncode == 0
    results = collect(start_workers([[["enable", lea, "--on", "2026-07-06"]] for _ in range(12)], env, delay=3.0))
    assert sorted(r["code"] for r in results) == [0] + [1] * 11, results
    assert all("already enabled" in r["stderr"] for r in results if r["code"] == 1)
    app = make_app(TODAY)
    with app.ledger.read() as s:
        enabled = s.scalars(
            select(Event.id)
            .join(District, District.id == Event.district_id)
            .where(District.lea_code == lea, Event.kind == "enabled")
        ).all()
    assert len(enabled) == 1


def test_a_unit_of_work_opened_inside_another_is_refused_at_once_not_after_the_busy_timeout(make_app, home):
    app = make_app(TODAY)
    t0 = time.monotonic()
    with app.ledger.write(), pytest.raises(RuntimeError, match="inside another"):  # noqa: SIM117
        with app.ledger.write():
            pass
    with app.ledger.write(), app.ledger.read() as s:  # a read beside a unit of work waits for nothing
        assert s.scalar(select(District.id).limit(1)) is None
    with app.ledger.write():  # and the guard is reset once a unit of work ends
        pass
    assert time.monotonic() - t0 < 5
