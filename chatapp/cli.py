"""`flask users ...` commands for managing accounts from a shell."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from chatapp.extensions import db
from chatapp.models import ROLES, User

users = AppGroup("users", help="Create users and set their passwords.")
MIN_PASSWORD_LENGTH = 10


def _password_option(help_text: str):
    return click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                        help=help_text + " (prompted for when omitted).")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters.",
                                 param_hint="--password")


@users.command("create")
@click.option("--email", required=True, help="Sign-in email (unique).")
@click.option("--name", "display_name", required=True, help="Name shown to others.")
@click.option("--role", type=click.Choice(ROLES), default="consultant", show_default=True)
@_password_option("Password")
def create_user(email: str, display_name: str, role: str, password: str) -> None:
    """Create a user."""
    _check_password(password)
    email = email.strip().lower()
    if db.session.scalar(db.select(User).filter_by(email=email)):
        raise click.ClickException(f"a user with email {email} already exists.")
    user = User(email=email, display_name=display_name.strip(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {email}.")


@users.command("set-password")
@click.option("--email", required=True, help="The user's email.")
@_password_option("New password")
def set_password(email: str, password: str) -> None:
    """Set a user's password."""
    _check_password(password)
    user = db.session.scalar(db.select(User).filter_by(email=email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}.")
    user.set_password(password)
    db.session.commit()
    click.echo(f"Password of {user.email} updated.")


def init_app(app: Flask) -> None:
    """Register the command group."""
    app.cli.add_command(users)
