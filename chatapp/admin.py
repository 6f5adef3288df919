"""Administration pages (role admin): settings for everyone (live transport, quick actions)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chatapp.extensions import db
from chatapp.services import quick_actions, settings

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Signed in as an administrator, else 403."""

    @wraps(view)
    @login_required
    def guarded(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return guarded


@bp.get("/settings")
@admin_required
def show_settings():
    """The settings page."""
    return _page(settings.live_transport(), quick_actions.as_text(quick_actions.current()))


@bp.post("/settings")
@admin_required
def save_settings():
    """Save the settings; a wrong value is shown back with what to fix (422), nothing saved."""
    transport = request.form.get("live_transport", "")
    actions_text = request.form.get("quick_actions", "")
    try:
        actions = quick_actions.parse(actions_text)
        settings.set_live_transport(transport, current_user)
    except (ValueError, quick_actions.InvalidActions) as wrong:
        return _page(transport, actions_text, error=str(wrong), status=422)
    quick_actions.save(actions, current_user)
    db.session.commit()  # both settings, or neither
    flash("Settings saved. Pages opened from now on use them.")
    return redirect(url_for("admin.show_settings"), code=303)


def _page(transport: str, actions_text: str, *, error: str | None = None, status: int = 200):
    return render_template("admin/settings.html", live_transport=transport,
                           choices=settings.LIVE_TRANSPORTS, actions_text=actions_text,
                           error=error), status
