"""The APScheduler wiring and the process: the jobs on their triggers, the lock, signals, start and stop.

This is the only module that imports APScheduler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from apscn_tracker.config import Settings
from apscn_tracker.ledger.db import open_ledger
from apscn_tracker.ledger.scheduler_lock import make_lock
from apscn_tracker.redact import RedactingFilter
from apscn_tracker.scheduler.jobs import DELIVERY_EVERY_MINUTES, Runner
from apscn_tracker.services.send_hour import check_send_hour

log = logging.getLogger("apscn_tracker.scheduler")

DAILY_TICK = "daily-tick"
DELIVERY = "delivery"
CATCH_UP = "catch-up-tick"


def build_scheduler(runner: Runner, *, now: datetime | None = None) -> BackgroundScheduler:
    tz = runner.tz
    defaults = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
    sched = BackgroundScheduler(
        timezone=tz, executors={"default": ThreadPoolExecutor(max_workers=1)}, job_defaults=defaults
    )
    sched.add_job(
        runner.run_tick,
        CronTrigger(hour=runner.settings.send_hour, minute=0, timezone=tz),
        id=DAILY_TICK,
        name="daily tick",
        replace_existing=True,
        **defaults,
    )
    sched.add_job(
        runner.run_delivery,
        IntervalTrigger(minutes=DELIVERY_EVERY_MINUTES, timezone=tz),
        id=DELIVERY,
        name="delivery retries",
        replace_existing=True,
        **defaults,
    )
    if runner.needs_catch_up(now):
        sched.add_job(
            runner.run_tick,
            DateTrigger(run_date=now or runner.local_now(), timezone=tz),
            id=CATCH_UP,
            name="catch-up tick",
            replace_existing=True,
            **defaults,
        )
    return sched


def run(
    settings: Settings,
    *,
    install_signals: bool = True,
    ready: Callable[[Runner, Any, Callable[[str], None]], None] | None = None,
) -> int:
    """Run until SIGINT/SIGTERM. Raises SchedulerLocked when another scheduler holds the ledger.

    ``ready(runner, scheduler, stop)`` is called once the jobs are added, before the loop starts (for tests and
    embedding: ``stop(reason)`` ends the loop as a signal would)."""
    check_send_hour(settings)
    ledger = open_ledger(settings)  # migrations applied before any job runs
    lock = make_lock(settings, ledger.engine)
    lock.acquire()
    stopper: list[threading.Thread] = []
    unhide = hide_secrets_in_logs(settings)
    try:
        runner = Runner(settings, lock=lock)
        sched = build_scheduler(runner)

        def stop(reason: str) -> None:
            if stopper:
                log.info("%s: already stopping", reason)
                return
            log.info("%s: stopping after the current unit of work", reason)
            # set from a helper thread: a signal handler runs on the main thread, which may hold the event's lock
            t = threading.Thread(target=runner.stop.set, name="scheduler-stop")
            stopper.append(t)
            t.start()

        runner.on_lock_lost = lambda: stop("lock lost")
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda signum, _frame: stop(signal.Signals(signum).name))
        nxt = _next_daily(sched)
        log.info(
            "scheduler started (pid %d): daily tick at %02d:00 %s (next %s), delivery every %d minutes%s",
            os.getpid(),
            settings.send_hour,
            settings.timezone,
            nxt,
            DELIVERY_EVERY_MINUTES,
            ", catch-up tick now" if sched.get_job(CATCH_UP) else "",
        )
        if ready is not None:
            ready(runner, sched, stop)
        started = time.monotonic()
        # the jobs run in the scheduler's threads; this thread waits for a stop, which may have come already (a
        # signal between the log line above and here): then the scheduler does not start at all
        if not runner.stop.is_set():
            sched.start()
        try:
            runner.stop.wait()
        finally:
            with contextlib.suppress(SchedulerNotRunningError):
                sched.shutdown(wait=True)  # after the running job's current unit of work
        for t in stopper:
            t.join()
        log.info("scheduler stopped after %.0f s; ticks run: %d", time.monotonic() - started, runner.ticks)
        return 0
    finally:
        unhide()
        lock.release()
        ledger.dispose()


def hide_secrets_in_logs(settings: Settings) -> Callable[[], None]:
    """Every handler of the root logger writes each line (and traceback) with the database and SMTP passwords
    hidden, whatever logged it (a driver's message, a library's traceback). Returns the undo."""
    hiding = RedactingFilter(url=settings.url, secrets=[settings.smtp_password])
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(hiding)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(hiding)

    return undo


def _next_daily(sched: BackgroundScheduler) -> str:
    job = sched.get_job(DAILY_TICK)
    trigger = job.trigger if job else None
    if trigger is None:
        return "?"
    fire = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    return fire.isoformat(timespec="minutes") if fire else "?"
