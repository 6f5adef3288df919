"""The signed-in user's own settings: personal API tokens, and voice (replies read aloud, voice
notes sent once transcribed)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chatapp.extensions import db
from chatapp.services import tokens

bp = Blueprint("account", __name__, url_prefix="/settings")


@bp.get("/tokens")
@login_required
def list_tokens():
    """The user's personal API tokens, and the form to make one."""
    return _page()


@bp.post("/tokens")
@login_required
def create_token():
    """Make a personal token and show it, once."""
    name = request.form.get("name", "").strip()
    expiry = request.form.get("expires", "")
    if not name or len(name) > 100:
        return _page(error="Give the token a name of up to 100 characters (what uses it).",
                     form=request.form, status=422)
    if expiry not in tokens.EXPIRY_CHOICES:
        return _page(error="Choose when the token expires.", form=request.form, status=422)
    return _page(new_token=tokens.issue_personal(current_user, name, expiry), status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's tokens (another user's is 404)."""
    if not tokens.revoke(current_user, token_id):
        abort(404)
    flash("Token revoked: requests with it are refused from now on.")
    return redirect(url_for("account.list_tokens"), code=303)


@bp.get("/voice")
@login_required
def voice():
    """The user's voice settings."""
    return render_template("account/voice.html")


@bp.post("/voice")
@login_required
def save_voice():
    """Save the voice settings (an unticked box is off) and say so."""
    current_user.read_aloud = request.form.get("read_aloud") == "on"
    current_user.voice_autosend = request.form.get("voice_autosend") == "on"
    db.session.commit()
    flash("Voice settings saved.")
    return redirect(url_for("account.voice"), code=303)


def _page(*, new_token: str | None = None, error: str | None = None, form=None, status=200):
    return render_template("account/tokens.html", tokens=tokens.personal_tokens(current_user),
                           new_token=new_token, error=error, form=form or {},
                           choices=tokens.EXPIRY_CHOICES), status
