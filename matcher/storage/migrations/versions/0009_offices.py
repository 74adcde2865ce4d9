"""offices: officials belong to an office (province, city or county), enterprises are located in a county,
intermediaries are registered for an area (GB/T 2260 codes from the region file; empty = the province)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_code", sa.String(length=6), nullable=True))
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_code", sa.String(length=6), nullable=True))
        batch_op.create_index("ix_enterprises_county_code", ["county_code"], unique=False)
    with op.batch_alter_table("intermediaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intermediaries", schema=None) as batch_op:
        batch_op.drop_column("area_code")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprises_county_code")
        batch_op.drop_column("county_code")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("office_code")
