"""The daily tick on a real ledger: rollover, reminders once on the right day, catch-up, digest, heartbeat."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from apscn_tracker.ledger.models import District, Event, Outbox, Renewal, TickRun
from apscn_tracker.services import connections, districts, renewals
from apscn_tracker.services.setup import init
from apscn_tracker.services.tick import coordinator, reminders, tick

D = date
COORDINATOR = "coordinator@coop.example"


@pytest.fixture
def day_app(make_app, monkeypatch):
    """``day_app(today)``: an App on an initialised ledger with a coordinator; ``.today`` can move on."""
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    made = {}

    def factory(today: date):
        if "app" not in made:
            made["app"] = make_app(today)
            init(made["app"])
        made["app"].today = today
        return made["app"]

    return factory


def api(app, lea: str, *, contact: str | None = "Pat Reyes") -> None:
    if contact:
        districts.edit_district(app, lea=lea, add_emails=[f"{contact.split()[0].lower()}@{lea}.k12.example"])
    connections.connect(app, lea=lea, vendor="Xello", method="api")


def run(app, today: date, **kw) -> dict:
    app.today = today
    with freeze_time(f"{today.isoformat()} 13:00:00"):
        return tick(app, **kw)


def outbox(app) -> list[tuple[str, str | None, str]]:
    """(kind, lea, status) of every message, in queue order."""
    with app.ledger.write() as s:
        rows = s.execute(
            select(Outbox.kind, District.lea_code, Outbox.status)
            .outerjoin(District, District.id == Outbox.district_id)
            .order_by(Outbox.id)
        ).all()
    return [tuple(r) for r in rows]


def count(app, model, *where) -> int:
    with app.ledger.write() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# -- idempotency -------------------------------------------------------------------------------------------------


def test_a_second_tick_the_same_day_queues_and_sends_nothing_new(day_app):
    app = day_app(D(2026, 7, 8))
    api(app, "0101000")
    first = run(app, D(2026, 7, 8))
    assert first["queued"]["lapsed_notice"] == 1 and first["queued"]["coordinator_digest"] == 1
    assert first["sent"] == 2
    again = run(app, D(2026, 7, 8))
    assert sum(again["queued"].values()) == 0 and again["sent"] == 0
    assert outbox(app) == [("lapsed_notice", "0101000", "sent"), ("coordinator_digest", None, "sent")]
    assert count(app, Event, Event.kind == "reminder_queued") == 2
    assert count(app, Event, Event.kind == "message_sent") == 2


def test_a_dry_run_reports_what_the_real_tick_then_queues_and_writes_nothing(day_app, home):
    app = day_app(D(2026, 7, 8))
    api(app, "0101000")
    api(app, "0104000", contact=None)
    before = {m.__name__: count(app, m) for m in (Event, Outbox, Renewal, TickRun)}
    dry = run(app, D(2026, 7, 8), dry_run=True)
    assert {m.__name__: count(app, m) for m in (Event, Outbox, Renewal, TickRun)} == before
    assert not (home / "outbox").exists() or not any((home / "outbox").iterdir())
    assert dry["dry_run"] is True
    assert [(r["kind"], r["lea"], r["milestone"]) for r in dry["would_queue"]] == [
        ("lapsed_notice", "0101000", "2026-07-08"),
        ("lapsed_notice", "0104000", "2026-07-08"),
    ]
    assert dry["would_queue"][1]["to"] == [f"APSCN coordinator <{COORDINATOR}>"]  # no contact: to forward
    real = run(app, D(2026, 7, 8))
    assert real["queued"] == dry["queued"]
    assert real["disconnected"] == dry["disconnected"]


def test_a_dry_run_reads_beside_a_writer_while_a_real_run_waits_for_it(day_app):
    app = day_app(D(2026, 7, 8))
    api(app, "0101000")
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with app.ledger.write() as s:
            s.execute(select(func.count()).select_from(Event))  # the unit of work has begun: it holds the write lock
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=writer)
    holder.start()
    real = threading.Thread(target=tick, args=(app,))
    try:
        assert holding.wait(10)
        t0 = time.monotonic()
        dry = run(app, D(2026, 7, 8), dry_run=True)
        assert time.monotonic() - t0 < 10  # a writer would wait out the 60 s busy timeout, then fail
        assert dry["queued"]["lapsed_notice"] == 1 and dry["queued"]["coordinator_digest"] == 1
        real.start()
        time.sleep(0.5)
        assert real.is_alive()  # the lock is really held: a tick that writes waits for it
    finally:
        release.set()
        holder.join(30)
        if real.ident is not None:
            real.join(60)
    assert not real.is_alive()
    assert [kind for kind, _, _ in outbox(app)] == ["lapsed_notice", "coordinator_digest"]


# -- rollover -----------------------------------------------------------------------------------------------------


def test_on_july_1_every_renewal_of_the_ended_year_is_disconnected_once_with_one_event_each(day_app):
    app = day_app(D(2026, 6, 30))
    for lea in ("0101000", "0104000", "0401000"):
        api(app, lea)
        renewals.record_request(app, lea=lea, year="2025-26", on=D(2025, 6, 2))
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 5, 4))  # next year: untouched
    assert run(app, D(2026, 6, 30))["disconnected"] == 0
    assert run(app, D(2026, 7, 1))["disconnected"] == 3
    assert run(app, D(2026, 7, 1))["disconnected"] == 0
    with app.ledger.write() as s:
        dates = dict(s.execute(select(Renewal.school_year, Renewal.disconnected_on)).all())
        events = s.execute(
            select(Event.effective_on, Event.school_year, Event.actor).where(Event.kind == "disconnected")
        ).all()
    assert dates == {2025: D(2026, 6, 30), 2026: None}
    assert sorted(events) == [(D(2026, 6, 30), 2025, "scheduler")] * 3


def test_a_year_missed_entirely_is_still_rolled_over_with_its_own_june_30(day_app):
    app = day_app(D(2026, 6, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2025-26", on=D(2025, 6, 2))
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))
    assert run(app, D(2027, 8, 3))["disconnected"] == 2
    with app.ledger.write() as s:
        assert dict(s.execute(select(Renewal.school_year, Renewal.disconnected_on)).all()) == {
            2025: D(2026, 6, 30),
            2026: D(2027, 6, 30),
        }


# -- catch-up ----------------------------------------------------------------------------------------------------


def test_a_tick_skipped_for_40_days_sends_one_lapsed_notice_not_four(day_app):
    app = day_app(D(2026, 7, 1))
    api(app, "0101000")
    run(app, D(2026, 7, 1))
    got = run(app, D(2026, 8, 20))  # notices were due July 8, 15, 22, Aug 19
    assert got["queued"]["lapsed_notice"] == 1
    with app.ledger.write() as s:
        keys = list(s.scalars(select(Outbox.key).where(Outbox.kind == "lapsed_notice").order_by(Outbox.id)))
    conn = keys[0].split(":")[1]
    assert keys == [f"lapsed_notice:{conn}:2026:2026-07-01", f"lapsed_notice:{conn}:2026:2026-08-19"]
    assert run(app, D(2026, 9, 15))["queued"]["lapsed_notice"] == 0
    assert run(app, D(2026, 9, 16))["queued"]["lapsed_notice"] == 1


def test_a_tick_on_june_20_after_none_since_april_sends_only_the_14_day_renewal_reminder(day_app):
    app = day_app(D(2026, 4, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2025-26", on=D(2025, 6, 2))
    renewals.record_enabled(app, lea="0101000", year="2025-26", on=D(2025, 6, 12))
    renewals.record_confirmed(app, lea="0101000", year="2025-26", on=D(2025, 6, 13))
    assert sum(run(app, D(2026, 4, 1))["queued"].values()) == 0
    got = run(app, D(2026, 6, 20))
    assert got["queued"]["renewal_reminder"] == 1
    with app.ledger.write() as s:
        keys = list(s.scalars(select(Outbox.key).where(Outbox.kind == "renewal_reminder")))
    assert len(keys) == 1 and keys[0].endswith(":2026:2026-06-16")  # about 2026-27, the 14-day milestone


def test_no_reminder_goes_out_for_a_step_already_recorded(day_app):
    app = day_app(D(2026, 6, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))  # expected June 15
    renewals.record_enabled(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))
    app.today = D(2026, 6, 3)
    renewals.record_confirmed(app, lea="0101000", year="2026-27", on=D(2026, 6, 3))
    for day in (D(2026, 6, 29), D(2026, 7, 1), D(2026, 7, 8), D(2026, 9, 1)):
        assert sum(run(app, day)["queued"].values()) == 0, day
    assert outbox(app) == []


def test_an_advance_request_does_not_silence_this_years_lapsed_notice_before_the_cut(day_app):
    app = day_app(D(2026, 6, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))
    got = run(app, D(2026, 6, 10))  # 2025-26 has no request: lapsed, and still enable-able by June 30
    assert got["queued"]["lapsed_notice"] == 1 and got["queued"]["renewal_reminder"] == 0
    assert run(app, D(2026, 6, 17))["queued"]["lapsed_notice"] == 0  # the cut of 2025-26


def test_recording_the_step_the_day_before_stops_the_next_reminder(day_app):
    app = day_app(D(2026, 6, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))
    assert run(app, D(2026, 6, 16))["queued"]["activation_overdue"] == 1  # expected June 15
    app.today = D(2026, 6, 22)
    renewals.record_enabled(app, lea="0101000", year="2026-27", on=D(2026, 6, 22))
    assert run(app, D(2026, 6, 23))["queued"]["activation_overdue"] == 0  # would have been the 2nd
    assert run(app, D(2026, 6, 24))["queued"]["send_details_reminder"] == 1  # June 22 + 2 working days


# -- digest, contacts ------------------------------------------------------------------------------------------------


def test_the_coordinator_digest_goes_once_a_day_and_only_on_days_with_reminders(day_app):
    app = day_app(D(2026, 7, 1))
    api(app, "0101000")
    assert run(app, D(2026, 7, 1))["queued"]["coordinator_digest"] == 1
    assert run(app, D(2026, 7, 1))["queued"]["coordinator_digest"] == 0
    assert run(app, D(2026, 7, 2))["queued"]["coordinator_digest"] == 0  # nothing due that day
    assert run(app, D(2026, 7, 8))["queued"]["coordinator_digest"] == 1
    with app.ledger.write() as s:
        digests = list(s.scalars(select(Outbox.key).where(Outbox.kind == "coordinator_digest").order_by(Outbox.id)))
    assert digests == ["coordinator_digest:2026-07-01", "coordinator_digest:2026-07-08"]


def test_a_digest_missed_by_a_crash_after_the_reminders_is_sent_by_the_next_run_that_day(day_app, monkeypatch):
    app = day_app(D(2026, 7, 1))
    api(app, "0101000")

    def boom(*a, **kw):
        raise RuntimeError("power cut")

    monkeypatch.setattr(coordinator, "queue_digest", boom)
    with pytest.raises(RuntimeError):
        run(app, D(2026, 7, 1))
    monkeypatch.undo()
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    got = run(app, D(2026, 7, 1))
    assert got["queued"] == {**got["queued"], "lapsed_notice": 0, "coordinator_digest": 1}
    assert got["sent"] == 2


def test_a_district_without_contacts_is_reminded_through_the_coordinator_and_named_in_the_digest(day_app):
    app = day_app(D(2026, 7, 1))
    api(app, "0104000", contact=None)
    run(app, D(2026, 7, 1))
    with app.ledger.write() as s:
        rows = s.execute(select(Outbox.kind, Outbox.to_addrs, Outbox.body_text).order_by(Outbox.id)).all()
    (k1, to1, _), (k2, to2, digest) = rows
    assert (k1, k2) == ("lapsed_notice", "coordinator_digest")
    assert COORDINATOR in to1 and COORDINATOR in to2
    assert "0104000" in digest and "without a contact" in digest


def test_without_any_coordinator_a_contactless_reminder_is_counted_as_not_queued(day_app, monkeypatch):
    monkeypatch.delenv("APSCN_COORDINATOR_EMAIL")
    app = day_app(D(2026, 7, 1))
    assert app.settings.coordinator_email is None
    api(app, "0104000", contact=None)
    got = run(app, D(2026, 7, 1))
    assert got["not_queued"] == 1 and sum(got["queued"].values()) == 0
    assert outbox(app) == []


# -- configuration ------------------------------------------------------------------------------------------------


def test_milestones_and_intervals_come_from_config_toml(day_app, home, make_app):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        'coordinator_email = "coordinator@coop.example"\n'
        "[reminders]\nrenewal_days_before = [45]\nlapsed_every_days = 10\n",
        encoding="utf-8",
    )
    app = day_app(D(2026, 5, 1))
    assert app.settings.reminders.renewal_days_before == (45,)
    api(app, "0101000")
    assert run(app, D(2026, 5, 15))["queued"]["renewal_reminder"] == 0
    assert run(app, D(2026, 5, 16))["queued"]["renewal_reminder"] == 1  # June 30 - 45 days
    assert run(app, D(2026, 7, 1))["queued"]["lapsed_notice"] == 1
    assert run(app, D(2026, 7, 8))["queued"]["lapsed_notice"] == 0
    assert run(app, D(2026, 7, 11))["queued"]["lapsed_notice"] == 1


# -- heartbeat, stop, scale --------------------------------------------------------------------------------------------


def test_each_tick_leaves_a_heartbeat_with_its_counts(day_app):
    app = day_app(D(2026, 7, 1))
    api(app, "0101000")
    result = run(app, D(2026, 7, 1))
    with app.ledger.write() as s:
        (beat,) = s.scalars(select(TickRun)).all()
    assert beat.today == D(2026, 7, 1) and beat.ok and beat.finished_at is not None and beat.error is None
    assert json.loads(beat.counts)["queued"] == result["queued"]


def test_a_failing_tick_records_its_error_in_the_heartbeat(day_app, monkeypatch):
    app = day_app(D(2026, 7, 1))
    monkeypatch.setattr(reminders, "load_candidates", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run(app, D(2026, 7, 1))
    with app.ledger.write() as s:
        (beat,) = s.scalars(select(TickRun)).all()
    assert not beat.ok and beat.finished_at is not None and "ZeroDivisionError" in beat.error


def test_a_stop_request_ends_the_tick_between_batches_and_the_next_run_finishes_the_rest(day_app, monkeypatch):
    monkeypatch.setattr(reminders, "BATCH", 2)
    app = day_app(D(2026, 7, 1))
    leas = ["0101000", "0104000", "0401000", "0505000", "1612000"]
    for lea in leas:
        api(app, lea)
    calls = {"n": 0}

    def stop_after_first_batch() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    first = run(app, D(2026, 7, 1), should_stop=stop_after_first_batch)
    assert first["interrupted"] is True and first["queued"]["lapsed_notice"] == 2 and first["sent"] == 0
    second = run(app, D(2026, 7, 1))
    assert second["interrupted"] is False and second["queued"]["lapsed_notice"] == 3
    assert second["queued"]["coordinator_digest"] == 1 and second["sent"] == 6
    assert sorted(lea for kind, lea, _ in outbox(app) if kind == "lapsed_notice") == leas
    with app.ledger.write() as s:
        beats = [(b.ok, b.error is None) for b in s.scalars(select(TickRun).order_by(TickRun.id))]
    assert beats == [(False, False), (True, True)]


def test_loading_the_snapshots_takes_the_same_number_of_queries_for_five_or_all_districts(day_app):
    app = day_app(D(2026, 7, 1))

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2]) if args[2].lstrip().upper().startswith("SELECT") else None  # noqa: E731
        event.listen(app.ledger.engine, "before_cursor_execute", listener)
        try:
            with app.ledger.write() as s:
                found = reminders.load_candidates(app, s)
        finally:
            event.remove(app.ledger.engine, "before_cursor_execute", listener)
        return len(seen), len(found)

    for lea in ("0101000", "0104000", "0401000", "0505000", "1612000"):
        api(app, lea)
    few = statements()
    connections.connect(app, lea=None, vendor="Xello", method="api", all_districts=True)
    many = statements()
    assert few == (2, 5) and many == (2, 257)  # one snapshot query, one key look-up, whatever the count


# -- the yearly report on July 1 ---------------------------------------------------------------------------------


def test_the_yearly_report_of_the_ended_year_is_written_on_july_1_once(day_app, home):
    app = day_app(D(2026, 6, 1))
    api(app, "0101000")
    renewals.record_request(app, lea="0101000", year="2025-26", on=D(2025, 6, 2))
    renewals.record_request(app, lea="0101000", year="2026-27", on=D(2026, 6, 1))
    assert run(app, D(2026, 6, 30))["report"] is None
    first = run(app, D(2026, 7, 1))
    assert first["report"] is not None and first["report"].endswith("apscn-report-2025-26.html")
    assert (home / "reports" / "apscn-report-2025-26.html").is_file()
    assert first["queued"]["report_ready"] == 1
    assert run(app, D(2026, 7, 2))["queued"]["report_ready"] == 0
    with app.ledger.write() as s:
        (to, text) = s.execute(select(Outbox.to_addrs, Outbox.body_text).where(Outbox.kind == "report_ready")).one()
    assert COORDINATOR in to and "apscn-report-2025-26.html" in text
