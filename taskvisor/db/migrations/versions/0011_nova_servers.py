"""nova-servers: a server's lock (locked_by, locked_reason) and access addresses, and server tags

Revision ID: 0011_nova_servers
Revises: 0010_nova_placement
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_nova_servers'
down_revision = '0010_nova_placement'
branch_labels = None
depends_on = None

_COLUMNS = (("locked_by", 16), ("locked_reason", 255), ("access_ip_v4", 39), ("access_ip_v6", 39))


def upgrade() -> None:
    for name, length in _COLUMNS:
        op.add_column("servers", sa.Column(name, sa.String(length), nullable=True))
    op.create_table(
        "server_tags",
        sa.Column("server_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("server_id", "tag", name="pk_server_tags"),
    )
    op.create_index("ix_server_tags_tag", "server_tags", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_server_tags_tag", table_name="server_tags")
    op.drop_table("server_tags")
    with op.batch_alter_table("servers") as batch:  # SQLite drops columns by copying the table
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
