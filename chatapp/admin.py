"""Administration pages (role admin): settings for everyone."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chatapp.services import settings

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
    return render_template("admin/settings.html", live_transport=settings.live_transport(),
                           choices=settings.LIVE_TRANSPORTS, error=None)


@bp.post("/settings")
@admin_required
def save_settings():
    """Save the settings; a wrong value is shown back with what to choose (422)."""
    value = request.form.get("live_transport", "")
    try:
        settings.set_live_transport(value, current_user)
    except ValueError as wrong:
        return render_template("admin/settings.html", live_transport=value,
                               choices=settings.LIVE_TRANSPORTS, error=str(wrong)), 422
    flash("Settings saved. Pages opened from now on use them.")
    return redirect(url_for("admin.show_settings"), code=303)
