"""The roster at size: a stored next session, the roster's indexes, trigram name search

Revision ID: bf55cf3a5ad8
Revises: bd5c1ce48126
Create Date: 2026-11-30 00:07:32.012157

"""
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'bf55cf3a5ad8'
down_revision = 'bd5c1ce48126'
branch_labels = None
depends_on = None


CURRENT = sa.text("archived_at IS NULL")
BOOKED = sa.text("next_session_booked")


def upgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_session_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_session_booked', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
    op.create_index('ix_patient_roster_next',
                    'patient', ['clinic_id', 'next_session_at', sa.text('lower(name)'), 'id'],
                    postgresql_where=CURRENT, sqlite_where=CURRENT)
    op.create_index('ix_patient_roster_name', 'patient',
                    ['clinic_id', sa.text('lower(name)'), 'id'],
                    postgresql_where=CURRENT, sqlite_where=CURRENT)
    op.create_index('ix_patient_roster_recent', 'patient', ['clinic_id', 'created_at', 'id'],
                    postgresql_where=CURRENT, sqlite_where=CURRENT)
    op.create_index('ix_patient_next_booked', 'patient', ['clinic_id', 'next_session_at'],
                    postgresql_where=BOOKED, sqlite_where=BOOKED)
    op.create_index('ix_treatment_session_starts', 'treatment_session', ['starts_at'])
    backfill_next_sessions()
    if op.get_bind().dialect.name == "postgresql":
        name_search_index()


def backfill_next_sessions():
    """Every patient's next session as meso/next_session.py computes it (copied here: a
    migration keeps the rule of its day)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    courses = bind.execute(sa.text(
        "SELECT id, patient_id, planned_sessions, interval_weeks FROM course")).all()
    starts = defaultdict(list)
    for course_id, start in bind.execute(
            sa.text("SELECT course_id, starts_at FROM treatment_session")
            .columns(course_id=sa.Integer(), starts_at=sa.DateTime())):
        starts[course_id].append(start.replace(tzinfo=UTC))  # stored as naive UTC
    values = []
    for course_id, patient_id, planned, interval in courses:
        known = starts[course_id]
        booked = [s for s in known if s > now]
        when, is_booked = (min(booked), True) if booked else (
            (max(known) + timedelta(weeks=interval), False) if known and len(known) < planned
            else (None, False))
        values.append({"pid": patient_id, "at": when and when.replace(tzinfo=None),
                       "booked": is_booked})
    if values:
        bind.execute(sa.text("UPDATE patient SET next_session_at = :at, "
                             "next_session_booked = :booked WHERE id = :pid")
                     .bindparams(sa.bindparam("at", type_=sa.DateTime()),
                                 sa.bindparam("booked", type_=sa.Boolean())), values)


def name_search_index():
    """PostgreSQL: a trigram index for the roster's name search (ILIKE '%...%'), if the
    pg_trgm extension is there or may be created; without it the search scans the clinic's
    rows, as on SQLite."""
    bind = op.get_bind()
    with bind.begin_nested():
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError:
            return
    bind.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_patient_name_trgm ON patient "
                         "USING gin (name gin_trgm_ops)"))


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_patient_name_trgm")
    op.drop_index('ix_treatment_session_starts', table_name='treatment_session')
    op.drop_index('ix_patient_next_booked', table_name='patient')
    op.drop_index('ix_patient_roster_recent', table_name='patient')
    op.drop_index('ix_patient_roster_name', table_name='patient')
    op.drop_index('ix_patient_roster_next', table_name='patient')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('next_session_booked')
        batch_op.drop_column('next_session_at')
