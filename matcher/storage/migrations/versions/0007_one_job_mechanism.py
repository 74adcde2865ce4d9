"""one job mechanism: rounds become jobs of kind 'round'; the consent version a propose consent covers

Revision ID: 0007
Revises: 0006

Rounds move into ``jobs`` (status queued/running/done/failed, their old status kept as the stage, their
report as the job's result) and the matches a round proposed point to the round's new job id. A round
that was mid-way (scoring/solving) was interrupted by the upgrade: it becomes a failed job, as the sweep
would have made it. Granted propose consents were given under the first text version.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_STATUS = {"queued": "failed", "scoring": "failed", "solving": "failed", "done": "done", "failed": "failed"}


def upgrade() -> None:
    conn = op.get_bind()
    rounds = sa.table("rounds", sa.column("id", sa.Integer), sa.column("status", sa.String),
                      sa.column("progress", sa.Float), sa.column("params", sa.JSON), sa.column("report", sa.JSON),
                      sa.column("error", sa.Text), sa.column("created_by", sa.Integer),
                      sa.column("created_at", sa.DateTime(timezone=True)),
                      sa.column("finished_at", sa.DateTime(timezone=True)))
    jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("status", sa.String),
                    sa.column("stage", sa.String), sa.column("progress", sa.Float), sa.column("params", sa.JSON),
                    sa.column("result", sa.JSON), sa.column("error", sa.Text), sa.column("created_by", sa.Integer),
                    sa.column("created_at", sa.DateTime(timezone=True)),
                    sa.column("started_at", sa.DateTime(timezone=True)),
                    sa.column("finished_at", sa.DateTime(timezone=True)))
    matches = sa.table("matches", sa.column("round_id", sa.Integer))
    old = conn.execute(sa.select(rounds).order_by(rounds.c.id)).mappings().all()
    # Matches first point to the negated old id, so a new job id equal to another old round id never
    # collides while the ids are rewritten one by one.
    conn.execute(matches.update().where(matches.c.round_id.is_not(None)).values(round_id=-matches.c.round_id))
    for r in old:
        status = _STATUS.get(r["status"], "failed")
        error = r["error"] or ("" if status == "done" else "interrupted by the upgrade to one job mechanism")
        new_id = conn.execute(jobs.insert().values(
            kind="round", status=status, stage=r["status"] if status == "done" else "failed",
            progress=r["progress"], params=r["params"] or {}, result=r["report"] or {}, error=error,
            created_by=r["created_by"], created_at=r["created_at"], started_at=r["created_at"],
            finished_at=r["finished_at"]).returning(jobs.c.id)).scalar_one()
        conn.execute(matches.update().where(matches.c.round_id == -r["id"]).values(round_id=new_id))
    op.drop_table("rounds")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_kind"), ["kind"], unique=False)
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_propose_version", sa.String(length=200), nullable=True))
    talents = sa.table("talents", sa.column("consent_propose", sa.String),
                       sa.column("consent_propose_version", sa.String))
    conn.execute(talents.update().where(talents.c.consent_propose == "granted")
                 .values(consent_propose_version="2026-11-v1"))


def downgrade() -> None:
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.drop_column("consent_propose_version")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_kind"))
    op.create_table("rounds",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("status", sa.String(length=20), nullable=False),
                    sa.Column("progress", sa.Float(), nullable=False),
                    sa.Column("params", sa.JSON(), nullable=False),
                    sa.Column("report", sa.JSON(), nullable=False),
                    sa.Column("error", sa.Text(), nullable=False),
                    sa.Column("created_by", sa.Integer(), nullable=True),
                    sa.Column("lease_owner", sa.String(length=100), nullable=True),
                    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
                    sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
                    sa.PrimaryKeyConstraint("id"))
