"""teams: the members a match names besides its lead talent (科技博士服务团, a leading talent with a team),
each with their duties and share of the reward

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("matches.id"), nullable=False),
        sa.Column("talent_id", sa.Integer(), sa.ForeignKey("talents.id"), nullable=False),
        sa.Column("duties", sa.Text(), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("match_id", "talent_id", name="uq_match_member"),
    )
    op.create_index("ix_match_members_match_id", "match_members", ["match_id"])
    op.create_index("ix_match_members_talent_id", "match_members", ["talent_id"])


def downgrade() -> None:
    op.drop_index("ix_match_members_talent_id", table_name="match_members")
    op.drop_index("ix_match_members_match_id", table_name="match_members")
    op.drop_table("match_members")
