"""A real `apscn tick` process killed during delivery, then run again: no duplicate, nothing lost.

The SMTP server is a real one (aiosmtpd on 127.0.0.1) that takes its time to accept each message, so the test
can kill the tick while a message is on the wire: received by the server, not yet acknowledged, not yet
marked sent. The restart comes more than ten minutes later (the claim timeout of a message left in
``sending`` by a dead process) and resends that one message with the same Message-ID.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from apscn_tracker.ledger.models import Event, Outbox, TickRun
from apscn_tracker.mail.claims import CLAIM_BATCH, CLAIM_TIMEOUT
from tests.support.crash import TODAY, SlowSmtp, kill_on_the_wire, lapsed_ledger, process_env

RESTART_LATER = """
import sys
from datetime import datetime
from freezegun import freeze_time
from apscn_tracker.cli.main import run
sys.argv = ["apscn", *sys.argv[1:]]
with freeze_time(datetime.fromisoformat({at!r}), tick=True):
    run()
"""


def run_later(args: list[str], *, at: datetime, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``apscn ARGS`` in a new process whose clock reads ``at`` (and runs on from there)."""
    code = RESTART_LATER.format(at=at.isoformat())
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


def ledger_rows(make_app):
    app = make_app(TODAY)
    with app.ledger.write() as s:
        outbox = s.execute(select(Outbox.id, Outbox.key, Outbox.status, Outbox.message_id)).all()
        sent_events = s.execute(select(Event.data).where(Event.kind == "message_sent")).scalars().all()
        queued_events = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "reminder_queued"))
        beats = s.execute(select(TickRun.ok, TickRun.finished_at).order_by(TickRun.id)).all()
    return outbox, [json.loads(d)["outbox_id"] for d in sent_events], queued_events, beats


@pytest.mark.slow
def test_a_tick_killed_during_delivery_and_run_again_sends_every_message_once_and_loses_none(make_app, home):
    lapsed_ledger(make_app, home)
    with SlowSmtp(delay=0.5) as server:
        env = process_env(server)
        in_flight, _ = kill_on_the_wire(["tick", "--json"], server)  # the 3rd message: received, not yet acknowledged

        outbox, sent_ids, queued, beats = ledger_rows(make_app)
        statuses = sorted(status for _, _, status, _ in outbox)
        assert len(outbox) == 30 and queued == 30  # 29 lapsed notices + the digest, each with its event
        # the sender claims CLAIM_BATCH rows at once: two sent, the third in flight, the rest of the batch untried
        assert statuses.count("sent") == 2 and statuses.count("sending") == CLAIM_BATCH - 2
        assert statuses.count("pending") == 30 - CLAIM_BATCH
        assert beats == [(False, None)]  # the killed tick never finished
        assert in_flight in {mid for _, _, status, mid in outbox if status == "sending"}

        server.delay = 0.0
        later = datetime.now(UTC) + CLAIM_TIMEOUT + timedelta(minutes=1)
        again = run_later(["tick", "--json"], at=later, env=env)
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout)
        assert sum(result["queued"].values()) == 0  # nothing queued twice
        assert result["sent"] == 28 and result["failed"] == 0

    outbox, sent_ids, queued, beats = ledger_rows(make_app)
    assert {status for _, _, status, _ in outbox} == {"sent"}
    assert sorted(sent_ids) == sorted(i for i, _, _, _ in outbox)  # each row marked sent exactly once
    assert len({key for _, key, _, _ in outbox}) == 30 and queued == 30
    ids = [mid for _, _, _, mid in outbox]
    assert sorted(set(server.received)) == sorted(ids)  # every message reached the server
    resent = [mid for mid in set(server.received) if server.received.count(mid) > 1]
    assert resent == [in_flight]  # the only duplicate: the one in flight, recognisable by its Message-ID
    assert [ok for ok, _ in beats] == [False, True]
