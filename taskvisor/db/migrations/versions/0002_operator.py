"""operator views: index tasks by updated_at (the task event stream's cursor)
and by created_ts alone (the global task list's order)

Revision ID: 0002_operator
Revises: 0002_identity
"""
from alembic import op

revision = '0002_operator'
down_revision = '0002_identity'  # re-chained at merge (was '0001')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tasks_updated_at', 'tasks', ['updated_at'], unique=False)
    op.create_index('ix_tasks_created_ts', 'tasks', ['created_ts'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_created_ts', table_name='tasks')
    op.drop_index('ix_tasks_updated_at', table_name='tasks')
