"""removed_workspaces: with one bot token, a workspace that removed the app has nothing planned

With installs per workspace, a missing installation already says so; with SLACK_BOT_TOKEN nothing did, and
every pass went on deciding nudges, escalations and digests for the workspace and posting them with the
revoked token.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removed_workspaces",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("removed_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )


def downgrade() -> None:
    op.drop_table("removed_workspaces")
