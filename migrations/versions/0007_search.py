"""full-text search: GIN indexes on PostgreSQL, FTS5 tables on SQLite

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The expressions of chatapp.models.MESSAGE_SEARCH_VECTOR and SESSION_SEARCH_VECTOR, as they were
# when this revision was written.
MESSAGE_VECTOR = "to_tsvector('simple'::regconfig, replace(content, '<'::text, '< '::text))"
SESSION_VECTOR = ("to_tsvector('simple'::regconfig, replace((name::text || ' '::text) || "
                  "COALESCE(client_name, ''::character varying)::text, '<'::text, '< '::text))")

# SQLite: messages are indexed by an external-content FTS5 table (the text stays in chat_messages
# only; rowid = the message id), sessions' names by a small FTS5 table of their own (the sessions'
# rowids are not stable when a migration rebuilds the table). Triggers keep both in sync. A later
# migration that rebuilds chat_messages or chat_sessions with batch_alter_table drops their
# triggers with the old table: it must create them again (SQLITE_TRIGGERS below).
TOKENIZER = "unicode61 remove_diacritics 2"
SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE chat_messages_fts USING fts5(content, content='chat_messages', "
    f"content_rowid='id', tokenize='{TOKENIZER}')",
    f"CREATE VIRTUAL TABLE chat_sessions_fts USING fts5(session_id UNINDEXED, name, client_name, "
    f"tokenize='{TOKENIZER}')",
]
SQLITE_TRIGGERS = [
    """CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages BEGIN
         INSERT INTO chat_messages_fts(rowid, content) VALUES (new.id, new.content);
       END""",
    """CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages BEGIN
         INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content)
           VALUES ('delete', old.id, old.content);
       END""",
    """CREATE TRIGGER chat_messages_fts_update AFTER UPDATE OF content ON chat_messages BEGIN
         INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content)
           VALUES ('delete', old.id, old.content);
         INSERT INTO chat_messages_fts(rowid, content) VALUES (new.id, new.content);
       END""",
    """CREATE TRIGGER chat_sessions_fts_insert AFTER INSERT ON chat_sessions BEGIN
         INSERT INTO chat_sessions_fts(session_id, name, client_name)
           VALUES (new.id, new.name, new.client_name);
       END""",
    """CREATE TRIGGER chat_sessions_fts_delete AFTER DELETE ON chat_sessions BEGIN
         DELETE FROM chat_sessions_fts WHERE session_id = old.id;
       END""",
    """CREATE TRIGGER chat_sessions_fts_update AFTER UPDATE OF name, client_name ON chat_sessions
       BEGIN
         UPDATE chat_sessions_fts SET name = new.name, client_name = new.client_name
           WHERE session_id = new.id;
       END""",
]
SQLITE_BACKFILL = [
    "INSERT INTO chat_messages_fts(chat_messages_fts) VALUES ('rebuild')",
    "INSERT INTO chat_sessions_fts(session_id, name, client_name) "
    "SELECT id, name, client_name FROM chat_sessions",
]


def upgrade():
    if op.get_context().dialect.name == 'sqlite':
        for statement in SQLITE_TABLES + SQLITE_TRIGGERS + SQLITE_BACKFILL:
            op.execute(statement)
        return
    # Building an index reads every existing row: messages written before are searchable at once.
    op.create_index('ix_chat_messages_search', 'chat_messages', [sa.text(MESSAGE_VECTOR)],
                    postgresql_using='gin')
    op.create_index('ix_chat_sessions_search', 'chat_sessions', [sa.text(SESSION_VECTOR)],
                    postgresql_using='gin')


def downgrade():
    if op.get_context().dialect.name == 'sqlite':
        for trigger in ('chat_sessions_fts_update', 'chat_sessions_fts_delete',
                        'chat_sessions_fts_insert', 'chat_messages_fts_update',
                        'chat_messages_fts_delete', 'chat_messages_fts_insert'):
            op.execute(f'DROP TRIGGER {trigger}')
        op.execute('DROP TABLE chat_sessions_fts')
        op.execute('DROP TABLE chat_messages_fts')
        return
    op.drop_index('ix_chat_sessions_search', table_name='chat_sessions')
    op.drop_index('ix_chat_messages_search', table_name='chat_messages')
