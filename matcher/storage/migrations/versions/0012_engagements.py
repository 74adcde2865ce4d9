"""engagements: agreements in versions with the parties' confirmations, service records, assessments and the
office's grades, budgets and rewards by rule; 奖补 in integer yuan (the 万元 float of a match migrated)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    with op.batch_alter_table("matches") as b:
        b.add_column(sa.Column("reward_yuan", sa.Integer(), nullable=True))
    # 万元 floats to whole yuan, rounded (2.35 万元 is 23500 yuan although 2.35 * 10000 is 23499.999…)
    op.execute("UPDATE matches SET reward_yuan = CAST(ROUND(reward_amount * 10000) AS INTEGER) "
               "WHERE reward_amount IS NOT NULL")
    with op.batch_alter_table("matches") as b:
        b.drop_column("reward_amount")
    op.create_table(
        "engagements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("matches.id"), nullable=False),
        sa.Column("programme_key", sa.String(length=40), nullable=False),
        sa.Column("programme_version", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("days_on_site_per_month", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("match_id"),
    )
    op.create_index("ix_engagements_status", "engagements", ["status"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_engagement_id", "attachments", ["engagement_id"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=False),
        sa.Column("scan_attachment_id", sa.Integer(), sa.ForeignKey("attachments.id"), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "version", name="uq_agreement_version"),
    )
    op.create_index("ix_agreements_engagement_id", "agreements", ["engagement_id"])
    op.create_table(
        "agreement_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_copy_attachment_id", sa.Integer(), sa.ForeignKey("attachments.id"), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_id", "party", name="uq_confirmation_party"),
    )
    op.create_index("ix_agreement_confirmations_agreement_id", "agreement_confirmations", ["agreement_id"])
    op.create_table(
        "service_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("days_on_site", sa.Float(), nullable=False),
        sa.Column("remote_hours", sa.Float(), nullable=False),
        sa.Column("tasks", sa.Text(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("recorded_role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_records_engagement_id", "service_records", ["engagement_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "period", "party", name="uq_assessment_party"),
    )
    op.create_index("ix_assessments_engagement_id", "assessments", ["engagement_id"])
    op.create_table(
        "engagement_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("office_code", sa.String(length=6), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "period", name="uq_grade_period"),
    )
    op.create_index("ix_engagement_grades_engagement_id", "engagement_grades", ["engagement_id"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=40), nullable=False),
        sa.Column("office_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("total_yuan", sa.Integer(), nullable=False),
        sa.Column("committed_yuan", sa.Integer(), nullable=False),
        sa.Column("paid_yuan", sa.Integer(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_key", "office_code", "year", name="uq_budget"),
    )
    op.create_table(
        "rewards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), sa.ForeignKey("engagements.id"), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.String(length=20), nullable=False),
        sa.Column("payee", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("base_yuan", sa.Integer(), nullable=True),
        sa.Column("base_attachment_id", sa.Integer(), sa.ForeignKey("attachments.id"), nullable=True),
        sa.Column("computed_yuan", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Integer(), nullable=False),
        sa.Column("computation", sa.JSON(), nullable=False),
        sa.Column("shares", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("override_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("override_approved_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("computed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("committed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "period", name="uq_reward_period"),
    )
    op.create_index("ix_rewards_engagement_id", "rewards", ["engagement_id"])
    op.create_index("ix_rewards_programme_key", "rewards", ["programme_key"])
    op.create_index("ix_rewards_status", "rewards", ["status"])


def downgrade() -> None:
    for table in ("rewards", "budgets", "engagement_grades", "assessments", "service_records",
                  "agreement_confirmations", "agreements", "attachments", "engagements"):
        op.drop_table(table)
    with op.batch_alter_table("matches") as b:
        b.add_column(sa.Column("reward_amount", sa.Float(), nullable=True))
    op.execute("UPDATE matches SET reward_amount = reward_yuan / 10000.0 WHERE reward_yuan IS NOT NULL")
    with op.batch_alter_table("matches") as b:
        b.drop_column("reward_yuan")
