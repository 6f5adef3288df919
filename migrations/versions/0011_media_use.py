"""media use: where an attachment came from, voice transcripts, voice and read-aloud preferences

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=20), nullable=False,
                                   server_default='upload'))
        batch.add_column(sa.Column('transcript', sa.Text(), nullable=True))
        batch.add_column(sa.Column('transcript_status', sa.String(length=20), nullable=True))
        batch.create_check_constraint('origin', "origin IN ('upload', 'assistant', 'speech')")
        batch.create_check_constraint(
            'transcript_status', "transcript_status IN ('pending', 'done', 'failed')")
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('read_aloud', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('voice_autosend', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('voice_autosend')
        batch.drop_column('read_aloud')
    with op.batch_alter_table('attachments') as batch:
        batch.drop_constraint('transcript_status', type_='check')
        batch.drop_constraint('origin', type_='check')
        batch.drop_column('transcript_status')
        batch.drop_column('transcript')
        batch.drop_column('origin')
