"""The scheduler's jobs: the daily tick, the delivery retries, and whether a catch-up tick is due at start.

Each job runs on a fresh ``App``, unless a stop was requested or the scheduler lost its lock on the ledger; a
failure is logged and stays in the job: the scheduler keeps running and the next run tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from apscn_tracker.config import Settings
from apscn_tracker.errors import UserError
from apscn_tracker.ledger.scheduler_lock import FileLock, PgAdvisoryLock
from apscn_tracker.services.app import App
from apscn_tracker.services.send_hour import zone
from apscn_tracker.services.tick import deliver, last_tick, tick

log = logging.getLogger("apscn_tracker.scheduler")
T = TypeVar("T")

DELIVERY_EVERY_MINUTES = 5


def _log_failure(what: str, exc: Exception, *, repeated: bool = False) -> None:
    """One line for a problem a person can fix (configuration, templates, ledger); a traceback for a bug.
    ``repeated``: the same line as the job's last run, kept out of the log (at debug level)."""
    if isinstance(exc, UserError):  # LedgerError included
        log.log(logging.DEBUG if repeated else logging.ERROR, "%s: %s", what, exc)
    else:
        log.exception(what)


class Runner:
    """Runs the tick and the deliveries for the scheduler; ``stop`` ends them between units of work."""

    def __init__(self, settings: Settings, *, lock: FileLock | PgAdvisoryLock | None = None):
        self.settings = settings
        self.tz = zone(settings)
        self.stop = threading.Event()
        self.lock = lock
        self.ticks = 0
        self.on_lock_lost: Callable[[], None] | None = None
        # each job's last one-line failure: a delivery paused after a refused login fails the same way every five
        # minutes, and is logged when it starts, when it changes and when it ends, not 288 times a day
        self._failing: dict[str, str] = {}

    def local_now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.settings.today or self.local_now().date()

    def _app(self) -> App:
        return App(self.settings, today=self.today(), actor="scheduler")

    def _lock_ok(self) -> bool:
        if self.lock is None or self.lock.check():
            return True
        log.error("the scheduler lost its lock on the ledger; stopping")
        self.stop.set()
        if self.on_lock_lost is not None:
            self.on_lock_lost()
        return False

    def _job(self, name: str, work: Callable[[App], T], failed: Callable[[App], str]) -> T | None:
        """``work(app)`` on a fresh App, unless stopping or the lock is lost. A failure is logged (``failed(app)``
        says what failed; the same line as the job's last run is not repeated) and returns None: it never reaches
        the scheduler, the next run tries again."""
        if self.stop.is_set() or not self._lock_ok():
            return None
        app = self._app()
        try:
            result = work(app)
        except Exception as exc:
            line = f"{failed(app)}: {exc}" if isinstance(exc, UserError) else ""
            _log_failure(failed(app), exc, repeated=bool(line) and self._failing.get(name) == line)
            self._failing[name] = line
            return None
        finally:
            app.close()
        if self._failing.pop(name, None):
            log.info("%s works again", name)
        return result

    def run_tick(self) -> dict[str, Any] | None:
        def work(app: App) -> dict[str, Any]:
            result = tick(app, should_stop=self.stop.is_set)
            self.ticks += 1
            if result.get("delivery_error"):  # a mail setup problem, a full disk: one line, the rest waits
                log.error("tick %s: %s", app.today, result["delivery_error"])
            return result

        return self._job("the tick", work, lambda app: f"tick {app.today} failed; the next run will catch up")

    def run_delivery(self) -> dict[str, int] | None:
        def work(app: App) -> dict[str, int]:
            result = deliver(app, should_stop=self.stop.is_set)
            if any(result.values()):
                log.info(
                    "delivery: sent %d, failed %d, retrying %d",
                    result.get("sent", 0),
                    result.get("failed", 0),
                    result.get("retrying", 0),
                )
            return result

        return self._job(
            "delivery", work, lambda app: f"delivery failed; trying again in {DELIVERY_EVERY_MINUTES} minutes"
        )

    def ticked_today(self) -> bool:
        """Whether a tick for today finished (the heartbeat)."""
        app = self._app()
        try:
            last = last_tick(app, ok_only=True)
        finally:
            app.close()
        return last is not None and last["today"] == self.today().isoformat()

    def needs_catch_up(self, now: datetime | None = None) -> bool:
        now = now or self.local_now()
        if now.hour < self.settings.send_hour:
            return False  # today's cron run at the send hour catches up
        return not self.ticked_today()
