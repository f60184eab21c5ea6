"""slack_users: whether a person is a member of the workspace, so that no duty goes to someone from outside it

A Slack Connect user of another organisation, in a shared channel, could be made an action's owner, a clinic's
lead or sponsor, an indicator's reporter or a one-to-one's person, and be sent what the clinic asks of them.
Every person already cached is marked due for a refresh, since nobody asked Slack this of them before: the next
duty given them looks them up again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 03:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("slack_users", sa.Column("outsider", sa.Boolean(), server_default=sa.false(), nullable=False))
    users = sa.table("slack_users", sa.column("refreshed_at", storage.models.UTCDateTime()))
    op.execute(users.update().values(refreshed_at=datetime(2000, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    with op.batch_alter_table("slack_users") as batch_op:
        batch_op.drop_column("outsider")
