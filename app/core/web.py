"""Small helpers for views: safe redirects and committing once at the edge."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash
from sqlalchemy.orm.exc import StaleDataError

from app.core.db import StaleVersionError
from app.extensions import db


def is_safe_next(target: str | None) -> bool:
    """Return whether *target* is a path on this site (no scheme, no host, no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def commit() -> bool:
    """Commit the request's work; on a concurrent edit roll back, flash why and return False."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(str(StaleVersionError.message), "danger")
        return False
    return True
