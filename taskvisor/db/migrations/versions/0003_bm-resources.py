"""bm-resources: the chassis table (Ironic's chassis: description, extra).

Revision ID: 0003_bm_resources
Revises: 0002_operator
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_bm_resources'
down_revision = '0002_operator'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chassis",
        sa.Column("id", sa.String(36)),
        sa.Column("description", sa.String(255)),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_chassis"),
    )


def downgrade() -> None:
    op.drop_table("chassis")
