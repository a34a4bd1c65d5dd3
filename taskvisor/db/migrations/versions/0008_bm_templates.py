"""bm-templates: deploy templates and runbooks (reserved for its work stream)

Revision ID: 0008_bm_templates
Revises: 0007_bm_allocations
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_bm_templates'
down_revision = '0007_bm_allocations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by its work stream; an empty revision is a no-op


def downgrade() -> None:
    pass
