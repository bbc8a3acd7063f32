"""A misbehaving SMTP server, end to end through real `apscn` processes: 421 (closing), 451 (later), 550 (never),
the connection dropped after a message and before the answer, the connection cut in the middle of a message,
the server down. Every message ends accepted exactly once or refused for good with the coordinator told;
nothing is accepted twice; each run prints at most one error line; the ledger passes `db check` after each.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.services import districts
from apscn_tracker.services.setup import init
from tests.support.faults import (
    COORDINATOR,
    CuttingProxy,
    FaultySmtp,
    free_port,
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

TODAY = date(2026, 7, 8)  # every district lapsed: 29 notices and a digest
LATER = timedelta(hours=7)  # past the longest backoff (6 hours): every message waiting for a retry is due


def lapsed(make_app, home) -> None:
    write_config(home)
    app = make_app(TODAY)
    init(app)
    connect_earlier_roster(app)
    for lea in EARLIER_ROSTER:
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"])
    app.close()


class Fates:
    """Each message's fate, drawn when the server first sees it: refused for good (550), or 0 to 2 failed tries
    (421, 451 or a dropped connection) before a 250."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.plan: dict[str, list[str]] = {}
        self.tries: Counter[str] = Counter()

    def __call__(self, n: int, mid: str) -> str:
        if mid not in self.plan:
            if self.rng.random() < 0.1:
                self.plan[mid] = ["550"]
            else:
                fails = self.rng.choice([0, 0, 1, 1, 2])
                self.plan[mid] = [self.rng.choice(["421", "451", "drop"]) for _ in range(fails)] + ["250"]
        plan = self.plan[mid]
        answer = plan[min(self.tries[mid], len(plan) - 1)]
        self.tries[mid] += 1
        return answer


def test_a_server_answering_421_451_550_or_dropping_the_line_loses_nothing_and_accepts_nothing_twice(make_app, home):
    rng = random.Random(seed(421451550))
    lapsed(make_app, home)
    app = make_app(TODAY)
    fates = Fates(rng)
    clock = datetime.now(UTC)
    runs = 0
    cut_first = {1, 3, 5}  # these connections are cut 200 bytes into a message's DATA
    with (
        FaultySmtp(script=fates) as server,
        CuttingProxy(server.port, lambda n: 200 if n in cut_first else None) as proxy,
    ):
        env = smtp_env(proxy.port, TODAY)
        first = run_apscn(["tick", "--json"], env, at=clock)
        assert first.returncode in (0, 1) and one_error_line(first.stderr), first.stderr
        ledger_check(app)
        while runs < 60:
            states = Counter(status for _, _, status, _ in outbox_rows(app))
            if states["pending"] == 0 and states["sending"] == 0:
                break
            clock += LATER
            runs += 1
            out = run_apscn(["outbox", "send", "--json"], env, at=clock)
            assert out.returncode == 0 and one_error_line(out.stderr), out.stderr
            json.loads(out.stdout)
            ledger_check(app)
        cuts = proxy.cuts
    assert runs < 60, "delivery never finished"

    with app.ledger.read() as s:
        rows = s.execute(select(Outbox.id, Outbox.key, Outbox.status, Outbox.message_id, Outbox.to_addrs)).all()
    accepted = Counter(server.accepted())
    refused_for_good = {mid for mid, plan in fates.plan.items() if plan == ["550"]}
    for oid, key, status, mid, to in rows:
        if mid in refused_for_good:
            assert status == "failed" and accepted[mid] == 0, key
            if COORDINATOR not in to:  # the coordinator hears of it (unless the coordinator was refused)
                assert any(k == f"delivery_failed:{oid}" for _, k, _, _, _ in rows), key
        else:
            assert status == "sent" and accepted[mid] == 1, (key, status, accepted[mid])
    assert max(accepted.values()) == 1  # nothing accepted twice
    assert cuts == len(cut_first)
    answers = Counter(d.answer for d in server.log)
    assert {"421", "451", "550", "drop", "250"} <= set(answers), answers
    check = run_apscn(["db", "check"], env)
    assert check.returncode == 0, check.stdout
    figures = {
        "messages": len(rows),
        "answers": dict(answers),
        "connections_cut_mid_message": cuts,
        "delivery_runs": runs + 1,
        "duplicates": sum(1 for n in accepted.values() if n > 1),
        "lost": sum(1 for _, _, status, mid, _ in rows if status != "sent" and mid not in refused_for_good),
    }
    record_figures("smtp", figures)


def test_with_the_server_down_the_tick_keeps_everything_and_sends_it_once_when_it_is_back(make_app, home):
    lapsed(make_app, home)
    app = make_app(TODAY)
    port = free_port()  # nothing listens there yet
    down = run_apscn(["tick", "--json"], smtp_env(port, TODAY))
    assert down.returncode in (0, 1) and one_error_line(down.stderr), down.stderr
    if down.returncode == 0:
        assert json.loads(down.stdout)["sent"] == 0 and json.loads(down.stdout)["retrying"] == 1
    assert Counter(status for _, _, status, _ in outbox_rows(app)) == {"pending": 30}
    ledger_check(app)
    with FaultySmtp(port=port) as server:
        up = run_apscn(["tick", "--json"], smtp_env(port, TODAY), at=datetime.now(UTC) + LATER)
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["sent"] == 30 and sum(json.loads(up.stdout)["queued"].values()) == 0
    assert sorted(server.accepted()) == sorted(mid for _, _, _, mid in outbox_rows(app))
    ledger_check(app)
