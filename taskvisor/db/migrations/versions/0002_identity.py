"""nodes: owner and lessee projects (Ironic's multi-tenant node fields,
which the node policy rules match against)

Revision ID: 0002_identity
Revises: 0002_engine_speed
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_identity'
down_revision = '0002_engine_speed'  # re-chained at merge (after what main had)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('owner', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('lessee', sa.String(length=255), nullable=True))
        batch.create_index('ix_nodes_owner', ['owner'])
        batch.create_index('ix_nodes_lessee', ['lessee'])


def downgrade() -> None:
    with op.batch_alter_table('nodes') as batch:
        batch.drop_index('ix_nodes_lessee')
        batch.drop_index('ix_nodes_owner')
        batch.drop_column('lessee')
        batch.drop_column('owner')
