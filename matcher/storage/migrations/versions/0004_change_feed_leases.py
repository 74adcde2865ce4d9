"""talent change feed; leases on rounds (jobs have them since 0003)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('talent_changes',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('talent_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_talent_changes_talent_id', 'talent_changes', ['talent_id'], unique=False)
    op.create_index('ix_talent_changes_at', 'talent_changes', ['at'], unique=False)
    with op.batch_alter_table('rounds') as batch:
        batch.add_column(sa.Column('lease_owner', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rounds') as batch:
        batch.drop_column('lease_expires_at')
        batch.drop_column('lease_owner')
    op.drop_index('ix_talent_changes_at', table_name='talent_changes')
    op.drop_index('ix_talent_changes_talent_id', table_name='talent_changes')
    op.drop_table('talent_changes')
