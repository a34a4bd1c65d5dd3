"""usage_counts: per host and per (project, user), the count and the vcpus,
ram (and, per host, disk) sums of the servers not deleted, kept by triggers
on servers (taskvisor/db/usage_counts.py), and filled from the servers as
they stand. The scheduler's host choice and the quota's count read these
instead of summing every server of the host or project; ix_servers_quota,
the covering index the quota's sum read, goes (nothing else reads it, and
every server write kept it)

Revision ID: 0017_usage_counts
Revises: 0016_unfinished_resource
"""
from alembic import op
import sqlalchemy as sa

from taskvisor.db import usage_counts

revision = '0017_usage_counts'
down_revision = '0016_unfinished_resource'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_usage",
        sa.Column("host", sa.String(255), primary_key=True),
        *[sa.Column(name, sa.Integer, nullable=False) for name in usage_counts.HOST_USAGE_COLUMNS])
    op.create_table(
        "project_usage",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        *[sa.Column(name, sa.Integer, nullable=False) for name in usage_counts.PROJECT_USAGE_COLUMNS])
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # no server written between the counts' fill and their triggers (an
        # older process may still be running): held until the migration commits
        conn.exec_driver_sql("LOCK TABLE servers IN SHARE ROW EXCLUSIVE MODE")
    conn.exec_driver_sql(f"INSERT INTO host_usage (host, servers, vcpus, ram, disk) {usage_counts.HOST_COUNTS}")
    conn.exec_driver_sql(f"INSERT INTO project_usage (project_id, user_id, servers, vcpus, ram) "
                         f"{usage_counts.PROJECT_COUNTS}")
    for statement in usage_counts.ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    op.drop_index("ix_servers_quota", table_name="servers")


def downgrade() -> None:
    op.create_index("ix_servers_quota", "servers", ["project_id", "deleted", "vcpus", "ram"])
    conn = op.get_bind()
    for statement in usage_counts.drop_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    op.drop_table("project_usage")
    op.drop_table("host_usage")
