"""nova-servers: server metadata, tags, lock, soft delete, rebuild and images (reserved for its work stream)

Revision ID: 0011_nova_servers
Revises: 0010_nova_placement
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_nova_servers'
down_revision = '0010_nova_placement'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
