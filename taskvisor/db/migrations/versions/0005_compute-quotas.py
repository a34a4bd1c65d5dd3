"""compute-quotas: schema changes of that work (empty until it lands).

Revision ID: 0005_compute_quotas
Revises: 0004_bm_allocations
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0005_compute_quotas'
down_revision = '0004_bm_allocations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
