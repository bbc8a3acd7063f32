"""Claims whose sender is provably gone are taken back at once; any other claim waits for the claim timeout.

The senders here are real processes (``tests.support.senders``): each prints the worker id it would claim under
(``owners.worker_id``), then lives on, ends, or is killed and left a zombie.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import update

from apscn_tracker.errors import UserError
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.claims import CLAIM_TIMEOUT, claim_batch
from apscn_tracker.mail.outbox import enqueue, retry
from apscn_tracker.mail.owners import abandoned, gone, parse, process_stamp, this_host, worker_id
from apscn_tracker.mail.render import Rendered
from tests.support.mail import NOW, TODAY, build_scenario, mail_settings, rows
from tests.support.senders import ended_sender, live_sender, wait_for_zombie

SIMPLE = Rendered(subject="Hello", text="Body\n", html="<html><body>Body</body></html>\n")
LINUX = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="start times come from /proc")


@pytest.fixture
def app(make_app):
    a = make_app(TODAY, **mail_settings())
    build_scenario(a)
    return a


def hold(app, holders: dict[str, str], *, ago: timedelta = timedelta(minutes=1)) -> dict[str, int]:
    """One row per key, claimed ``ago`` by its holder; their ids by key."""
    with app.ledger.write() as s:
        for key, holder in holders.items():
            enqueue(s, key=key, kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=NOW)
            s.execute(
                update(Outbox)
                .where(Outbox.key == key)
                .values(status="sending", claimed_by=holder, claimed_at=NOW - ago, attempts=1)
            )
    return {r.key: r.id for r in rows(app)}


def test_a_worker_id_names_this_host_and_process_and_differs_per_sender():
    mine = worker_id()
    holder = parse(mine)
    assert holder is not None and holder.host == this_host() and holder.pid == os.getpid()
    assert worker_id() != mine
    assert not gone(mine)


@LINUX
def test_a_sender_whose_process_ended_is_gone_and_a_live_one_is_not():
    assert gone(ended_sender())
    with live_sender() as (proc, live):
        assert not gone(live)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert gone(live)


@LINUX
def test_a_killed_sender_not_yet_reaped_is_gone():
    with live_sender() as (proc, live):
        proc.send_signal(signal.SIGKILL)
        wait_for_zombie(proc.pid)
        assert gone(live)  # a zombie sends nothing


@LINUX
def test_a_pid_now_held_by_another_process_is_not_the_sender_that_claimed():
    with live_sender() as (_, live):
        host, pid, stamp, nonce = live.rsplit(":", 3)
        rest, ticks = stamp.rsplit(".", 1)
        earlier = f"{host}:{pid}:{rest}.{int(ticks) - 1}:{nonce}"  # the same pid, started a tick earlier
        assert not gone(live) and gone(earlier)


@LINUX
def test_a_process_of_another_user_a_sender_on_another_host_and_an_older_id_count_as_alive():
    host, _, stamp, nonce = worker_id().rsplit(":", 3)
    namespace = stamp.split(".", 1)[0]
    assert not gone(f"{host}:1:{namespace}.{process_stamp(1)}:{nonce}")  # pid 1 (another user's, or root's)
    assert not gone("elsewhere.example:" + ended_sender().split(":", 1)[1])  # only the timeout frees it
    assert not gone(f"{host}:999999999:{nonce}")  # an id of the older form tells no start time
    assert not gone(None) and not gone("unknown")


@LINUX
def test_a_claim_whose_sender_is_gone_is_taken_at_once_and_any_other_waits_for_the_timeout(app):
    dead = ended_sender()
    far = "elsewhere.example:" + dead.split(":", 1)[1]
    with live_sender() as (_, live):
        hold(app, {"dead-1": dead, "dead-2": dead, "live": live, "far": far})
        taken = claim_batch(app, worker="me", now=NOW, limit=10)
        assert sorted(r.key for r in taken) == ["dead-1", "dead-2"]
        assert all(r.claimed_by == "me" and r.attempts == 2 for r in taken)
        assert claim_batch(app, worker="me", now=NOW, limit=10) == []
        later = NOW + CLAIM_TIMEOUT  # every claim of a minute ago is stale now, "me"'s own of NOW too
        assert sorted(r.key for r in claim_batch(app, worker="me", now=later, limit=10)) == [
            "dead-1",
            "dead-2",
            "far",
            "live",
        ]


@LINUX
def test_outbox_retry_puts_back_a_message_whose_sender_is_gone_and_refuses_one_still_at_work(app):
    with live_sender() as (_, live):
        ids = hold(app, {"dead": ended_sender(), "live": live})
        assert abandoned(live, NOW, NOW) is None
        with app.ledger.write() as s:
            back = retry(s, id=ids["dead"], now=NOW)
            assert (back.status, back.claimed_by, back.claimed_at) == ("pending", None, None)
            with pytest.raises(UserError, match="is being sent now"):
                retry(s, id=ids["live"], now=NOW)
        with app.ledger.write() as s:  # a claim past the timeout is free to take back too
            assert retry(s, id=ids["live"], now=NOW + CLAIM_TIMEOUT).status == "pending"
