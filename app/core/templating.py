"""Template filters and globals shared by every page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from flask_babel import get_locale

from app.core.money import format_yi
from app.core.timeutil import format_date, format_datetime, today_local


def url_with(**changes: Any) -> str:
    """Return the current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + (f"?{query}" if query else "")


def init_templating(app: Flask) -> None:
    """Register filters and globals on *app*."""
    app.jinja_env.filters["yi"] = format_yi
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["today"] = today_local
    app.jinja_env.globals["get_locale"] = get_locale

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
