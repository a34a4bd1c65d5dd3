"""server-actions: schema changes of that work (empty until it lands).

Revision ID: 0007_server_actions
Revises: 0006_compute_shapes
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0007_server_actions'
down_revision = '0006_compute_shapes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
