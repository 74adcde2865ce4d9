"""talent tiers: the programmes' tier of a talent (英才计划: 杰出 / 领军 / 青年; codes in the programme file)

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("talents") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=20), nullable=True))
    op.create_index("ix_talents_tier", "talents", ["tier"])


def downgrade() -> None:
    op.drop_index("ix_talents_tier", table_name="talents")
    with op.batch_alter_table("talents") as batch:
        batch.drop_column("tier")
