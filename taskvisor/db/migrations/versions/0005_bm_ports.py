"""bm-ports: Ironic's ports and port groups, and the node-chassis link

Revision ID: 0005_bm_ports
Revises: 0004_node_traits
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_bm_ports'
down_revision = '0004_node_traits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("nodes", sa.Column("chassis_id", sa.String(36)))
    op.create_index("ix_nodes_chassis_id", "nodes", ["chassis_id"])
    op.create_table(
        "portgroups",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("address", sa.String(18)),
        sa.Column("mode", sa.String(255)),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("standalone_ports_supported", sa.Boolean, nullable=False),
        sa.Column("physical_network", sa.String(64)),
        sa.Column("category", sa.String(80)),
        sa.Column("dynamic_portgroup", sa.Boolean, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("internal_info", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_portgroups"),
        sa.UniqueConstraint("name", name="uq_portgroups_name"),
        sa.UniqueConstraint("address", name="uq_portgroups_address"),
    )
    op.create_index("ix_portgroups_node_id", "portgroups", ["node_id"])
    op.create_table(
        "ports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("portgroup_id", sa.String(36)),
        sa.Column("address", sa.String(18), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("local_link_connection", sa.JSON, nullable=False),
        sa.Column("pxe_enabled", sa.Boolean, nullable=False),
        sa.Column("physical_network", sa.String(64)),
        sa.Column("is_smartnic", sa.Boolean, nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("vendor", sa.String(32)),
        sa.Column("category", sa.String(80)),
        sa.Column("available_for_dynamic_portgroup", sa.Boolean, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("internal_info", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_ports"),
        sa.UniqueConstraint("address", name="uq_ports_address"),
        sa.UniqueConstraint("name", name="uq_ports_name"),
    )
    op.create_index("ix_ports_node_id", "ports", ["node_id"])
    op.create_index("ix_ports_portgroup_id", "ports", ["portgroup_id"])


def downgrade() -> None:
    op.drop_index("ix_ports_portgroup_id", table_name="ports")
    op.drop_index("ix_ports_node_id", table_name="ports")
    op.drop_table("ports")
    op.drop_index("ix_portgroups_node_id", table_name="portgroups")
    op.drop_table("portgroups")
    op.drop_index("ix_nodes_chassis_id", table_name="nodes")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("chassis_id")
