"""alerts: per-admin alert settings, alerts and their deliveries

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'alert_settings',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('email_enabled', sa.Boolean(), nullable=False),
        sa.Column('sms_enabled', sa.Boolean(), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('quiet_start', sa.Time(), nullable=True),
        sa.Column('quiet_end', sa.Time(), nullable=True),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_alert_settings_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_settings')),
    )
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('summary', sa.String(length=500), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('help_request', 'provider_down', 'queue_backlog', "
                           "'job_failures', 'system')", name=op.f('ck_alerts_kind')),
        sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'],
                                name=op.f('fk_alerts_session_id_chat_sessions'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alerts_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    )
    op.create_index('ix_alerts_kind_created_at', 'alerts', ['kind', 'created_at'], unique=False)
    op.create_table(
        'alert_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_alert_deliveries_channel')),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'suppressed')",
                           name=op.f('ck_alert_deliveries_status')),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'],
                                name=op.f('fk_alert_deliveries_alert_id_alerts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recipient_id'], ['users.id'],
                                name=op.f('fk_alert_deliveries_recipient_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries')),
        sa.UniqueConstraint('alert_id', 'recipient_id', 'channel',
                            name=op.f('uq_alert_deliveries_alert_id_recipient_id_channel')),
    )
    op.create_index('ix_alert_deliveries_recipient_created_at', 'alert_deliveries',
                    ['recipient_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_alert_deliveries_recipient_created_at', table_name='alert_deliveries')
    op.drop_table('alert_deliveries')
    op.drop_index('ix_alerts_kind_created_at', table_name='alerts')
    op.drop_table('alerts')
    op.drop_table('alert_settings')
