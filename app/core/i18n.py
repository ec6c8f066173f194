"""Language choice: Chinese first, English available (per user, per session, or by ?lang=)."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

DEFAULT_LOCALE = "zh_Hans_CN"


def select_locale() -> str:
    """Return the locale for this request."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return DEFAULT_LOCALE
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return DEFAULT_LOCALE
