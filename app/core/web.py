"""Small helpers for views: safe redirects and committing once at the edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash
from sqlalchemy.orm.exc import StaleDataError

from app.core.db import StaleVersionError
from app.core.exceptions import UserError
from app.extensions import db

T = TypeVar("T")


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


def show_error(forms: Any, error: UserError) -> None:
    """Put a service's message next to the field it names (in one of *forms*), or flash it."""
    for form in forms if isinstance(forms, tuple | list) else (forms,):
        field = getattr(form, error.field, None) if error.field and form is not None else None
        if field is not None:
            field.errors = [*field.errors, error.message]
            return
    flash(error.message, "danger")


def attempt(form: Any, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run one service call for *form* (a form, several, or None) and commit; on a user error or
    a conflict, say why.

    Returns (True, result) after a commit, else (False, None) with the session rolled back
    and the messages placed on the form.
    """
    try:
        result = action()
    except (StaleVersionError, StaleDataError):
        # StaleDataError: a concurrent save won the race while the service flushed.
        flash(str(StaleVersionError.message), "danger")
    except UserError as exc:
        show_error(form, exc)
    else:
        if commit():
            return True, result
        return False, None
    db.session.rollback()
    return False, None
