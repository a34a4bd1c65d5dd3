"""bm-allocations: Ironic's allocations (a node picked by resource class,
traits and candidates, then reserved for the allocation's owner)

Revision ID: 0007_bm_allocations
Revises: 0006_bm_catalog
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_bm_allocations'
down_revision = '0006_bm_catalog'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("node_id", sa.String(36)),
        sa.Column("state", sa.String(15), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("last_error", sa.Text),
        sa.Column("resource_class", sa.String(80)),
        sa.Column("traits", sa.JSON, nullable=False),
        sa.Column("candidate_nodes", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("task_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_allocations"),
        sa.UniqueConstraint("name", name="uq_allocations_name"),
        sa.UniqueConstraint("node_id", name="uq_allocations_node_id"),
    )
    op.create_index("ix_allocations_list", "allocations", ["created_at", "id"])
    op.create_index("ix_allocations_owner", "allocations", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_allocations_owner", table_name="allocations")
    op.drop_index("ix_allocations_list", table_name="allocations")
    op.drop_table("allocations")
