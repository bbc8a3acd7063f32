"""A real `apscn outbox send` killed with SIGKILL while a real SMTP server holds a message, then run again at once.

The killed sender leaves its batch in ``sending``. Its worker id names this host and a process that is gone, so
`apscn doctor` lists those rows, `apscn outbox retry` puts one back, and the next `apscn outbox send`, started
right after (no clock moved), takes them back at once and sends the rest: every message reaches the server, and
only the one that was on the wire arrives twice, with the same Message-ID.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.claims import CLAIM_BATCH
from apscn_tracker.services.tick import reminders
from tests.support.crash import TODAY, SlowSmtp, kill_on_the_wire, lapsed_ledger, process_env

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="start times come from /proc")


def apscn(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apscn_tracker", *args], env=env, capture_output=True, text=True, timeout=120
    )


def outbox(make_app) -> list[tuple[int, str, str, str | None]]:
    """(id, status, Message-ID, holder) of every message."""
    app = make_app(TODAY)
    with app.ledger.read() as s:
        rows = s.execute(select(Outbox.id, Outbox.status, Outbox.message_id, Outbox.claimed_by).order_by(Outbox.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def sent_marks(make_app) -> list[int]:
    app = make_app(TODAY)
    with app.ledger.read() as s:
        return [json.loads(d)["outbox_id"] for d in s.scalars(select(Event.data).where(Event.kind == "message_sent"))]


@pytest.mark.slow
def test_a_sender_killed_mid_message_is_followed_at_once_by_one_that_sends_the_rest_once(make_app, home):
    lapsed_ledger(make_app, home)
    app = make_app(TODAY)
    with app.ledger.write() as s:
        candidates = reminders.load_candidates(app, s)
    reminders.queue_reminders(app, candidates)  # 29 lapsed notices, queued, not sent
    app.close()
    total = len(outbox(make_app))
    assert total == 29

    with SlowSmtp(delay=0.5) as server:
        env = process_env(server)
        in_flight, pid = kill_on_the_wire(["outbox", "send"], server)  # the 3rd message: received, not yet acknowledged

        rows = outbox(make_app)
        held = [(i, mid, by) for i, status, mid, by in rows if status == "sending"]
        assert [status for _, status, _, _ in rows].count("sent") == 2 and len(held) == CLAIM_BATCH - 2
        assert in_flight in {mid for _, mid, _ in held}
        assert {by for *_, by in held} == {by for *_, by in held[:1]}  # one sender held them all
        assert (by := held[0][2]) is not None and by.split(":")[1] == str(pid)

        doctor = apscn("doctor", "--json", env=env)
        (check,) = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "interrupted sends"]
        assert check["message"].startswith(f"{len(held)} message(s) left in 'sending' by a sender that stopped")
        assert f"({len(held)} whose process on this host is gone, 0 " in check["message"]

        not_on_the_wire = next(i for i, mid, _ in held if mid != in_flight)
        retried = apscn("outbox", "retry", str(not_on_the_wire), env=env)
        assert retried.returncode == 0, retried.stderr

        server.delay = 0.0
        again = apscn("outbox", "send", "--json", env=env)  # right after: no clock moved
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout)
        assert (result["sent"], result["failed"], result["retrying"]) == (total - 2, 0, 0)
        assert result["queue"]["pending"] == 0

    rows = outbox(make_app)
    assert {status for _, status, _, _ in rows} == {"sent"}
    assert sorted(sent_marks(make_app)) == [i for i, *_ in rows]  # each marked sent exactly once
    assert sorted(set(server.received)) == sorted(mid for _, _, mid, _ in rows)  # every message reached it
    twice = [mid for mid in set(server.received) if server.received.count(mid) > 1]
    assert twice == [in_flight]  # the only duplicate: the one on the wire, recognisable by its Message-ID
