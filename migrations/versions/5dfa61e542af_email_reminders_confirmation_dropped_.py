"""E-mail reminders: an address waiting for its confirmation link, a bounced address dropped,
the channel a reminder went out on

Revision ID: 5dfa61e542af
Revises: 6bf3da72bad2
Create Date: 2026-11-29 23:41:11.338644

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5dfa61e542af'
down_revision = '6bf3da72bad2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_email_confirmation_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_confirmation')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_email_confirmation_patient_id'))
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_dropped_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=True))



def downgrade():
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_column('channel')

    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('email_dropped_at')

    op.drop_table('email_confirmation')
