"""The hot queries use indexes: EXPLAIN QUERY PLAN of what the code really sends (captured from the engine).

At national scale (13,000 districts x 5 vendors x 10 school years: 2 million events) a full scan of renewal,
event or outbox turns a read of milliseconds into one of seconds; bench/RESULTS.md has the figures. SQLite
plans without statistics (no ANALYZE), the same on an empty ledger as on a full one.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event

pytestmark = pytest.mark.sqlite_only

BIG = ("renewal", "event", "outbox")


def captured(app, run) -> list[tuple[str, tuple]]:
    """The SELECT/UPDATE statements, with their parameters, that ``run()`` sends to the ledger."""
    seen: list[tuple[str, tuple]] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")) and not executemany:
            seen.append((statement, tuple(parameters or ())))

    engine = app.ledger.engine
    event.listen(engine, "before_cursor_execute", hook)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    assert seen, "nothing was captured"
    return seen


def plans(app, run) -> list[list[str]]:
    db = sqlite3.connect(app.settings.db_path)
    try:
        return [
            [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params)] for sql, params in captured(app, run)
        ]
    finally:
        db.close()


def scans(plan_lines: list[list[str]], tables=BIG) -> list[str]:
    """The lines of the plans that read a whole table (or a whole index) of ``tables``."""
    return [line for plan in plan_lines for line in plan if line.startswith("SCAN") and line.split()[1] in tables]


@pytest.fixture
def connected(ledger_app, make_app):
    from apscn_tracker.services.connections import connect
    from apscn_tracker.services.renewals import record_request

    connect(ledger_app, lea=None, all_districts=True)
    app = make_app("2026-09-15")
    record_request(app, lea="0101000", on=date(2026, 8, 3))
    return app


def test_the_status_of_one_district_reads_nothing_whole(connected):
    from apscn_tracker.services.status import status_rows

    found = plans(connected, lambda: status_rows(connected, lea="0101000"))
    assert [line for plan in found for line in plan if line.startswith("SCAN")] == []
    assert any("SEARCH renewal USING INDEX" in line for plan in found for line in plan)


def test_the_status_of_one_district_with_a_scripted_connection_reads_only_its_own_events(connected):
    from apscn_tracker.services.connections import connect
    from apscn_tracker.services.status import status_rows
    from apscn_tracker.services.uploads import record_upload
    from apscn_tracker.services.vendors import add_vendor

    add_vendor(connected, name="Naviance")
    connect(connected, lea="0101000", vendor="Naviance", method="sftp")
    record_upload(connected, lea="0101000", vendor="Naviance", on=date(2026, 9, 14))
    rows = status_rows(connected, lea="0101000")
    assert {r["vendor"]: r.get("last_upload") for r in rows}["Naviance"] == "2026-09-14"
    found = plans(connected, lambda: status_rows(connected, lea="0101000"))
    assert [line for plan in found for line in plan if line.startswith("SCAN")] == []  # not every upload
    assert any("SEARCH event USING INDEX ix_event_district" in line for plan in found for line in plan)


def test_the_status_of_a_year_finds_each_renewal_by_index(connected):
    from apscn_tracker.services.status import status_rows

    found = plans(connected, lambda: status_rows(connected))
    assert scans(found) == []
    assert any("SEARCH renewal USING INDEX" in line for plan in found for line in plan)


def test_the_outbox_due_query_uses_its_index(connected):
    from apscn_tracker.mail.claims import claim

    found = plans(connected, lambda: claim(connected, worker="test", now=datetime.now(UTC)))
    assert scans(found, ("outbox",)) == []
    assert any("outbox USING INDEX ix_outbox_status_next" in line for plan in found for line in plan)


def test_the_ticks_rollover_and_candidates_use_indexes(connected):
    """(The digest's count of the reminders queued today still reads the event table once a tick: bench/RESULTS.md
    explains why no index was added for it.)"""
    from apscn_tracker.services import tick

    def run():
        tick.rollover(connected, dry_run=True)
        tick.rollover(connected)
        with connected.ledger.write() as s:
            tick.load_candidates(connected, s)

    found = plans(connected, run)
    assert scans(found) == []
    lines = [line for plan in found for line in plan]
    assert any("renewal USING" in line and "INDEX ix_renewal_open" in line for line in lines)
    assert any("USING INDEX sqlite_autoindex_renewal" in line and "connection_id=?" in line for line in lines)


def test_the_report_counts_reminders_sent_through_its_covering_index(connected):
    from apscn_tracker.services.report import build_report

    found = plans(connected, lambda: build_report(connected, year="2025-26"))
    assert scans(found) == []
    assert any("outbox USING COVERING INDEX ix_outbox_year" in line for plan in found for line in plan)


def test_the_digest_of_a_run_that_queued_reminders_does_not_read_the_event_table(connected):
    from apscn_tracker.services.tick import queue_digest

    def reads_events(planned: int) -> bool:
        sent = captured(connected, lambda: queue_digest(connected, dry_run=True, planned=planned))
        return any("FROM event" in sql for sql, _ in sent)

    assert not reads_events(3)
    assert reads_events(0)  # a run that queued nothing looks for reminders an earlier run queued today
