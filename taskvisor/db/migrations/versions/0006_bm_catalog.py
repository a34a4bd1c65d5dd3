"""bm-catalog: drivers, conductors, shards, node fields Ironic stamps (reserved for its work stream)

Revision ID: 0006_bm_catalog
Revises: 0005_bm_ports
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_bm_catalog'
down_revision = '0005_bm_ports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
