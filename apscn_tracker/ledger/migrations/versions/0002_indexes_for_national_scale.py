"""indexes for national scale

The queries that ran on every tick or report and read a whole table at 13,000 districts (bench/RESULTS.md):

(The digest's "reminders queued today" count still reads the whole event table, ~0.1 s a day at 2.3 million
events: an index for it would cost 40-75 MB; the tick can count from what it queued instead, see RESULTS.md.)

- ``ix_renewal_open`` (renewal: school_year, only the rows not disconnected yet, a partial index): the rollover's
  "ended and not disconnected" read every renewal of every past year to find, on most days, none; this index
  holds only the open renewals (one school year's worth, under 1 MB at national scale);
- ``ix_outbox_year`` (outbox: school_year, status, kind, district_id, vendor_id): the report's reminders sent in
  a year read every sent message of every year; this one covers that query.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

OPEN = "disconnected_on IS NULL"

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_renewal_open",
            ["school_year"],
            unique=False,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_year", ["school_year", "status", "kind", "district_id", "vendor_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_year")
    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.drop_index("ix_renewal_open")
