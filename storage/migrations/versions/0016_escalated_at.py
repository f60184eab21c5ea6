"""actions: when the lead was escalated to about it, kept past the chase cycle

lead_escalated_at is the chase's progress and goes back to NULL when an owner's update starts a new cycle;
the owner could then press On track and move an escalated deadline without the lead. escalated_at stays
until the lead's side gives the action a new deadline or it changes hands. An action escalated in its
current cycle is escalated from then; one whose cycle was restarted since cannot be told apart.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 03:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("actions", sa.Column("escalated_at", storage.models.UTCDateTime(), nullable=True))
    op.execute("UPDATE actions SET escalated_at = lead_escalated_at WHERE lead_escalated_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch_op:
        batch_op.drop_column("escalated_at")
