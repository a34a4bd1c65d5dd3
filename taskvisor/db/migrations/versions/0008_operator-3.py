"""operator-3: schema changes of that work (empty until it lands).

Revision ID: 0008_operator_3
Revises: 0007_server_actions
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0008_operator_3'
down_revision = '0007_server_actions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
