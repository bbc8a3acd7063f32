"""`apscn doctor` names the messages left in ``sending``: those whose sender on this host is gone (taken back by
the next delivery at once) and those whose claim timed out; a claim still at work is not listed."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.claims import CLAIM_TIMEOUT
from apscn_tracker.mail.outbox import enqueue
from apscn_tracker.mail.render import Rendered
from apscn_tracker.services.doctor import outbox_checks
from tests.support.mail import NOW, TODAY, build_scenario, mail_settings, rows
from tests.support.senders import ended_sender, live_sender

SIMPLE = Rendered(subject="Hello", text="Body\n", html="<html><body>Body</body></html>\n")
ELSEWHERE = "elsewhere.example:1:.0.1:abcd1234"


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="start times come from /proc")
def test_doctor_lists_the_messages_held_by_a_gone_sender_and_by_a_timed_out_claim(make_app):
    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    dead = ended_sender()
    with live_sender() as (_, live):
        claims = {"dead": (dead, timedelta(minutes=1)), "live": (live, timedelta(minutes=1))}
        claims["old"] = (ELSEWHERE, CLAIM_TIMEOUT)
        with app.ledger.write() as s:
            for key, (holder, ago) in claims.items():
                enqueue(s, key=key, kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=NOW)
                s.execute(
                    update(Outbox)
                    .where(Outbox.key == key)
                    .values(status="sending", claimed_by=holder, claimed_at=NOW - ago, attempts=1)
                )
        (check,) = [c for c in outbox_checks(app, NOW) if c.name == "interrupted sends"]
    ids = {r.key: r.id for r in rows(app)}
    assert check.status == "warn"  # the next delivery takes them back
    assert check.message.startswith(
        "2 message(s) left in 'sending' by a sender that stopped (1 whose process on this host is gone, 1 claimed "
        "over 10 minutes ago)"
    )
    assert check.details == [
        f"#{ids['dead']} held by {dead}: its process is gone",
        f"#{ids['old']} held by {ELSEWHERE}: its claim timed out",
    ]
