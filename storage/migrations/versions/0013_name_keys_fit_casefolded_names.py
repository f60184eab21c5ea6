"""clinics and indicators: room in `name_key` for any name the forms accept

The key is the name case-folded, and case folding can make a name longer ("ß" becomes "ss"; one character
can become three): a clinic name of 100 characters, or an indicator name of 80, could have a key its
column refused. Widening a varchar rewrites nothing on PostgreSQL; SQLite does not enforce the length.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WIDENED = {"clinics": (100, 300), "indicators": (80, 240)}


def upgrade() -> None:
    for table, (before, after) in WIDENED.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("name_key", type_=sa.String(after), existing_type=sa.String(before))


def downgrade() -> None:
    for table, (before, after) in WIDENED.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("name_key", type_=sa.String(before), existing_type=sa.String(after))
