"""indexes for national scale

The queries that ran on every tick or report and read a whole table at 13,000 districts (bench/RESULTS.md):

- ``ix_event_kind_on`` (event: kind, effective_on): the digest's "reminders queued today" count scanned every
  event ever recorded;
- ``ix_renewal_open`` (renewal: disconnected_on, school_year): the rollover's "ended and not disconnected yet"
  read every renewal of every past year to find, on most days, none;
- ``ix_outbox_year`` (outbox: school_year, status, kind, district_id, vendor_id): the report's reminders sent in
  a year read every sent message of every year; this one covers that query.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_kind_on", ["kind", "effective_on"], unique=False)
    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.create_index("ix_renewal_open", ["disconnected_on", "school_year"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_year", ["school_year", "status", "kind", "district_id", "vendor_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_year")
    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.drop_index("ix_renewal_open")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_kind_on")
