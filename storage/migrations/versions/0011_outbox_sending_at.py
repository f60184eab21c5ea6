"""outbox: when a try at sending began whose outcome is not known yet, so that the next try first looks
in the recipient's DM for the message instead of sending it twice

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("sending_at", storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("sending_at")
