"""bm-volume: volume connectors and targets, inspection rules, VIFs (reserved; filled by its work stream)

Revision ID: 0012_bm_volume
Revises: 0011_nova_servers
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0012_bm_volume'
down_revision = '0011_nova_servers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
