"""district links: the links in district emails that recorded a step, each usable once

- ``link_use``: one row per link that recorded its step (the link's nonce, never the link itself), written in
  the transaction that records the step, so a link records at most one step, once.

Revision ID: district_links
Revises: web_users
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "district_links"
down_revision = "web_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connection.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id"),
    )


def downgrade() -> None:
    op.drop_table("link_use")
