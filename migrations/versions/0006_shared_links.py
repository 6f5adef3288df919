"""shared links: read-only snapshots of a chat session, stored hashed

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shared_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'],
                                name=op.f('fk_shared_links_session_id_chat_sessions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shared_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_shared_links_token_hash')),
    )
    op.create_index(op.f('ix_shared_links_session_id'), 'shared_links', ['session_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_shared_links_session_id'), table_name='shared_links')
    op.drop_table('shared_links')
