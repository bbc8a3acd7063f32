"""``apscn scheduler run``: the daily tick and the delivery retries, in one long-running process.

APScheduler 3.x, a BackgroundScheduler in the configured time zone (America/Chicago by default); the main
thread only waits for a stop:

- ``daily-tick``: a cron job at ``send_hour`` every day;
- ``delivery``: every few minutes, so that messages waiting for a retry go out without waiting a day;
- ``catch-up-tick``: once at start when today's send hour has passed and today's tick has not run (the tick
  itself catches up missed days: it queues only the latest due milestone of each rule).

Jobs are re-added with fixed ids on every start (``replace_existing``), ``coalesce=True`` (many missed runs
make one), no misfire grace limit (a late run still runs), one worker thread (a tick and a delivery never
overlap). The schedule lives here; all state lives in the ledger, so a restart loses nothing.

Only one scheduler may act on a ledger (``ledger.scheduler_lock``): a second one exits with a clear message.
SIGINT/SIGTERM: the running job stops after its current unit of work (a batch of reminders, a batch of
deliveries); the rest is picked up by the next run.

Modules: ``jobs`` (what each job does: ``Runner``), ``loop`` (the APScheduler wiring and the process: ``run``).
The send hour's checks live in ``services.send_hour``, the lock in ``ledger.scheduler_lock``: ``apscn doctor``
reads both without importing the scheduler.
"""

from __future__ import annotations

from apscn_tracker.scheduler.jobs import DELIVERY_EVERY_MINUTES, Runner
from apscn_tracker.scheduler.loop import CATCH_UP, DAILY_TICK, DELIVERY, build_scheduler, run

__all__ = ["CATCH_UP", "DAILY_TICK", "DELIVERY", "DELIVERY_EVERY_MINUTES", "Runner", "build_scheduler", "run"]
