"""indexes: unfinished tasks (the claim), the list views' order

The claim reads ``WHERE status IN ('queued', 'running', 'reverting') ORDER BY
created_ts``: a partial index of the unfinished tasks keeps that read the
same size however many finished tasks the table holds (with the statistics
ANALYZE leaves, both planners otherwise scan the table: every status looks
equally common to them).

Revision ID: 0002_engine_speed
Revises: 0001

The server lists read ``WHERE project_id = ? AND deleted = false ORDER BY
created_at DESC, id`` (or without the project for an admin's all_tenants)
and page with ``LIMIT``; these indexes serve that order, so a page costs the
same at 10,000 servers as at 100. The node list reads ``ORDER BY created_at, id``.
See docs/performance.md for the plans on SQLite and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_engine_speed'  # alembic allows no '-' in a revision id
down_revision = '0002_engine_life'  # re-chained at merge
branch_labels = None
depends_on = None


ACTIVE_TASKS = "status IN ('queued', 'running', 'reverting')"


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_active', ['created_ts'], unique=False,
                              sqlite_where=sa.text(ACTIVE_TASKS), postgresql_where=sa.text(ACTIVE_TASKS))
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.create_index('ix_servers_project_list', ['project_id', 'deleted', sa.text('created_at DESC'), 'id'],
                              unique=False)
        batch_op.create_index('ix_servers_list', ['deleted', sa.text('created_at DESC'), 'id'], unique=False)
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.create_index('ix_nodes_list', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_active')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_index('ix_nodes_list')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.drop_index('ix_servers_list')
        batch_op.drop_index('ix_servers_project_list')
