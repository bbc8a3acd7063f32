"""Column types of the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time: ``TIMESTAMP WITH TIME ZONE`` (PostgreSQL) or UTC text (SQLite), handed back as an aware
    UTC ``datetime`` on every database. A naive value is refused on the way in: its zone would be a guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a point in time must be a datetime, not {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the ledger stores timezone-aware times (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no zone: what it holds was written as UTC above
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
