"""actions: an index that covers what a weekly digest counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 14:40:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = [
    "team_id",
    "clinic_id",
    "closed_at",
    "due_at",
    "created_at",
    "status",
    "last_owner_update_at",
    "focus_area_id",
]


def upgrade() -> None:
    op.create_index("ix_actions_clinic_digest", "actions", COLUMNS)
    op.drop_index("ix_actions_clinic_open", table_name="actions")


def downgrade() -> None:
    op.create_index("ix_actions_clinic_open", "actions", COLUMNS[:4])
    op.drop_index("ix_actions_clinic_digest", table_name="actions")
