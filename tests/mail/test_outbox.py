"""The outbox and the messages it builds: headers, Message-ID, Date, .eml files, queuing exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apscn_tracker.ledger.meta import ledger_id
from apscn_tracker.ledger.models import District, Event, Outbox
from apscn_tracker.mail.delivery import backoff
from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.mail.message import (
    HeaderError,
    build_message,
    check_header,
    format_address,
    make_message_id,
    parse_addresses,
)
from apscn_tracker.mail.outbox import enqueue, list_messages, problems, retry
from apscn_tracker.mail.render import Rendered
from apscn_tracker.services.delivery import deliver_pending
from tests.support.mail import (
    ACCENTED,
    COORDINATOR,
    ENABLED,
    NOW,
    SUBJECT_OF,
    TODAY,
    build_scenario,
    mail_settings,
    parse,
    parts,
    queue,
    rows,
)

SIMPLE = Rendered(subject="Hello", text="Body\n", html="<html><body>Body</body></html>\n")


@pytest.fixture
def app(make_app):
    a = make_app(TODAY, **mail_settings())
    build_scenario(a)
    return a


def _eml_files(app) -> list[Path]:
    return sorted(app.settings.outbox_dir.glob("*.eml"))


# -- headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Smith, Pat", '"Smith, Pat" <pat@x.example>'),
        ("José Núñez", "José Núñez <pat@x.example>"),
        ('Pat "PJ" Smith', '"Pat \\"PJ\\" Smith" <pat@x.example>'),
        ("O'Neil", "O'Neil <pat@x.example>"),
        (ACCENTED, '"José \\"Pepe\\" Núñez, Jr." <pat@x.example>'),
    ],
)
def test_it_quotes_display_names_with_commas_accents_and_quotes(name, shown):
    formatted = format_address("pat@x.example", name)
    assert formatted == shown
    (back,) = parse_addresses(formatted)
    assert (back.display_name, back.addr_spec) == (name, "pat@x.example")


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\r\nBcc: x@y.example", "tab\there", "nul\x00", "line\u2028sep", "del\x7f"]
)
def test_it_refuses_a_line_break_or_control_character_in_any_header(value):
    with pytest.raises(HeaderError):
        check_header("Subject", value)
    with pytest.raises(HeaderError):
        format_address("pat@x.example", value)


@pytest.mark.parametrize("email", ["pat@x.example\nBcc: y@z.example", "not an address", "a@b@c", "<a@b.example>", ""])
def test_it_refuses_a_bad_address(email):
    with pytest.raises(HeaderError):
        format_address(email)


def test_it_refuses_to_queue_a_header_with_a_line_break(app):
    with app.ledger.write() as s:
        for bad in (
            {"rendered": Rendered("Hi\nBcc: x@evil.example", "t\n", "<html></html>"), "to": ["a@b.example"]},
            {"rendered": SIMPLE, "to": ["a@b.example\r\nBcc: x@evil.example"]},
            {"rendered": SIMPLE, "to": ["Pat\nBcc: x@evil.example <a@b.example>"]},
            {"rendered": SIMPLE, "to": []},
        ):
            with pytest.raises(HeaderError):
                enqueue(s, key="k", kind="note_kind", cc=[], now=NOW, mail_from="a@coop.example", **bad)
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0


def test_it_cannot_be_made_to_add_a_header_by_a_district_or_contact_name(make_app):
    """Names that slipped into the ledger with line breaks (the services refuse them) still add no header."""
    from apscn_tracker.ledger.models import Contact

    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    with app.ledger.write() as s:
        d = s.scalars(select(District).where(District.lea_code == ENABLED)).one()
        d.name = "Evil\r\nBcc: victim@evil.example"
        for c in s.scalars(select(Contact).where(Contact.district_id == d.id)):
            c.name = "Pat\r\nX-Injected: yes"
    queue(app, "renewal_reminder")
    assert deliver_pending(app, now=NOW) == {"sent": 1, "failed": 0, "retrying": 0}
    (eml,) = _eml_files(app)
    msg = parse(eml.read_bytes())
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "Evil Bcc: victim@evil.example" in msg["Subject"]
    assert "\n" not in str(msg["Subject"])
    assert [a.addr_spec for a in msg["To"].addresses] == ["lee.grant@lrsd.example", "jose@lrsd.example"]
    assert all(a.display_name == "" for a in msg["To"].addresses)
    assert not msg.defects


# -- messages --------------------------------------------------------------------------------------------


def test_it_builds_a_multipart_message_with_a_stable_message_id_and_a_chicago_date(app):
    row = queue(app, "renewal_reminder")
    assert row is not None
    with app.ledger.read() as s:
        ledger = ledger_id(s)
    assert row.message_id == make_message_id("test:renewal_reminder", "tracker@coop.example", ledger)
    assert row.message_id.startswith("<apscn.") and row.message_id.endswith("@coop.example>")
    first = build_message(row, app.settings)
    again = build_message(row, app.settings)
    assert first.as_bytes() == again.as_bytes()  # a resend is the same message, byte for byte
    assert first["Message-ID"] == row.message_id
    assert first["Date"] == "Mon, 02 Nov 2026 08:00:00 -0600"  # 14:00 UTC in America/Chicago (CST)
    assert str(first["From"]) == "APSCN Tracker <tracker@coop.example>"
    assert str(first["Reply-To"]) == f"Casey Coordinator <{COORDINATOR}>"
    assert first["Auto-Submitted"] == "auto-generated"
    text, html = parts(first)
    assert text == row.body_text and html == row.body_html


def test_it_dates_a_summer_message_in_daylight_time(app):
    row = queue(app, "renewal_reminder", now=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert build_message(row, app.settings)["Date"] == "Wed, 01 Jul 2026 07:00:00 -0500"


def test_it_writes_eml_files_that_parse_back_for_every_kind(app):
    for kind in EMAIL_KINDS:
        assert queue(app, kind) is not None, kind
    result = deliver_pending(app, now=NOW)
    assert result == {"sent": len(EMAIL_KINDS), "failed": 0, "retrying": 0}
    files = _eml_files(app)
    assert len(files) == len(EMAIL_KINDS)
    by_id = {r.message_id: r for r in rows(app)}
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        msg = parse(path.read_bytes())
        row = by_id[msg["Message-ID"]]
        assert msg["Subject"] == row.subject
        assert msg["X-APSCN-Kind"] == row.kind and row.kind in path.name
        text, html = parts(msg)
        assert text == row.body_text and html == row.body_html
        assert not msg.defects
    assert app.settings.outbox_dir.stat().st_mode & 0o777 == 0o700


def test_it_keeps_names_with_commas_accents_and_quotes_through_an_eml_file(app):
    queue(app, "send_details_reminder")
    deliver_pending(app, now=NOW)
    (eml,) = _eml_files(app)
    raw = eml.read_bytes()
    assert raw.isascii()  # non-ASCII names travel encoded
    msg = parse(raw)
    names = [(a.display_name, a.addr_spec) for a in msg["To"].addresses]
    assert names == [("Lee Grant", "lee.grant@lrsd.example"), (ACCENTED, "jose@lrsd.example")]


# -- queuing exactly once --------------------------------------------------------------------------------


def test_it_queues_the_same_reminder_twice_as_one_row(app):
    first = queue(app, "renewal_reminder", key="renewal:1:2027:30")
    second = queue(app, "renewal_reminder", key="renewal:1:2027:30")
    assert first is not None and second is None
    assert len(rows(app)) == 1


def test_it_queues_a_key_once_when_two_threads_race(app):
    barrier = threading.Barrier(4)
    results: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with app.ledger.write() as s:
                results.append(
                    enqueue(s, key="race", kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=NOW)
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r is not None for r in results) == 1
    assert len(rows(app)) == 1


def test_it_writes_nothing_for_a_duplicate_key_inside_the_callers_transaction(app):
    from apscn_tracker.ledger import queries as q

    queue(app, "lapsed_notice", key="dup")
    with app.ledger.write() as s:
        q.add_event(s, kind="reminder_queued", actor="tester", note="second try")
        assert enqueue(s, key="dup", kind="lapsed_notice", to=["a@b.example"], rendered=SIMPLE, now=NOW) is None
    with app.ledger.write() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "reminder_queued")) == 1
    assert len(rows(app)) == 1


def test_it_rolls_back_a_message_with_the_event_that_caused_it(app):
    from apscn_tracker.services.messages import queue_message

    with pytest.raises(RuntimeError), app.ledger.write() as s:
        queue_message(s, app, key="rolled-back", kind="coordinator_digest", now=NOW)
        raise RuntimeError("the tick failed after queuing")
    assert rows(app) == []


def test_it_refuses_a_naive_time(app):
    with app.ledger.write() as s, pytest.raises(ValueError):
        enqueue(s, key="naive", kind="x", to=["a@b.example"], rendered=SIMPLE, now=datetime(2026, 11, 2, 14))


def test_it_puts_the_coordinator_once_when_also_in_to(app):
    with app.ledger.write() as s:
        row = enqueue(
            s,
            key="dedupe",
            kind="coordinator_digest",
            to=[COORDINATOR, f"Casey <{COORDINATOR.upper()}>"],
            cc=[COORDINATOR, "other@x.example"],
            rendered=SIMPLE,
            now=NOW,
        )
    assert row.to_addrs == COORDINATOR and row.cc_addrs == "other@x.example"


# -- retries, problems -----------------------------------------------------------------------------------


def test_it_waits_longer_after_each_failure_up_to_six_hours():
    waits = [backoff(n) for n in range(1, 14)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits == sorted(waits)
    assert waits[-1] == timedelta(hours=6) and backoff(1000) == timedelta(hours=6)


def test_it_lists_failed_and_long_waiting_messages_for_the_digest(app):
    stuck = queue(app, "lapsed_notice")
    failed = queue(app, "request_form")
    with app.ledger.write() as s:
        s.get(Outbox, stuck.id).attempts = app.settings.max_attempts
        f = s.get(Outbox, failed.id)
        f.status, f.claimed_at, f.last_error = "failed", NOW, "550 no such user"
    with app.ledger.write() as s:
        found = problems(s, max_attempts=app.settings.max_attempts, now=NOW)
        assert [r["id"] for r in found] == [stuck.id, failed.id]
        assert problems(s, max_attempts=app.settings.max_attempts, now=NOW + timedelta(days=8))[0]["id"] == stuck.id
    from apscn_tracker.services.messages import render_message

    with app.ledger.write() as s:
        digest, _, _ = render_message(s, app, kind="coordinator_digest")
    assert f"#{failed.id} request_form" in digest.text and "550 no such user" in digest.text
    assert f"#{stuck.id} lapsed_notice" in digest.text


def test_it_retries_a_failed_message_and_refuses_a_sent_one(app):
    from apscn_tracker.errors import UserError

    row = queue(app, "lapsed_notice")
    with app.ledger.write() as s:
        s.get(Outbox, row.id).status = "failed"
    with app.ledger.write() as s:
        again = retry(s, id=row.id, now=NOW)
        assert again.status == "pending" and again.next_attempt_at == NOW
    deliver_pending(app, now=NOW)
    with app.ledger.write() as s, pytest.raises(UserError, match="was sent"):
        retry(s, id=row.id, now=NOW)


def test_it_lists_rows_in_the_documented_json_shape(app):
    queue(app, "request_form")
    with app.ledger.write() as s:
        (r,) = list_messages(s)
    assert list(r) == [
        "id",
        "kind",
        "lea",
        "vendor",
        "school_year",
        "to",
        "cc",
        "subject",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "message_id",
        "last_error",
        "next_attempt_at",
        "recipients",
    ]
    assert r["next_attempt_at"] == "2026-11-02T14:00:00+00:00"
    assert {x["state"] for x in r["recipients"]} == {"pending"} and r["recipients"][0]["role"] == "to"
    assert r["lea"] == SUBJECT_OF["request_form"] and r["vendor"] == "Xello" and r["school_year"] == "2026-27"
    assert r["created_at"] == "2026-11-02T14:00:00+00:00" and r["status"] == "pending"


def test_it_rewrites_the_same_file_when_a_message_is_sent_again(app):
    from apscn_tracker.mail.transports import FileTransport

    row = queue(app, "renewal_reminder")
    msg = build_message(row, app.settings)
    with FileTransport(app.settings.outbox_dir) as t:
        t.send(msg)
        t.send(build_message(row, app.settings))
    (eml,) = _eml_files(app)
    assert parse(eml.read_bytes())["Message-ID"] == row.message_id
    assert not list(app.settings.outbox_dir.glob(".*"))  # no temporary file left behind


def test_it_claims_a_stale_sending_row_first_then_due_rows_oldest_first_and_leaves_a_live_claim_alone(app):
    from sqlalchemy import update

    from apscn_tracker.mail.claims import CLAIM_TIMEOUT, claim

    hour = timedelta(hours=1)
    with app.ledger.write() as s:
        for key, at in (("live", NOW - 3 * hour), ("early", NOW - 2 * hour), ("late", NOW - hour)):
            enqueue(s, key=key, kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=at)
        for key in ("stale", "future"):  # due after the pending ones: the stale claim still comes first
            enqueue(s, key=key, kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=NOW)
        s.execute(update(Outbox).where(Outbox.key == "future").values(next_attempt_at=NOW + hour))
        s.execute(
            update(Outbox)
            .where(Outbox.key == "stale")
            .values(
                status="sending", claimed_by="dead", claimed_at=NOW - CLAIM_TIMEOUT - timedelta(seconds=1), attempts=1
            )
        )
        s.execute(
            update(Outbox)
            .where(Outbox.key == "live")
            .values(status="sending", claimed_by="alive", claimed_at=NOW - timedelta(minutes=1), attempts=1)
        )

    taken = []
    while (row := claim(app, worker="me", now=NOW)) is not None:
        taken.append((row.key, row.status, row.claimed_by, row.attempts))
    assert taken == [
        ("stale", "sending", "me", 2),
        ("early", "sending", "me", 1),
        ("late", "sending", "me", 1),
    ]
    left = {r.key: (r.status, r.claimed_by, r.attempts) for r in rows(app)}
    assert left["live"] == ("sending", "alive", 1)
    assert left["future"] == ("pending", None, 0)


def test_a_key_queued_since_the_callers_look_up_is_still_queued_once(app):
    from apscn_tracker.services.messages import queue_message

    first = queue(app, "renewal_reminder", key="renewal:2:2027:30")
    assert first is not None
    district_id, vendor_id = first.district_id, first.vendor_id
    with app.ledger.write() as s:
        again = queue_message(
            s,
            app,
            key="renewal:2:2027:30",
            kind="renewal_reminder",
            district_id=district_id,
            vendor_id=vendor_id,
            school_year=2026,
            now=NOW,
            checked=True,
        )
    assert again is None
    assert len(rows(app)) == 1


def test_it_claims_no_more_rows_than_asked_and_hands_them_out_in_due_order(app):
    from apscn_tracker.mail.claims import claim_batch

    with app.ledger.write() as s:
        for i in range(25):
            at = NOW - timedelta(minutes=25 - i)
            enqueue(s, key=f"due-{i:02d}", kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=at)
    first = claim_batch(app, worker="one", now=NOW, limit=10)
    second = claim_batch(app, worker="two", now=NOW, limit=10)
    third = claim_batch(app, worker="three", now=NOW, limit=10)
    assert [r.key for r in first + second + third] == [f"due-{i:02d}" for i in range(25)]
    assert (len(first), len(second), len(third)) == (10, 10, 5)
    holders = [r.claimed_by for r in rows(app)]
    assert holders == ["one"] * 10 + ["two"] * 10 + ["three"] * 5
    assert claim_batch(app, worker="four", now=NOW, limit=10) == []


def test_it_claims_the_rest_of_a_slow_batch_again_and_drops_a_row_another_sender_took(app):
    from sqlalchemy import update

    from apscn_tracker.mail.claims import claim_batch, renew

    with app.ledger.write() as s:
        for key in ("one", "two", "three"):
            enqueue(s, key=key, kind="renewal_reminder", to=["a@b.example"], rendered=SIMPLE, now=NOW)
    batch = claim_batch(app, worker="me", now=NOW, limit=3)
    with app.ledger.write() as s:  # our claim looked stale to another sender, which took "two"
        s.execute(update(Outbox).where(Outbox.key == "two").values(claimed_by="other"))
    later = NOW + timedelta(minutes=6)
    kept = renew(app, batch, worker="me", now=later)
    assert [r.key for r in kept] == ["one", "three"]
    held = {r.key: (r.claimed_by, r.claimed_at.replace(tzinfo=UTC)) for r in rows(app)}
    assert held == {"one": ("me", later), "two": ("other", NOW), "three": ("me", later)}


def test_a_slow_delivery_run_claims_its_batch_again_before_it_looks_stale(app):
    from freezegun import freeze_time

    for kind in ("renewal_reminder", "lapsed_notice", "request_form"):
        queue(app, kind)
    with freeze_time(NOW + timedelta(minutes=1), auto_tick_seconds=400):  # every reading of the clock: +400 s
        assert deliver_pending(app) == {"sent": 3, "failed": 0, "retrying": 0}
    claimed = [r.claimed_at for r in rows(app)]
    assert claimed == sorted(claimed) and len(set(claimed)) == 3  # each claimed again before its turn came
