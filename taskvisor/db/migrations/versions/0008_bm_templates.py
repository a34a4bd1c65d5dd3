"""bm-templates: deploy templates and runbooks (Ironic's; steps as one JSON list each)

Revision ID: 0008_bm_templates
Revises: 0007_bm_allocations
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_bm_templates'
down_revision = '0007_bm_allocations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_templates",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_deploy_templates"),
        sa.UniqueConstraint("uuid", name="uq_deploy_templates_uuid"),
        sa.UniqueConstraint("name", name="uq_deploy_templates_name"),
    )
    op.create_table(
        "runbooks",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("disable_ramdisk", sa.Boolean, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("traits", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("id", name="pk_runbooks"),
        sa.UniqueConstraint("uuid", name="uq_runbooks_uuid"),
        sa.UniqueConstraint("name", name="uq_runbooks_name"),
    )
    op.create_index("ix_runbooks_owner", "runbooks", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_runbooks_owner", table_name="runbooks")
    op.drop_table("runbooks")
    op.drop_table("deploy_templates")
