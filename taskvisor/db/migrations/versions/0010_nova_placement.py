"""nova-placement: aggregates, availability zones, migrations, usage (reserved for its work stream)

Revision ID: 0010_nova_placement
Revises: 0009_nova_quotas
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_nova_placement'
down_revision = '0009_nova_quotas'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
