"""bm-allocations: schema changes of that work (empty until it lands).

Revision ID: 0004_bm_allocations
Revises: 0003_bm_resources
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0004_bm_allocations'
down_revision = '0003_bm_resources'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
