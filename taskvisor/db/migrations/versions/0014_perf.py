"""perf: a server's vcpus and ram as plain columns, so the quota check sums
integers instead of reading every server's JSON flavor, from an index that
holds all it reads

Revision ID: 0014_perf
Revises: 0013_bm_node_extras
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_perf'
down_revision = '0013_bm_node_extras'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("servers", sa.Column("vcpus", sa.Integer, nullable=False, server_default="0"))
    op.add_column("servers", sa.Column("ram", sa.Integer, nullable=False, server_default="0"))
    servers = sa.table("servers", sa.column("flavor", sa.JSON), sa.column("vcpus", sa.Integer),
                       sa.column("ram", sa.Integer))
    # one statement for every row (the JSON paths as the old quota count read them, on both databases)
    op.get_bind().execute(sa.update(servers).values(
        vcpus=sa.func.coalesce(servers.c.flavor["vcpus"].as_integer(), 0),
        ram=sa.func.coalesce(servers.c.flavor["ram"].as_integer(), 0)))
    op.create_index("ix_servers_quota", "servers", ["project_id", "deleted", "vcpus", "ram"])


def downgrade() -> None:
    op.drop_index("ix_servers_quota", table_name="servers")
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("ram")
        batch.drop_column("vcpus")
