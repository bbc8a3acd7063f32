"""adoption: the NCES LEA ID of a district, and the reminder hold of a new ledger

- ``district.nces_leaid``: the NCES LEA ID (CCD ``LEAID``), shown by `apscn district show` and used to match
  NCES CCD files; empty on districts added before.
- ``reminder_hold``: one row saying whether district reminders are held (a new ledger starts held until
  `apscn reminders start`). Upgraded ledgers get no row, so their reminders keep running.

Revision ID: adoption
Revises: mail_outcomes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "adoption"
down_revision = "mail_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nces_leaid", sa.String(length=7), nullable=True))
    op.create_table(
        "reminder_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("reminder_hold")
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+ drops it in place: no table copy under foreign keys
        op.execute("ALTER TABLE district DROP COLUMN nces_leaid")
    else:
        op.drop_column("district", "nces_leaid")
