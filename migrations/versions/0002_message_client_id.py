"""client id on messages, unique per session (idempotent sends)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_chat_messages_session_id_client_id'),
                                          ['session_id', 'client_id'])


def downgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_chat_messages_session_id_client_id'), type_='unique')
        batch_op.drop_column('client_id')
