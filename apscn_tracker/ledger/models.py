"""SQLModel tables. Current state (districts, connections, renewals) is a projection of ``event``.

Times are timezone-aware UTC: their column type (``types.UTCDateTime``) hands them back so on every database and
refuses naive ones. Effective dates (``requested_on`` ...) are plain dates on the state calendar. School years
are stored as their start year (2026 = 2026-27).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Column, Index, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from apscn_tracker.ledger.types import UTCDateTime


class LedgerTable(SQLModel):
    """The base of every table: ``Model.__table__`` is its typed SQLAlchemy Core table, for set-based statements.

    Table models do not validate on construction, so pydantic builds their validators only if one is asked for
    (``defer_build``): importing the models is part of every ``apscn status`` (bench/RESULTS.md)."""

    __table__: ClassVar[Table]
    model_config = SQLModel.model_config | {"defer_build": True}


class District(LedgerTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    lea_code: str = Field(max_length=7, unique=True, index=True)
    name: str
    county: str | None = None
    source: str | None = None
    nces_leaid: str | None = Field(default=None, max_length=7)  # the NCES LEA ID (CCD ``LEAID``), when known
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Contact(LedgerTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True, ondelete="CASCADE")
    name: str | None = None
    email: str
    role: str | None = None
    __table_args__ = (UniqueConstraint("district_id", "email", name="uq_contact_district_email"),)


class Vendor(LedgerTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    onboarding_name: str | None = None
    onboarding_email: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class Connection(LedgerTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id")
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    method: str = Field(max_length=8)  # api | sftp
    course_planning: bool = False
    retired_on: date | None = None
    created_on: date
    __table_args__ = (UniqueConstraint("district_id", "vendor_id", name="uq_connection_district_vendor"),)


class Renewal(LedgerTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id")
    school_year: int
    requested_on: date | None = None
    expected_enabled_by: date | None = None
    enabled_on: date | None = None
    confirmed_on: date | None = None
    disconnected_on: date | None = None
    __table_args__ = (
        UniqueConstraint("connection_id", "school_year", name="uq_renewal_connection_year"),
        Index("ix_renewal_year", "school_year"),
        # the rollover's "not disconnected yet": a partial index, one school year of rows (see partial_indexes)
        Index("ix_renewal_open", "school_year", info={"where": "disconnected_on IS NULL"}),
    )


class Event(LedgerTable, table=True):
    """Append-only history. Never updated or deleted; a correction is a new event."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)  # when it was recorded (UTC)
    effective_on: date | None = None  # the effective date (requested_on, enabled_on ...)
    kind: str = Field(max_length=40)
    district_id: int | None = Field(default=None, foreign_key="district.id")
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id")
    school_year: int | None = None
    actor: str
    note: str | None = Field(default=None, sa_column=Column(Text))
    data: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    __table_args__ = (Index("ix_event_district", "district_id", "id"),)


class Outbox(LedgerTable, table=True):
    """One rendered email; ``key`` is the idempotency key and the lock of claim-then-send."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=40)
    district_id: int | None = Field(default=None, foreign_key="district.id")
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id")
    school_year: int | None = None
    to_addrs: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated
    cc_addrs: str = Field(default="", sa_column=Column(Text, nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(max_length=250)
    status: str = Field(default="pending", max_length=10)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # the report's reminders sent in a year, per connection (a covering index)
        Index("ix_outbox_year", "school_year", "status", "kind", "district_id", "vendor_id"),
    )


class TickRun(LedgerTable, table=True):
    """The heartbeat: one row per tick, so ``doctor`` can say when the loop last ran."""

    id: int | None = Field(default=None, primary_key=True)
    today: date
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ok: bool = False
    counts: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    error: str | None = Field(default=None, sa_column=Column(Text))


class ReminderHold(LedgerTable, table=True):
    """Whether district reminders are held (one row, id 1). No row: running, as on a ledger made before holds."""

    __tablename__ = "reminder_hold"
    id: int | None = Field(default=None, primary_key=True)
    held: bool = False
    until: date | None = None  # held up to and including this day (None: until `apscn reminders start`)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    changed_by: str


def partial_indexes(dialect: str) -> None:
    """Give each partial index (``info={"where": ...}``) its WHERE clause for ``dialect``.

    Written as ``sqlite_where=``/``postgresql_where=`` in the index itself, the condition would load both database
    dialects to check those arguments when this module is imported: 40 ms of every ``apscn status`` on SQLite,
    for a PostgreSQL dialect it never uses. ``ledger.db.make_engine`` calls this for the dialect it opens."""
    if dialect not in ("sqlite", "postgresql"):
        return
    for table in LedgerTable.metadata.tables.values():
        for index in table.indexes:
            where = index.info.get("where")
            if where and index.dialect_options[dialect]["where"] is None:
                index.dialect_options[dialect]["where"] = text(where)
