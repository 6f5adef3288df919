"""human handoff: help requests and the audit log

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'help_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('waiting', 'acknowledged', 'joined', 'cancelled', 'resolved')",
            name=op.f('ck_help_requests_state')),
        sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'],
                                name=op.f('fk_help_requests_session_id_chat_sessions'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_help_requests_requested_by_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'],
                                name=op.f('fk_help_requests_acknowledged_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_help_requests')),
    )
    op.create_index(op.f('ix_help_requests_session_id'), 'help_requests', ['session_id'],
                    unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'],
                                name=op.f('fk_audit_log_session_id_chat_sessions'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_session_id'), 'audit_log', ['session_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_audit_log_session_id'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_help_requests_session_id'), table_name='help_requests')
    op.drop_table('help_requests')
