"""unfinished_resource: a partial index of the unfinished tasks by resource,
for the claim's "an older unfinished task of the same resource" probe.
Through ix_tasks_resource that probe read every earlier task of the
resource, finished ones included; through ix_tasks_active (created_ts)
PostgreSQL scanned every unfinished task for each candidate
(docs/performance.md, "The claim on PostgreSQL"). Its condition names the
unfinished tasks as "not finished" so that only this index answers the
probe

Revision ID: 0016_unfinished_resource
Revises: 0015_sched_usage
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_unfinished_resource'
down_revision = '0015_sched_usage'
branch_labels = None
depends_on = None

UNFINISHED_TASKS = "status NOT IN ('succeeded', 'failed', 'reverted', 'cancelled')"


def upgrade() -> None:
    op.create_index("ix_tasks_unfinished_resource", "tasks", ["resource_id", "created_ts"],
                    sqlite_where=sa.text(UNFINISHED_TASKS), postgresql_where=sa.text(UNFINISHED_TASKS))


def downgrade() -> None:
    op.drop_index("ix_tasks_unfinished_resource", table_name="tasks")
