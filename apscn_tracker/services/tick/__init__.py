"""The daily tick: one idempotent function, run by hand or by the scheduler (docs/architecture.md, "A day
through the tick").

``tick()`` runs the phases in order, one module each, and returns their counts:

1. ``yearend``: the June 30 rollover of every renewal of a school year that ended before today;
2. ``reminders``: every reminder due today that the outbox does not hold yet, queued in batches;
3. ``coordinator``: the coordinator digest (on a day when reminders went out) and, on the first days of a school
   year, the yearly report with its ``report_ready`` message;
4. ``delivery``: what is due in the outbox, retries included;
5. ``heartbeat``: a ``TickRun`` row with the counts, so ``apscn doctor`` can tell when the loop last ran.

Running it again the same day queues nothing new: every message has its idempotency key. ``dry_run`` computes
the same through reads only (``Ledger.read``: it never waits for a writer) and writes nothing (no rollover, no
message, no delivery, no heartbeat). A stop request ends the run between two units of work; the next run picks
up the rest.

The phases are called through their modules (``reminders.load_candidates``), so a test can replace one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.db import describe_db_error
from apscn_tracker.mail.kinds import TICK_KINDS
from apscn_tracker.services.app import App
from apscn_tracker.services.tick import coordinator, delivery, heartbeat, hold, reminders, yearend
from apscn_tracker.services.tick.base import StopFlag, never
from apscn_tracker.services.tick.coordinator import DIGEST, REPORT_READY, queue_digest, queue_yearly_report
from apscn_tracker.services.tick.delivery import deliver
from apscn_tracker.services.tick.heartbeat import last_tick
from apscn_tracker.services.tick.reminders import load_candidates
from apscn_tracker.services.tick.yearend import rollover

__all__ = [
    "StopFlag",
    "deliver",
    "last_tick",
    "load_candidates",
    "queue_digest",
    "queue_yearly_report",
    "rollover",
    "summary_line",
    "tick",
]

log = logging.getLogger("apscn_tracker.tick")


def tick(app: App, *, dry_run: bool = False, should_stop: StopFlag | None = None) -> dict[str, Any]:
    """Run the day's work for ``app.today``; see the module doc. Returns the counts of ``apscn tick --json``."""
    stop = should_stop or never
    t0 = time.monotonic()
    result: dict[str, Any] = {
        "today": app.today.isoformat(),
        "dry_run": dry_run,
        "disconnected": 0,
        "queued": dict.fromkeys(TICK_KINDS, 0),
        "sent": 0,
        "failed": 0,
        "retrying": 0,
        "not_queued": 0,
        "report": None,
        "interrupted": False,
    }
    if dry_run:
        _plan(app, result)
        return result
    run_id = heartbeat.start_heartbeat(app, q.utcnow())
    try:
        _run(app, result, stop)
    except BaseException as exc:
        failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        try:
            heartbeat.finish_heartbeat(app, run_id, ok=False, counts=result, error=failure)
        except Exception:  # the ledger itself is the problem; the original error says more
            log.debug("could not record the failed tick", exc_info=True)
        raise
    ok = not result["interrupted"]
    error = None if ok else "stopped before the end; the next run catches up"
    try:
        heartbeat.finish_heartbeat(app, run_id, ok=ok, counts=result, error=error)
    except Exception as exc:  # a full disk: the counts above are still true, say why the run is not recorded
        described = describe_db_error(exc)
        if described is None:
            raise
        result["error"] = f"the run could not be recorded: {described}"
    log.info("tick %s in %.1f s", summary_line(result), time.monotonic() - t0)
    return result


def _run(app: App, result: dict[str, Any], stop: StopFlag) -> None:
    """The phases of a real run, each writing in its own units of work; ``result`` fills in as they go."""
    result["disconnected"] = yearend.rollover(app)
    with app.ledger.write() as s:
        candidates = reminders.load_candidates(app, s)
        held = hold.held_on(s, app.today)
    if held:  # a new ledger, until `apscn reminders start`: the digest says how many would go out
        result["held"] = len(candidates)
        queued, unsent, interrupted = Counter[str](), list[str](), False
    else:
        queued, unsent, interrupted = reminders.queue_reminders(app, candidates, should_stop=stop)
    result["queued"].update(queued)
    result["not_queued"] = len(unsent)
    if interrupted or stop():
        result["interrupted"] = True
        return
    planned = sum(queued.values()) or result.get("held", 0)
    result["queued"][DIGEST] = int(coordinator.queue_digest(app, planned=planned, held=result.get("held", 0)))
    _report(result, coordinator.queue_yearly_report(app))
    try:
        delivery.deliver(app, should_stop=stop, counts=result)  # counted as they go: true if it stops midway
    except Exception as exc:  # a mail setup problem, a full disk: what was not tried waits, say so
        result["delivery_error"] = _describe(exc)  # said once, by the caller (the command, the scheduler)
    result["interrupted"] = stop()


def _plan(app: App, result: dict[str, Any]) -> None:
    """The phases of a dry run: the same decisions, through reads only; ``would_queue`` lists the reminders."""
    result["disconnected"] = yearend.rollover(app, dry_run=True)
    with app.ledger.read() as s:  # one snapshot for the candidates and their recipients
        candidates = reminders.load_candidates(app, s)
        if hold.held_on(s, app.today):
            result["held"], candidates = len(candidates), []
        result["would_queue"] = reminders.would_queue(app, s, candidates)
    for r in result["would_queue"]:
        if r["to"]:
            result["queued"][r["kind"]] += 1
        else:
            result["not_queued"] += 1
    planned = sum(1 for r in result["would_queue"] if r["to"]) or result.get("held", 0)
    result["queued"][DIGEST] = int(coordinator.queue_digest(app, dry_run=True, planned=planned))
    _report(result, coordinator.queue_yearly_report(app, dry_run=True))


def _report(result: dict[str, Any], report: dict[str, Any] | None) -> None:
    if report is not None:
        result["report"], result["queued"][REPORT_READY] = report["path"], int(report["queued"])


def _describe(exc: BaseException) -> str:
    """One line for what stopped delivery: the mail setup, the ledger's disk, or else the error itself."""
    if isinstance(exc, UserError):
        return str(exc)
    return describe_db_error(exc) or f"{type(exc).__name__}: {exc}".splitlines()[0]


def _delivered(result: dict[str, Any]) -> int:
    return int(result["sent"]) + int(result["failed"]) + int(result["retrying"])


def summary_line(result: dict[str, Any]) -> str:
    queued = {k: n for k, n in result["queued"].items() if n}
    what = ", ".join(f"{k} {n}" for k, n in queued.items()) or "nothing"
    verb = "would queue" if result.get("dry_run") else "queued"
    line = f"{result['today']}: disconnected {result['disconnected']}; {verb} {what}"
    if not result.get("dry_run"):
        line += f"; sent {result['sent']}, failed {result['failed']}"
        if result.get("retrying"):
            line += f", retrying {result['retrying']}"
    if result.get("delivery_error"):
        line += f"; delivery {'stopped' if _delivered(result) else 'did not run'}: {result['delivery_error']}"
    if result.get("held"):
        line += f"; {result['held']} district reminders held (`apscn reminders start` sends them)"
    if result.get("not_queued"):
        line += f"; {result['not_queued']} not queued (nobody to send to)"
    if result.get("interrupted"):
        line += "; stopped early (the next run picks up the rest)"
    return line
