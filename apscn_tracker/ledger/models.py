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
    # JSON, per recipient (lower-cased address): {"state": sent | deferred | failed, "reply": ..., "at": ...};
    # None until a server answered for one of them (``mail.outcomes``)
    recipients: str | None = Field(default=None, sa_column=Column(Text))
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # the report's reminders sent in a year, per connection (a covering index)
        Index("ix_outbox_year", "school_year", "status", "kind", "district_id", "vendor_id"),
    )


class LedgerMeta(LedgerTable, table=True):
    """Facts about the ledger itself, one row per key: its random id (``ledger_id``, made when the ledger is
    created or upgraded), the mail setup problem that stopped delivery (``ledger.meta``)."""

    __tablename__ = "ledger_meta"
    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(sa_column=Column(Text, nullable=False))


class TickRun(LedgerTable, table=True):
    """The heartbeat: one row per tick, so ``doctor`` can say when the loop last ran."""

    id: int | None = Field(default=None, primary_key=True)
    today: date
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ok: bool = False
    counts: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    error: str | None = Field(default=None, sa_column=Column(Text))


class WebUser(LedgerTable, table=True):
    """A person who signs in to ``apscn serve``: a viewer reads, a coordinator also records steps. Secrets are
    stored only as hashes: the password with Argon2, the API and calendar tokens with SHA-256 (random, long)."""

    __tablename__: ClassVar[str] = "web_user"  # type: ignore[misc]
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    role: str = Field(max_length=12)  # coordinator | viewer
    password_hash: str
    api_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    calendar_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebSession(LedgerTable, table=True):
    """A signed-in browser: the cookie holds a random token, the ledger its SHA-256 and the form token (CSRF)."""

    __tablename__: ClassVar[str] = "web_session"  # type: ignore[misc]
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="web_user.id", index=True, ondelete="CASCADE")
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LinkUse(LedgerTable, table=True):
    """A district's link that recorded its step: a link works once. ``token_id`` is the link's nonce, never the
    link itself (which would work again if read from here)."""

    __tablename__ = "link_use"
    id: int | None = Field(default=None, primary_key=True)
    token_id: str = Field(max_length=32, unique=True)
    connection_id: int = Field(foreign_key="connection.id")
    school_year: int
    step: str = Field(max_length=10)
    actor: str  # the contact's address, as the step's event records it
    used_at: datetime = Field(sa_type=UTCDateTime)


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
