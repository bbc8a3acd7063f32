"""The scheduler's clock: the send hour across daylight-saving changes, the local date of a tick, and the
catch-up tick at start (once, and only when today's send hour has passed)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from apscn_tracker.config import ConfigError, load_settings
from apscn_tracker.ledger.models import Outbox, TickRun
from apscn_tracker.scheduler import CATCH_UP, DAILY_TICK, DELIVERY, Runner, build_scheduler
from apscn_tracker.scheduler import run as run_scheduler
from apscn_tracker.services import connections, districts
from apscn_tracker.services.send_hour import check_send_hour, dst_hours
from apscn_tracker.services.setup import init

CHICAGO = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")


def settings(**overrides):
    return load_settings(**overrides)


@pytest.fixture
def ledger(make_app, monkeypatch):
    """A ledger with one API connection that is lapsed from July 1, 2026 (a notice every 7 days)."""
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", "coordinator@coop.example")
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    app = make_app(date(2026, 6, 1))
    init(app)
    districts.edit_district(app, lea="0101000", add_emails=["pat@0101000.k12.example"])
    connections.connect(app, lea="0101000", vendor="Xello", method="api")
    app.close()
    return app


def heartbeats(app) -> list[date]:
    with app.ledger.write() as s:
        return list(s.scalars(select(TickRun.today).where(TickRun.ok.is_(True)).order_by(TickRun.id)))


def outbox_keys(app) -> list[str]:
    with app.ledger.write() as s:
        return list(s.scalars(select(Outbox.key).order_by(Outbox.id)))


# -- the send hour and daylight saving ------------------------------------------------------------------------------


def test_the_daylight_saving_switch_hours_of_chicago_are_1_2_and_3_and_arizona_has_none():
    assert dst_hours(CHICAGO, (2026, 2027)) == {1, 2, 3}
    assert dst_hours(ZoneInfo("America/Phoenix"), (2026,)) == set()


@pytest.mark.parametrize("hour", [1, 2, 3])
def test_a_send_hour_in_the_switch_hours_is_refused_with_a_clear_message(hour):
    with pytest.raises(ConfigError, match=f"send_hour {hour} falls in the daylight-saving switch hours"):
        check_send_hour(settings(send_hour=hour), today=date(2026, 11, 2))


def test_the_default_send_hour_and_any_hour_in_a_zone_without_daylight_saving_are_accepted(monkeypatch):
    check_send_hour(settings(), today=date(2026, 11, 2))
    monkeypatch.setenv("APSCN_TIMEZONE", "America/Phoenix")
    check_send_hour(settings(send_hour=2), today=date(2026, 11, 2))


def test_an_unknown_time_zone_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("APSCN_TIMEZONE", "America/Little_Rock")
    with pytest.raises(ConfigError, match="not a known time zone"):
        check_send_hour(settings())


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # spring forward on Sunday March 8, 2026: 07:00 CST is 13:00 UTC, 07:00 CDT is 12:00 UTC
        (datetime(2026, 3, 6, 12, tzinfo=CHICAGO), ["2026-03-07 13:00", "2026-03-08 12:00", "2026-03-09 12:00"]),
        # fall back on Sunday November 1, 2026
        (datetime(2026, 10, 30, 12, tzinfo=CHICAGO), ["2026-10-31 12:00", "2026-11-01 13:00", "2026-11-02 13:00"]),
    ],
)
def test_the_daily_tick_fires_at_7_local_time_once_a_day_across_a_daylight_saving_change(ledger, start, expected_utc):
    s = settings()
    runner = Runner(s)
    sched = build_scheduler(runner, now=start.replace(hour=5))  # before the send hour: no catch-up job
    assert sched.get_job(CATCH_UP) is None and sched.get_job(DELIVERY) is not None
    trigger = sched.get_job(DAILY_TICK).trigger
    fires, after = [], start
    for _ in range(3):
        after = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        fires.append(after)
    assert [f.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for f in fires] == expected_utc
    assert {(f.hour, f.minute) for f in fires} == {(7, 0)}


def test_ticks_at_the_send_hour_across_the_switch_run_once_for_each_local_day(ledger):
    runner = Runner(settings())
    with freeze_time("2026-10-31 12:00:00"):  # 07:00 CDT, Saturday
        runner.run_tick()
    with freeze_time("2026-11-01 13:00:00"):  # 07:00 CST, the day the clocks go back
        runner.run_tick()
    with freeze_time("2026-11-02 05:30:00"):  # 23:30 CST on Sunday: still November 1 in Arkansas
        assert runner.today() == date(2026, 11, 1)
        runner.run_tick()
    with freeze_time("2026-11-02 13:00:00"):
        runner.run_tick()
    assert heartbeats(ledger) == [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 2)]
    lapsed = [k for k in outbox_keys(ledger) if k.startswith("lapsed_notice:")]
    assert [k.rsplit(":", 1)[1] for k in lapsed] == ["2026-10-14"]  # the same milestone is never queued twice


# -- the catch-up tick at start ------------------------------------------------------------------------------------


def _run_until(stop_when, *, timeout: float = 30.0) -> tuple[Runner, object]:
    """Run the real scheduler loop in a thread until ``stop_when(runner)``; return the runner and scheduler."""
    got: dict = {}
    ready = threading.Event()

    def on_ready(runner, sched, stop):
        got.update(runner=runner, sched=sched, stop=stop, catch_up=sched.get_job(CATCH_UP) is not None)
        ready.set()

    t = threading.Thread(
        target=lambda: got.update(rc=run_scheduler(load_settings(), install_signals=False, ready=on_ready))
    )
    t.start()
    assert ready.wait(timeout)
    deadline = time.monotonic() + timeout
    while not stop_when(got["runner"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    got["stop"]("test")
    t.join(timeout)
    assert not t.is_alive() and got["rc"] == 0
    return got


def test_a_scheduler_started_after_a_missed_send_hour_catches_up_once(ledger, caplog):
    caplog.set_level(logging.INFO, logger="apscn_tracker")
    with freeze_time("2026-07-08 15:00:00", tick=True):  # 10:00 in Chicago: the 07:00 run was missed
        first = _run_until(lambda r: r.ticks >= 1)
        assert first["catch_up"] is True and first["runner"].ticks == 1
        time.sleep(0.3)
        second = _run_until(lambda r: True)  # restarted the same day: today's tick has run
        assert second["catch_up"] is False and second["runner"].ticks == 0
    assert heartbeats(ledger) == [date(2026, 7, 8)]
    keys = outbox_keys(ledger)
    assert [k.split(":")[0] for k in keys] == ["lapsed_notice", "coordinator_digest"]
    assert keys[0].endswith(":2026:2026-07-08")
    assert "tick 2026-07-08: disconnected 0; queued lapsed_notice 1, coordinator_digest 1; sent 2" in caplog.text
    assert "catch-up tick now" in caplog.text


def test_a_stop_that_comes_before_the_loop_starts_still_stops_it(ledger, caplog):
    # a SIGTERM just after "scheduler started" is logged, before the loop runs: the loop must not then run forever
    caplog.set_level(logging.INFO, logger="apscn_tracker")
    got: dict = {}
    t = threading.Thread(
        target=lambda: got.update(
            rc=run_scheduler(load_settings(), install_signals=False, ready=lambda _r, _s, stop: stop("test"))
        ),
        daemon=True,
    )
    t.start()
    t.join(30)
    assert not t.is_alive(), "the scheduler kept running after a stop that came before its loop started"
    assert got["rc"] == 0
    assert "test: stopping after the current unit of work" in caplog.text
    assert "scheduler stopped" in caplog.text


def test_a_scheduler_started_before_the_send_hour_waits_for_it(ledger):
    runner = Runner(settings())
    with freeze_time("2026-07-08 10:00:00"):  # 05:00 in Chicago
        sched = build_scheduler(runner)
        assert sched.get_job(CATCH_UP) is None
        nxt = sched.get_job(DAILY_TICK).trigger.get_next_fire_time(None, datetime.now(CHICAGO))
    assert nxt == datetime(2026, 7, 8, 7, tzinfo=CHICAGO)


def test_the_smtp_password_never_reaches_the_logs(ledger, caplog, monkeypatch):
    monkeypatch.setenv("APSCN_MAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("APSCN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("APSCN_SMTP_PORT", "9")  # discard: nothing listens, the connection is refused
    monkeypatch.setenv("APSCN_SMTP_USER", "tracker")
    monkeypatch.setenv("APSCN_SMTP_PASSWORD", "s3cret-Pa55word")
    caplog.set_level(logging.DEBUG)
    runner = Runner(load_settings())
    with freeze_time("2026-07-08 12:00:00"):
        runner.run_tick()
        runner.run_delivery()
    assert "tick 2026-07-08" in caplog.text
    assert "s3cret-Pa55word" not in caplog.text
    assert "s3cret-Pa55word" not in repr(runner.settings)


def test_a_delivery_job_that_cannot_run_logs_one_clear_line_not_a_traceback(ledger, caplog, monkeypatch):
    monkeypatch.setenv("APSCN_MAIL_FROM", "not an address")
    caplog.set_level(logging.INFO, logger="apscn_tracker")
    runner = Runner(load_settings())
    with freeze_time("2026-07-08 12:00:00"):
        runner.run_tick()
        assert runner.run_delivery() is None
    assert "delivery did not run: mail_from must be one address" in caplog.text  # the tick's own line
    assert "delivery failed; trying again in 5 minutes: mail_from must be one address" in caplog.text
    assert "Traceback" not in caplog.text
