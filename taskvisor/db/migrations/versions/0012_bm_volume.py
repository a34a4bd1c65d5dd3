"""bm-volume: Ironic's volume connectors and volume targets, and inspection rules

Revision ID: 0012_bm_volume
Revises: 0011_nova_servers
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_bm_volume'
down_revision = '0011_nova_servers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volume_connectors",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("connector_id", sa.String(255), nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_volume_connectors"),
        sa.UniqueConstraint("type", "connector_id", name="uniq_volume_connectors_type_connector_id"),
    )
    op.create_index("ix_volume_connectors_node_id", "volume_connectors", ["node_id"])
    op.create_table(
        "volume_targets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("volume_type", sa.String(64), nullable=False),
        sa.Column("volume_id", sa.String(255), nullable=False),
        sa.Column("boot_index", sa.Integer, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_volume_targets"),
        sa.UniqueConstraint("node_id", "boot_index", name="uniq_volume_targets_node_id_boot_index"),
    )
    op.create_table(
        "inspection_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("scope", sa.String(255)),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_rules"),
    )


def downgrade() -> None:
    op.drop_table("inspection_rules")
    op.drop_table("volume_targets")
    op.drop_index("ix_volume_connectors_node_id", table_name="volume_connectors")
    op.drop_table("volume_connectors")
