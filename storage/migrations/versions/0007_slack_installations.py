"""slack installations, bots and OAuth states: installing in several workspaces

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:20:00
"""

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


def upgrade() -> None:
    # slack_sdk defines these tables (their columns and indexes); build them as it does.
    metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
