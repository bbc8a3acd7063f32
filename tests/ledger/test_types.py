"""Times go in and come out of the ledger as aware UTC datetimes, by their column type, on every database; the
bulk insert writes exactly what SQLAlchemy's own INSERT writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, func, insert, inspect, select
from sqlalchemy.exc import StatementError

from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Event, LedgerTable, TickRun
from apscn_tracker.ledger.types import UTCDateTime

EVENT = Event.__table__
CHICAGO_SUMMER = timezone(timedelta(hours=-5))


def test_every_time_column_of_the_migrated_schema_is_a_utc_datetime_in_the_models(make_app):
    app = make_app()
    found = inspect(app.ledger.engine)
    times = {
        (table, column["name"])
        for table in LedgerTable.metadata.tables
        for column in found.get_columns(table)
        if isinstance(column["type"], DateTime)
    }
    assert len(times) >= 12 and {("link_use", "used_at"), ("reminder_hold", "changed_at")} <= times
    typed = {(t, c) for t, c in times if isinstance(LedgerTable.metadata.tables[t].c[c].type, UTCDateTime)}
    assert typed == times


def test_a_time_comes_back_aware_in_utc_through_the_orm_and_through_core(make_app):
    app = make_app()
    written = datetime(2026, 7, 1, 7, 30, 15, 250000, tzinfo=CHICAGO_SUMMER)  # 12:30:15.25 UTC
    with app.ledger.write() as s:
        run = TickRun(today=date(2026, 7, 1), started_at=written)
        s.add(run)
    with app.ledger.read() as s:
        through_orm = s.get(TickRun, run.id)
        assert through_orm is not None
        through_core = s.scalar(select(TickRun.__table__.c.started_at).where(TickRun.__table__.c.id == run.id))
        same = s.scalar(select(func.count()).where(TickRun.__table__.c.started_at == written))
    for found in (through_orm.started_at, through_core):
        assert found == datetime(2026, 7, 1, 12, 30, 15, 250000, tzinfo=UTC)
        assert found.utcoffset() == timedelta(0) and found.tzinfo is not None
    assert same == 1  # a bound aware value compares with the stored one as the same instant


def test_a_naive_time_is_refused_on_the_way_in(make_app):
    app = make_app()
    naive = datetime(2026, 7, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"), app.ledger.write() as s:
        s.add(TickRun(today=date(2026, 7, 1), started_at=naive))
        s.flush()
    with pytest.raises(StatementError, match="naive datetime"), app.ledger.write() as s:
        s.execute(select(EVENT.c.id).where(EVENT.c.at < naive)).all()
    with app.ledger.read() as s:
        assert s.scalars(select(TickRun.__table__.c.id)).all() == []


def test_the_bulk_insert_writes_what_sqlalchemys_own_insert_writes(make_app):
    app = make_app()
    at = datetime(2026, 7, 1, 7, 0, tzinfo=CHICAGO_SUMMER)
    rows = [
        q.event_row(kind="note", actor="a", at=at, effective_on=date(2026, 6, 30), note="fast", data={"n": 1}),
        q.event_row(kind="note", actor="b", at=at + timedelta(seconds=1), effective_on=None, note=None),
        q.event_row(kind="note", actor="a", at=at, effective_on=date(2026, 6, 30), note="fast", data={"n": 1}),
    ]
    with app.ledger.write() as s:
        q.insert_rows(s, EVENT, rows)
        q.insert_rows(s, EVENT, rows[:1])  # the plan is reused: same table, same keys
        s.execute(insert(EVENT), rows + rows[:1])
    columns = [c for c in EVENT.c if c.name != "id"]
    with app.ledger.engine.connect() as conn:  # as stored, below the column types
        stored = conn.exec_driver_sql(f"SELECT {', '.join(c.name for c in columns)} FROM event ORDER BY id").all()
    assert len(stored) == 8
    assert stored[:4] == stored[4:]
    with app.ledger.read() as s:
        back = s.execute(select(EVENT.c.at, EVENT.c.effective_on).order_by(EVENT.c.id)).all()
    assert back[0] == (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), date(2026, 6, 30))
    assert back[1] == (datetime(2026, 7, 1, 12, 0, 1, tzinfo=UTC), None)
    with pytest.raises(ValueError, match="naive datetime"), app.ledger.write() as s:  # raised before the driver
        q.insert_rows(s, EVENT, [q.event_row(kind="note", actor="a", at=datetime(2026, 7, 1))])
