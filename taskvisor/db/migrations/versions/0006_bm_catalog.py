"""bm-catalog: the node's shard (Ironic 1.82, filtered and counted by
GET /v1/shards), conductor group (1.46, which conductors may serve it) and
description (1.51), and the interfaces it chose other than its driver's
defaults (node.<kind>_interface, 1.31), and the protected flag and reason (1.48).

Revision ID: 0006_bm_catalog
Revises: 0005_bm_ports
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_bm_catalog'
down_revision = '0005_bm_ports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("shard", sa.String(255), nullable=True))
        batch.add_column(sa.Column("conductor_group", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("description", sa.Text, nullable=True))
        batch.add_column(sa.Column("interfaces", sa.JSON, nullable=True))
        batch.add_column(sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("protected_reason", sa.Text, nullable=True))
        batch.create_index("ix_nodes_shard", ["shard"])


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.drop_index("ix_nodes_shard")
        batch.drop_column("protected_reason")
        batch.drop_column("protected")
        batch.drop_column("interfaces")
        batch.drop_column("description")
        batch.drop_column("conductor_group")
        batch.drop_column("shard")
