"""programme rules: review in steps and 容缺 on matches, structured fields, completeness, the office's note and
the reason of closure on demands, organisations with their aliases and the declared relations (conflicts of
interest)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("demands") as b:
        b.add_column(sa.Column("programme", sa.String(length=40), nullable=True))
        b.add_column(sa.Column("current_state", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("target_indicators", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("site_conditions", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("completeness", sa.Integer(), nullable=True))
        b.add_column(sa.Column("office_note", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("closed_reason", sa.String(length=20), nullable=True))
    with op.batch_alter_table("matches") as b:
        b.add_column(sa.Column("programme_key", sa.String(length=40), nullable=True))
        b.add_column(sa.Column("programme_version", sa.String(length=20), nullable=True))
        b.add_column(sa.Column("review_step", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("approved_by_office", sa.String(length=6), nullable=True))
        b.add_column(sa.Column("graded_by_office", sa.String(length=6), nullable=True))
        b.add_column(sa.Column("missing_items", sa.JSON(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("promised_by", sa.Date(), nullable=True))
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("credit_code"),
        sa.UniqueConstraint("enterprise_id"),
    )
    op.create_table(
        "organisation_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alias"),
    )
    op.create_index("ix_organisation_aliases_organisation_id", "organisation_aliases", ["organisation_id"])
    op.create_table(
        "relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["declared_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relations_subject_kind", "relations", ["subject_kind"])
    op.create_index("ix_relations_subject_id", "relations", ["subject_id"])
    op.create_index("ix_relations_organisation_id", "relations", ["organisation_id"])


def downgrade() -> None:
    op.drop_index("ix_relations_organisation_id", table_name="relations")
    op.drop_index("ix_relations_subject_id", table_name="relations")
    op.drop_index("ix_relations_subject_kind", table_name="relations")
    op.drop_table("relations")
    op.drop_index("ix_organisation_aliases_organisation_id", table_name="organisation_aliases")
    op.drop_table("organisation_aliases")
    op.drop_table("organisations")
    with op.batch_alter_table("matches") as b:
        for c in ("promised_by", "missing_items", "graded_by_office", "approved_by_office", "review_step",
                  "programme_version", "programme_key"):
            b.drop_column(c)
    with op.batch_alter_table("demands") as b:
        for c in ("closed_reason", "office_note", "completeness", "site_conditions", "target_indicators",
                  "current_state", "programme"):
            b.drop_column(c)
