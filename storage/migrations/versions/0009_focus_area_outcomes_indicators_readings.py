"""the clinic method: focus areas' outcome and why, indicators and their readings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("focus_areas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("why", sa.Text(), nullable=True))
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("focus_area_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("reporter_id", sa.String(length=32), nullable=False),
        sa.Column("cadence", sa.String(length=12), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("report_step", sa.Integer(), nullable=False),
        sa.Column("next_check_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["focus_area_id"], ["focus_areas.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_id", "name_key", name="uq_indicators_clinic_name"),
    )
    op.create_index("ix_indicators_focus_area_id", "indicators", ["focus_area_id"])
    op.create_index("ix_indicators_team_name", "indicators", ["team_id", "name_key"])
    op.create_index(
        "ix_indicators_next_check",
        "indicators",
        ["next_check_at", "id"],
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
        sqlite_where=sa.text("next_check_at IS NOT NULL"),
    )
    op.create_table(
        "indicator_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("reading_date", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(length=32), nullable=False),
        sa.Column("reported_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicators.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("indicator_id", "reading_date", name="uq_indicator_readings_day"),
    )


def downgrade() -> None:
    op.drop_table("indicator_readings")
    op.drop_index("ix_indicators_next_check", table_name="indicators")
    op.drop_index("ix_indicators_team_name", table_name="indicators")
    op.drop_index("ix_indicators_focus_area_id", table_name="indicators")
    op.drop_table("indicators")
    with op.batch_alter_table("focus_areas", schema=None) as batch_op:
        batch_op.drop_column("why")
        batch_op.drop_column("outcome")
