"""A clinic's settings change queues a re-plan of its patients for the reminder worker

Revision ID: bd5c1ce48126
Revises: 5dfa61e542af
Create Date: 2026-11-29 23:41:26.273873

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bd5c1ce48126'
down_revision = '5dfa61e542af'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinic_replan',
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('after_patient_id', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_clinic_replan_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinic_id', name=op.f('pk_clinic_replan'))
    )


def downgrade():
    op.drop_table('clinic_replan')
