"""nova-quotas: keypairs, quotas, quota classes, server groups and their members,
flavor access.

Revision ID: 0009_nova_quotas
Revises: 0008_bm_templates
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_nova_quotas'
down_revision = '0008_bm_templates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_pairs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255)),
        sa.Column("fingerprint", sa.String(255), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_key_pairs"),
        sa.UniqueConstraint("user_id", "name", name="uq_key_pairs_user_id_name"),
    )
    op.create_table(
        "quotas",
        sa.Column("project_id", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("resource", sa.String(255)),
        sa.Column("hard_limit", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "user_id", "resource", name="pk_quotas"),
    )
    op.create_table(
        "quota_classes",
        sa.Column("class_name", sa.String(255)),
        sa.Column("resource", sa.String(255)),
        sa.Column("hard_limit", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("class_name", "resource", name="pk_quota_classes"),
    )
    op.create_table(
        "server_groups",
        sa.Column("id", sa.String(36)),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_server_groups"),
    )
    op.create_index("ix_server_groups_project", "server_groups", ["project_id"])
    op.create_table(
        "server_group_members",
        sa.Column("group_id", sa.String(36)),
        sa.Column("server_id", sa.String(36)),
        sa.PrimaryKeyConstraint("group_id", "server_id", name="pk_server_group_members"),
    )
    op.create_index("ix_server_group_members_server", "server_group_members", ["server_id"])
    op.create_table(
        "flavor_projects",
        sa.Column("flavor_id", sa.String(255)),
        sa.Column("project_id", sa.String(255)),
        sa.PrimaryKeyConstraint("flavor_id", "project_id", name="pk_flavor_projects"),
    )


def downgrade() -> None:
    op.drop_table("flavor_projects")
    op.drop_index("ix_server_group_members_server", "server_group_members")
    op.drop_table("server_group_members")
    op.drop_index("ix_server_groups_project", "server_groups")
    op.drop_table("server_groups")
    op.drop_table("quota_classes")
    op.drop_table("quotas")
    op.drop_table("key_pairs")
