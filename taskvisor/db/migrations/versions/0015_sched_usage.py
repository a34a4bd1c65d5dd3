"""sched_usage: a server's flavor disk as a plain column beside vcpus and ram,
and one index (host, deleted, vcpus, ram, disk) that holds all the scheduler's
per-host usage sum reads, so a boot's host choice reads no server row or JSON
(it replaces ix_servers_host, its prefix)

Revision ID: 0015_sched_usage
Revises: 0014_perf
"""
from alembic import op
import sqlalchemy as sa

revision = '0015_sched_usage'
down_revision = '0014_perf'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("servers", sa.Column("disk", sa.Integer, nullable=False, server_default="0"))
    servers = sa.table("servers", sa.column("flavor", sa.JSON), sa.column("disk", sa.Integer))
    op.get_bind().execute(sa.update(servers).values(
        disk=sa.func.coalesce(servers.c.flavor["disk"].as_integer(), 0)))
    op.create_index("ix_servers_usage", "servers", ["host", "deleted", "vcpus", "ram", "disk"])
    op.drop_index("ix_servers_host", table_name="servers")


def downgrade() -> None:
    op.create_index("ix_servers_host", "servers", ["host"])
    op.drop_index("ix_servers_usage", table_name="servers")
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("disk")
