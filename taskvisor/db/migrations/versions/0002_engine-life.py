"""engine life: bounded task life (runner crash counter, dead-letter reason)

Revision ID: 0002_engine_life
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_engine_life'  # alembic refuses '-' in an id; the file keeps the branch name
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        # Times this task's runner raised out of the engine (a bug, not a step failure).
        batch.add_column(sa.Column('runner_crashes', sa.Integer(), nullable=False, server_default='0'))
        # Why a task was dead-lettered (failed by the engine itself): runner-crashed,
        # too-many-takeovers, deadline-exceeded, step-deadline-exceeded.
        batch.add_column(sa.Column('failure_reason', sa.String(length=64), nullable=True))
        batch.create_index('ix_tasks_status_reason', ['status', 'failure_reason'])


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_index('ix_tasks_status_reason')
        batch.drop_column('failure_reason')
        batch.drop_column('runner_crashes')
