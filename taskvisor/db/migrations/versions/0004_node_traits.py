"""node traits: Ironic's per-node trait list (CUSTOM_*, HW_*), matched by allocations, deploy templates and runbooks

Revision ID: 0004_node_traits
Revises: 0003_bm_resources
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_node_traits'
down_revision = '0003_bm_resources'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_traits",
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("trait", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("node_id", "trait", name="pk_node_traits"),
    )
    op.create_index("ix_node_traits_trait", "node_traits", ["trait"])


def downgrade() -> None:
    op.drop_index("ix_node_traits_trait", table_name="node_traits")
    op.drop_table("node_traits")
