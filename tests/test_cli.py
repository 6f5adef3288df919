"""`flask users create` and `flask users set-password`."""

from chatapp.extensions import db
from chatapp.models import User
from tests.conftest import login


def test_create_user_and_sign_in(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Ada@Example.com", "--name", "Ada",
                                 "--role", "admin"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="ada@example.com"))
        assert user.role == "admin" and user.display_name == "Ada"
        assert "long enough pw" not in user.password_hash and user.password_hash.startswith("scrypt:")
    assert login(client, "ada@example.com", "long enough pw").status_code == 302


def test_create_rejects_duplicates_short_passwords_and_unknown_roles(app):
    runner = app.test_cli_runner()
    base = ["users", "create", "--email", "ada@example.com", "--name", "Ada"]
    assert runner.invoke(args=[*base, "--password", "long enough pw"]).exit_code == 0
    duplicate = runner.invoke(args=[*base, "--password", "long enough pw"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = runner.invoke(args=["users", "create", "--email", "b@example.com", "--name", "B",
                                "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    role = runner.invoke(args=["users", "create", "--email", "c@example.com", "--name", "C",
                               "--role", "root", "--password", "long enough pw"])
    assert role.exit_code != 0 and "root" in role.output


def test_set_password(app, client, make_user):
    make_user("cara@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-password", "--email", "cara@example.com",
                                 "--password", "a brand new secret"])
    assert result.exit_code == 0, result.output
    assert login(client, "cara@example.com", "a brand new secret").status_code == 302
    missing = runner.invoke(args=["users", "set-password", "--email", "no@example.com",
                                  "--password", "a brand new secret"])
    assert missing.exit_code != 0 and "no user" in missing.output
