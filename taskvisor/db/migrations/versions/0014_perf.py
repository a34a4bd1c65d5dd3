"""perf: columns for faster hot paths (reserved; filled by its work stream)

Revision ID: 0014_perf
Revises: 0013_bm_node_extras
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0014_perf'
down_revision = '0013_bm_node_extras'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
