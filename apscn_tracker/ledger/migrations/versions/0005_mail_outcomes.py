"""mail outcomes: per-recipient delivery state, and the ledger's own id

- ``outbox.recipients`` (JSON text, nullable): what the mail server answered for each recipient of a message
  (sent, deferred, failed, with its reply), so a refusal for one address does not mark the message sent, and a
  retry goes only to the recipients who have not received it;
- ``ledger_meta`` (key, value): facts about the ledger itself. ``ledger_id``, a random id made here (for a new
  ledger and for one upgraded to this revision), goes into every Message-ID, so two ledgers (a rehearsal and
  production, say) never give two different messages the same one.

Revision ID: mail_outcomes
Revises: district_links
Create Date: 2026-11-30
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "mail_outcomes"
down_revision = "district_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipients", sa.Text(), nullable=True))
    op.bulk_insert(meta, [{"key": "ledger_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("recipients")
    op.drop_table("ledger_meta")
