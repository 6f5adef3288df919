"""The migrations build exactly the models' schema, on PostgreSQL and on SQLite."""

import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from chatapp import create_app
from chatapp.extensions import db


def schema_drift(app) -> list:
    """Differences between the upgraded database and the models (empty when they agree), seen
    as `flask db migrate` sees them (the SQLite search tables are no models)."""
    with app.app_context():
        upgrade()
        include_object = app.extensions["migrate"].configure_args["include_object"]
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection,
                                                 opts={"include_object": include_object})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


@pytest.fixture
def empty_postgres(postgres_url):
    admin = make_url(postgres_url).set(drivername="postgresql")
    name = f"chatapp_migrate_{uuid.uuid4().hex[:8]}"
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_upgrade_on_empty_postgres_matches_the_models(app_config, empty_postgres):
    app = create_app({**app_config, "TESTING": True, "DATABASE_URL": empty_postgres})
    assert schema_drift(app) == []


def test_upgrade_on_empty_sqlite_matches_the_models(app_config, tmp_path):
    app = create_app({**app_config, "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'chatapp.db'}"})
    assert schema_drift(app) == []
    with app.app_context():
        tables = set(db.inspect(db.engine).get_table_names())
    assert {"users", "chat_sessions", "chat_messages", "alembic_version"} <= tables


def test_enum_columns_are_checked_by_the_database(app, make_user):
    from sqlalchemy.exc import IntegrityError

    user = make_user("cara@example.com")
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(db.text("UPDATE users SET role = 'root' WHERE id = :id"), {"id": user.id})
        db.session.rollback()
