"""bm-resources: schema changes of that work (empty until it lands).

Revision ID: 0003_bm_resources
Revises: 0002_operator
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0003_bm_resources'
down_revision = '0002_operator'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
