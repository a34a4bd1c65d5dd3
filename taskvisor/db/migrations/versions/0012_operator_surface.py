"""operator surface (reserved for its work stream)

Revision ID: 0012_operator_surface
Revises: 0011_nova_servers
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_operator_surface'
down_revision = '0011_nova_servers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
