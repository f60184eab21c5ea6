"""actions: every open action gets a check time, so that those open before chasing existed are chased too

Chasing (0002) added `next_check_at` empty, and a pass looks only at actions whose check time has come: an
action already open then was never looked at. Its own last change is a time that has already come, stored in
the column's own format on every backend; the next pass works out what is due from there, and the ledger of
steps (`uq_chase_steps_once`) keeps anything already sent from going out again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 13:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE actions SET next_check_at = updated_at WHERE closed_at IS NULL AND next_check_at IS NULL")


def downgrade() -> None:
    # Which check times this set cannot be told apart from those passes set since: they stay.
    pass
