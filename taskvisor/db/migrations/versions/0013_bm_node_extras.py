"""bm-extras: a node's RAID configuration, console, boot mode and secure boot; its BIOS settings,
firmware components and history events

Revision ID: 0013_bm_node_extras
Revises: 0012_bm_volume
"""
from alembic import op
import sqlalchemy as sa

revision = '0013_bm_node_extras'
down_revision = '0012_bm_volume'
branch_labels = None
depends_on = None

_NODE_COLUMNS = ("target_raid_config", "raid_config", "console_enabled", "boot_mode", "secure_boot")


def upgrade() -> None:
    op.add_column("nodes", sa.Column("target_raid_config", sa.JSON, nullable=True))
    op.add_column("nodes", sa.Column("raid_config", sa.JSON, nullable=True))
    op.add_column("nodes", sa.Column("console_enabled", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("nodes", sa.Column("boot_mode", sa.String(16), nullable=True))
    op.add_column("nodes", sa.Column("secure_boot", sa.Boolean, nullable=True))
    op.create_table(
        "bios_settings",
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("attribute_type", sa.String(255)),
        sa.Column("allowable_values", sa.JSON),
        sa.Column("lower_bound", sa.Integer),
        sa.Column("upper_bound", sa.Integer),
        sa.Column("min_length", sa.Integer),
        sa.Column("max_length", sa.Integer),
        sa.Column("read_only", sa.Boolean),
        sa.Column("reset_required", sa.Boolean),
        sa.Column("unique", sa.Boolean),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("node_id", "name", name="pk_bios_settings"),
    )
    op.create_table(
        "firmware_information",
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("component", sa.String(255), nullable=False),
        sa.Column("initial_version", sa.String(255), nullable=False),
        sa.Column("current_version", sa.String(255)),
        sa.Column("last_version_flashed", sa.String(255)),
        sa.Column("vendor", sa.String(255)),
        sa.Column("model", sa.String(255)),
        sa.Column("serial_number", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("node_id", "component", name="pk_firmware_information"),
    )
    op.create_table(
        "node_history",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("node_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("conductor", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("project_id", sa.String(255)),
        sa.Column("state", sa.String(32)),
        sa.Column("target_provision_state", sa.String(32)),
        sa.Column("duration_seconds", sa.Integer),
    )
    op.create_index("ix_node_history_node", "node_history", ["node_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_node_history_node", table_name="node_history")
    op.drop_table("node_history")
    op.drop_table("firmware_information")
    op.drop_table("bios_settings")
    with op.batch_alter_table("nodes") as batch:  # SQLite drops columns by copying the table
        for name in reversed(_NODE_COLUMNS):
            batch.drop_column(name)
