"""compute-shapes: schema changes of that work (empty until it lands).

Revision ID: 0006_compute_shapes
Revises: 0005_compute_quotas
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0006_compute_shapes'
down_revision = '0005_compute_quotas'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
