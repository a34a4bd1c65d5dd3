"""nova-quotas: keypairs, quotas, quota classes, server groups (reserved for its work stream)

Revision ID: 0009_nova_quotas
Revises: 0008_bm_templates
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_nova_quotas'
down_revision = '0008_bm_templates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
