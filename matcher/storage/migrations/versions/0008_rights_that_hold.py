"""rights that hold: the fields a talent corrected themselves; revocable invitation codes

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_corrected", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.drop_column("self_corrected")
