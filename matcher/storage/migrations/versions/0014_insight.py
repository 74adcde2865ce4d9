"""insight: the supply read model per demand and mode (the gap map's rows) and the issued 通报 with their
frozen figures

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demand_supply",
        sa.Column("demand_id", sa.Integer(), sa.ForeignKey("demands.id"), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("supply", sa.Integer(), nullable=False),
        sa.Column("best_probability", sa.Float(), nullable=True),
        sa.Column("nearest", sa.JSON(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("demand_id", "mode"),
    )
    op.create_table(
        "insight_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=6), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_insight_reports_office_code", "insight_reports", ["office_code"])


def downgrade() -> None:
    op.drop_index("ix_insight_reports_office_code", table_name="insight_reports")
    op.drop_table("insight_reports")
    op.drop_table("demand_supply")
