"""decision events: feedback for learning to rank

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('decision_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('demand_id', sa.Integer(), nullable=False),
    sa.Column('talent_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('list_id', sa.String(length=40), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('ranker', sa.String(length=60), nullable=False),
    sa.Column('features', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_decision_events_at', 'decision_events', ['at'], unique=False)
    op.create_index('ix_decision_events_kind', 'decision_events', ['kind'], unique=False)
    op.create_index('ix_decision_events_demand_id', 'decision_events', ['demand_id'], unique=False)
    op.create_index('ix_decision_events_talent_id', 'decision_events', ['talent_id'], unique=False)
    op.create_index('ix_decision_events_list_id', 'decision_events', ['list_id'], unique=False)


def downgrade() -> None:
    for name in ('list_id', 'talent_id', 'demand_id', 'kind', 'at'):
        op.drop_index(f'ix_decision_events_{name}', table_name='decision_events')
    op.drop_table('decision_events')
