"""bm-extras: node RAID, console, BIOS, firmware, history and other node sub-resources (reserved; filled by its work stream)

Revision ID: 0013_bm_node_extras
Revises: 0012_bm_volume
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0013_bm_node_extras'
down_revision = '0012_bm_volume'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
