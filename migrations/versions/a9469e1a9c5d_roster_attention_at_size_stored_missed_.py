"""The roster's attention at size: the first session, the missed check-in interval, a watch
flag and its review instant, stored on the patient's row

Revision ID: a9469e1a9c5d
Revises: bf55cf3a5ad8
Create Date: 2026-11-30 03:02:34.408585

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9469e1a9c5d'
down_revision = 'bf55cf3a5ad8'
branch_labels = None
depends_on = None


CURRENT_WATCHED = sa.text("archived_at IS NULL AND attention_watch")
REVIEWED = sa.text("attention_review_at IS NOT NULL")
# The app's ATTENTION_STALE: every existing row is due for review, so the first read of each
# clinic's roster works the stored values out with the rule of the day (a migration does not
# copy it); until then every row is watched, which is always safe (a superset).
STALE = "2000-01-01 00:00:00"


def upgrade():
    # Plain ADD COLUMN (SQLite has it): batch mode would reflect and copy the table, whose
    # expression indexes (lower(name)) SQLAlchemy cannot reflect.
    op.add_column('patient', sa.Column('first_session_at', sa.DateTime(), nullable=True))
    op.add_column('patient', sa.Column('missed_from', sa.DateTime(), nullable=True))
    op.add_column('patient', sa.Column('missed_until', sa.DateTime(), nullable=True))
    op.add_column('patient', sa.Column('attention_watch', sa.Boolean(),
                                       server_default=sa.true(), nullable=False))
    op.add_column('patient', sa.Column('attention_review_at', sa.DateTime(), nullable=True))
    op.execute(sa.text(f"UPDATE patient SET attention_review_at = '{STALE}'"))
    op.create_index('ix_patient_roster_watch', 'patient',
                    ['clinic_id', 'next_session_at', sa.text('lower(name)'), 'id'],
                    postgresql_where=CURRENT_WATCHED, sqlite_where=CURRENT_WATCHED)
    op.create_index('ix_patient_attention_review', 'patient',
                    ['clinic_id', 'attention_review_at'],
                    postgresql_where=REVIEWED, sqlite_where=REVIEWED)


def downgrade():
    op.drop_index('ix_patient_attention_review', table_name='patient')
    op.drop_index('ix_patient_roster_watch', table_name='patient')
    for column in ('attention_review_at', 'attention_watch', 'missed_until', 'missed_from',
                   'first_session_at'):
        op.drop_column('patient', column)
