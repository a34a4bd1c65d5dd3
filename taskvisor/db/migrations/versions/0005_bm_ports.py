"""bm-ports: Ironic's ports and port groups, and the node-chassis link (reserved for its work stream)

Revision ID: 0005_bm_ports
Revises: 0004_node_traits
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_bm_ports'
down_revision = '0004_node_traits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
