"""bm-allocations: Ironic's allocations (reserved for its work stream)

Revision ID: 0007_bm_allocations
Revises: 0006_bm_catalog
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_bm_allocations'
down_revision = '0006_bm_catalog'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
