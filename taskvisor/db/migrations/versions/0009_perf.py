"""perf: schema changes of that work (empty until it lands).

Revision ID: 0009_perf
Revises: 0008_operator_3
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0009_perf'
down_revision = '0008_operator_3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
