"""actions: when the owner's latest overdue nudge goes out, so that an escalation decided in a later pass
never reaches the lead before it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("actions", sa.Column("owner_nudged_at", storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch_op:
        batch_op.drop_column("owner_nudged_at")
