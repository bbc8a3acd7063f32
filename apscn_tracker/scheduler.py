"""``apscn scheduler run``: the daily tick and the delivery retries, in one long-running process.

APScheduler 3.x, BlockingScheduler in the configured time zone (America/Chicago by default):

- ``daily-tick``: a cron job at ``send_hour`` every day;
- ``delivery``: every few minutes, so that messages waiting for a retry go out without waiting a day;
- ``catch-up-tick``: once at start when today's send hour has passed and today's tick has not run (the tick
  itself catches up missed days: it queues only the latest due milestone of each rule).

Jobs are re-added with fixed ids on every start (``replace_existing``), ``coalesce=True`` (many missed runs
make one), no misfire grace limit (a late run still runs), one worker thread (a tick and a delivery never
overlap). The schedule lives here; all state lives in the ledger, so a restart loses nothing.

Only one scheduler may act on a ledger: a non-blocking ``flock`` on ``scheduler.lock`` beside the SQLite
file, or a session-level ``pg_try_advisory_lock`` on a dedicated PostgreSQL connection. A second one exits
with a clear message.

SIGINT/SIGTERM: the running job stops after its current unit of work (a batch of reminders, a batch of
deliveries); the rest is picked up by the next run.

This is the only module that imports APScheduler.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscn_tracker.config import ConfigError, Settings
from apscn_tracker.errors import UserError
from apscn_tracker.redact import RedactingFilter

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("apscn_tracker.scheduler")
T = TypeVar("T")

DAILY_TICK = "daily-tick"
DELIVERY = "delivery"
CATCH_UP = "catch-up-tick"
DELIVERY_EVERY_MINUTES = 5
LOCK_FILE = "scheduler.lock"
# The PostgreSQL advisory lock key: a fixed 63-bit number derived from the product name.
PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"apscn-tracker scheduler").digest()[:8], "big") >> 1


class SchedulerLocked(UserError):
    """Another scheduler holds the ledger's lock."""


# -- configuration checks ---------------------------------------------------------------------------------------


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {settings.timezone!r} is not a known time zone (like America/Chicago)") from None


def dst_hours(tz: ZoneInfo, years: tuple[int, ...]) -> set[int]:
    """Local hours that are skipped or repeated on a daylight-saving change day in ``years``, plus the hour
    after each (a job there can run twice, never, or right after a jump). America/Chicago: 1, 2 and 3."""
    hours: set[int] = set()
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            nxt = midnight + timedelta(days=1)
            if midnight.utcoffset() != nxt.utcoffset():
                for hour in range(24):
                    wall = datetime(day.year, day.month, day.day, hour, 30, tzinfo=tz)
                    skipped = wall.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != wall.replace(
                        tzinfo=None
                    )
                    repeated = wall.replace(fold=0).utcoffset() != wall.replace(fold=1).utcoffset()
                    if skipped or repeated:
                        hours.update({hour, (hour + 1) % 24})
            day += timedelta(days=1)
    return hours


def check_send_hour(settings: Settings, *, today: date | None = None) -> None:
    """Refuse a send hour inside the daylight-saving switch hours of the configured zone."""
    tz = zone(settings)
    year = (today or date.today()).year
    bad = dst_hours(tz, (year, year + 1))
    if settings.send_hour in bad:
        listed = ", ".join(str(h) for h in sorted(bad))
        raise ConfigError(
            f"send_hour {settings.send_hour} falls in the daylight-saving switch hours of {settings.timezone} "
            f"({listed}): a run there can be skipped or doubled; choose another hour in config.toml "
            f"(the default is 7)"
        )


# -- the single-instance lock ----------------------------------------------------------------------------------


def lock_path(settings: Settings) -> Path:
    """``scheduler.lock`` beside the SQLite file (in APSCN_HOME unless APSCN_DATABASE_URL names a file)."""
    if settings.database_url:
        db = Path(settings.url.split("///", 1)[1]) if "///" in settings.url else settings.db_path
        return db.parent / f"{db.name}.{LOCK_FILE}"
    return settings.home / LOCK_FILE


class FileLock:
    """A non-blocking ``flock``; the file keeps the holder's pid for the message of a second scheduler."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SchedulerLocked(
                f"another scheduler is running (pid {holder}) on this ledger ({self.path}); "
                "stop it first, or leave it running"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def check(self) -> bool:
        return self._fd is not None

    def holder(self) -> str | None:
        """The pid of the scheduler holding the lock, None when nobody holds it (a read-only probe)."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


class PgAdvisoryLock:
    """A session-level advisory lock, held by a dedicated connection for the scheduler's lifetime."""

    def __init__(self, engine: Any):
        self.engine = engine
        self._conn: Any = None

    def acquire(self) -> None:
        from sqlalchemy import text

        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(
                text(
                    "SELECT a.pid, a.client_addr, a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
                ),
                {"k": PG_LOCK_KEY},
            ).first()
            conn.close()
            where = f"server backend pid {holder[0]}, client {holder[1] or 'local'}" if holder else "unknown"
            raise SchedulerLocked(f"another scheduler is running on this PostgreSQL ledger ({where}); stop it first")
        self._conn = conn

    def check(self) -> bool:
        """The lock lives as long as its connection: False when that connection is gone."""
        from sqlalchemy import text

        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        from sqlalchemy import text

        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            self._conn.commit()
        except Exception:  # the connection is gone: so is the lock
            pass
        finally:
            self._conn.close()
            self._conn = None


def make_lock(settings: Settings, engine: Any = None) -> FileLock | PgAdvisoryLock:
    if settings.is_sqlite:
        return FileLock(lock_path(settings))
    if engine is None:
        from apscn_tracker.ledger.db import make_engine

        engine = make_engine(settings.url)
    return PgAdvisoryLock(engine)


def _log_failure(what: str, exc: Exception) -> None:
    """One line for a problem a person can fix (configuration, templates, ledger); a traceback for a bug."""
    if isinstance(exc, UserError | ConfigError):  # LedgerError included
        log.error("%s: %s", what, exc)
    else:
        log.exception(what)


# -- the jobs ------------------------------------------------------------------------------------------------------


class Runner:
    """Runs the tick and the deliveries for the scheduler; ``stop`` ends them between units of work."""

    def __init__(self, settings: Settings, *, lock: FileLock | PgAdvisoryLock | None = None):
        self.settings = settings
        self.tz = zone(settings)
        self.stop = threading.Event()
        self.lock = lock
        self.ticks = 0
        self.on_lock_lost: Callable[[], None] | None = None

    def local_now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.settings.today or self.local_now().date()

    def _app(self):
        from apscn_tracker.services.app import App

        return App(self.settings, today=self.today(), actor="scheduler")

    def _lock_ok(self) -> bool:
        if self.lock is None or self.lock.check():
            return True
        log.error("the scheduler lost its lock on the ledger; stopping")
        self.stop.set()
        if self.on_lock_lost is not None:
            self.on_lock_lost()
        return False

    def _job(self, work: Callable[[Any], T], failed: Callable[[Any], str]) -> T | None:
        """``work(app)`` on a fresh App, unless stopping or the lock is lost. A failure is logged (``failed(app)``
        says what failed) and returns None: it never reaches the scheduler, the next run tries again."""
        if self.stop.is_set() or not self._lock_ok():
            return None
        app = self._app()
        try:
            return work(app)
        except Exception as exc:
            _log_failure(failed(app), exc)
            return None
        finally:
            app.close()

    def run_tick(self) -> dict[str, Any] | None:
        from apscn_tracker.services.tick import tick

        def work(app: Any) -> dict[str, Any]:
            result = tick(app, should_stop=self.stop.is_set)
            self.ticks += 1
            return result

        return self._job(work, lambda app: f"tick {app.today} failed; the next run will catch up")

    def run_delivery(self) -> dict[str, int] | None:
        from apscn_tracker.services.tick import deliver

        def work(app: Any) -> dict[str, int]:
            result = deliver(app, should_stop=self.stop.is_set)
            if any(result.values()):
                log.info(
                    "delivery: sent %d, failed %d, retrying %d",
                    result.get("sent", 0),
                    result.get("failed", 0),
                    result.get("retrying", 0),
                )
            return result

        return self._job(work, lambda app: f"delivery failed; trying again in {DELIVERY_EVERY_MINUTES} minutes")

    def ticked_today(self) -> bool:
        """Whether a tick for today finished (the heartbeat)."""
        from apscn_tracker.services.tick import last_tick

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


def build_scheduler(runner: Runner, *, now: datetime | None = None) -> BlockingScheduler:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    tz = runner.tz
    defaults = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
    sched = BlockingScheduler(
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
    from apscn_tracker.ledger.db import open_ledger

    ledger = open_ledger(settings)  # migrations applied before any job runs
    lock = make_lock(settings, ledger.engine)
    lock.acquire()
    stopper: list[threading.Thread] = []
    unhide = hide_secrets_in_logs(settings)
    try:
        runner = Runner(settings, lock=lock)
        sched = build_scheduler(runner)

        def stop(reason: str) -> None:
            if runner.stop.is_set() and stopper:
                log.info("%s: already stopping", reason)
                return
            log.info("%s: stopping after the current unit of work", reason)
            runner.stop.set()
            # shut down from a helper thread: a signal handler must not block on the scheduler's locks
            t = threading.Thread(target=_shutdown, args=(sched,), name="scheduler-stop")
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
        sched.start()  # blocks until stopped
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


def _shutdown(sched: BlockingScheduler) -> None:
    from apscheduler.schedulers import SchedulerNotRunningError

    with contextlib.suppress(SchedulerNotRunningError):
        sched.shutdown(wait=True)


def _next_daily(sched: BlockingScheduler) -> str:
    job = sched.get_job(DAILY_TICK)
    trigger = job.trigger if job else None
    if trigger is None:
        return "?"
    fire = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    return fire.isoformat(timespec="minutes") if fire else "?"
