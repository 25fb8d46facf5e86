"""The roster's name search indexed per clinic: a trigram index on (clinic_id, name)

Revision ID: 03572659bd66
Revises: a9469e1a9c5d
Create Date: 2026-11-30 06:20:00.000000

The trigram index on the name alone gave a search every match in the database, each then
checked for its clinic: in one clinic of a thousand, a common name cost the other 999
clinics' matches too. With btree_gin the clinic is part of the index, so a search reads
only its own clinic's matches. Where btree_gin cannot be created the name-only index stays.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '03572659bd66'
down_revision = 'a9469e1a9c5d'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not has_index(bind, "ix_patient_name_trgm"):
        return  # SQLite, or no pg_trgm: the search scans the clinic's rows
    with bind.begin_nested():
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gin"))
        except sa.exc.DBAPIError:
            return
    bind.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_patient_clinic_name_trgm ON patient "
                         "USING gin (clinic_id, name gin_trgm_ops)"))
    bind.execute(sa.text("DROP INDEX ix_patient_name_trgm"))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not has_index(bind, "ix_patient_clinic_name_trgm"):
        return
    bind.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_patient_name_trgm ON patient "
                         "USING gin (name gin_trgm_ops)"))
    bind.execute(sa.text("DROP INDEX ix_patient_clinic_name_trgm"))


def has_index(bind, name: str) -> bool:
    return bool(bind.execute(sa.text("SELECT to_regclass(:name) IS NOT NULL"),
                             {"name": name}).scalar())
