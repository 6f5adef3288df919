"""sessions: named by their owner, pinned, archived, deleted (undo window)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_sessions') as batch:
        batch.add_column(sa.Column('named_by_owner', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    # Existing sessions whose name is not the placeholder were named by hand or from their first
    # message; either way an automatic title should not replace it now.
    op.execute("UPDATE chat_sessions SET named_by_owner = name <> 'New chat'")
    with op.batch_alter_table('chat_sessions') as batch:
        batch.alter_column('named_by_owner', server_default=None)


def downgrade():
    with op.batch_alter_table('chat_sessions') as batch:
        batch.drop_column('deleted_at')
        batch.drop_column('archived_at')
        batch.drop_column('pinned_at')
        batch.drop_column('named_by_owner')
