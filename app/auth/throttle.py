"""Login attempts limited per account and per client address (Flask-Limiter).

Only failed attempts count (a login that succeeds redirects, a refused one shows the form
again): an officer who mistypes once is not punished, while guessing passwords is stopped after
``LOGIN_LIMIT_PER_ACCOUNT`` tries on one account and ``LOGIN_LIMIT_PER_ADDRESS`` from one address.
The counters live where ``RATELIMIT_STORAGE_URI`` says: Redis when ``REDIS_URL`` is set, so that
every gunicorn worker and every host shares them, else the process's own memory.

Each application gets its own :class:`Limiter` (kept in ``app.extensions``) rather than one
module-level object: a limiter holds its storage, and the tests run several applications in one
process, each with its own storage.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

from flask import Flask, flash, make_response, render_template, request
from flask.wrappers import Response
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from app.auth.forms import LoginForm
from app.core.i18n import gettext as _

EXTENSION_KEY = "login_limiter"


LOGIN_ENDPOINT = "auth.login"
ACCOUNT_SCOPE = "login-account"


def _account(username: str) -> str:
    """The counter key of an account: its user name, case-insensitively, as it is typed."""
    return "account:" + username.strip().lower()[:40]


def account_key() -> str:
    """The account a login attempt is for: the user name as typed, case-insensitively."""
    return _account(request.form.get("username") or "")


def address_key() -> str:
    """The client's address (the real one behind a proxy, once ProxyFix trusts it)."""
    return "address:" + (get_remote_address() or "unknown")


def attempt_failed(response: Response) -> bool:
    """A successful login redirects; anything else is an attempt that did not get in."""
    return response.status_code != 302


def refuse(request_limit: RequestLimit) -> Response:
    """The login page again, status 429, saying how long to wait (and Retry-After)."""
    seconds = max(1, math.ceil(request_limit.reset_at - time.time()))
    form = LoginForm(formdata=None, next=request.form.get("next", ""))
    form.username.data = request.form.get("username", "")
    flash(_("登录失败次数过多，请%(n)d分钟后再试。", n=max(1, round(seconds / 60))), "danger")
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def init_login_limits(app: Flask) -> Limiter:
    """Limit POSTs to the login view of *app*; return the application's limiter."""
    limiter = Limiter(
        key_func=address_key,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", ""),
        strategy="moving-window",
        default_limits=[],
        headers_enabled=False,
    )
    app.extensions[EXTENSION_KEY] = limiter
    view = app.view_functions[LOGIN_ENDPOINT]
    per_account = limiter.limit(
        lambda: app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        key_func=account_key,
        methods=["POST"],
        deduct_when=attempt_failed,
        on_breach=refuse,
        scope=ACCOUNT_SCOPE,
    )
    per_address = limiter.limit(
        lambda: app.config["LOGIN_LIMIT_PER_ADDRESS"],
        key_func=address_key,
        methods=["POST"],
        deduct_when=attempt_failed,
        on_breach=refuse,
        scope="login-address",
    )
    app.view_functions[LOGIN_ENDPOINT] = per_address(per_account(view))
    return limiter


def login_limiter(app: Flask) -> Limiter:
    """Return the login limiter of *app*."""
    return app.extensions[EXTENSION_KEY]


def _account_counter(app: Flask, username: str) -> tuple[Any, RateLimitItem, list[str]]:
    """The limiter's strategy, the per-account limit and the identifiers of *username*'s counter,
    composed as Flask-Limiter composes them for the login view (prefix, key, endpoint:scope)."""
    limiter = login_limiter(app)
    identifiers = [_account(username), f"{LOGIN_ENDPOINT}:{ACCOUNT_SCOPE}"]
    prefix = app.config.get("RATELIMIT_KEY_PREFIX", "")
    return (
        limiter.limiter,
        parse(app.config["LOGIN_LIMIT_PER_ACCOUNT"]),
        ([prefix, *identifiers] if prefix else identifiers),
    )


def account_locked_until(app: Flask, username: str) -> dt.datetime | None:
    """When *username*'s login lock (too many failed attempts) ends, in UTC; None when it may
    log in."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    strategy, limit, identifiers = _account_counter(app, username)
    try:
        if strategy.test(limit, *identifiers):
            return None
        reset = strategy.get_window_stats(limit, *identifiers).reset_time
    except Exception:  # the counters' store (Redis) is out of reach: the page still opens
        app.logger.warning("login counters unreadable for %s", username, exc_info=True)
        return None
    return dt.datetime.fromtimestamp(reset, dt.UTC)


def unlock_account(app: Flask, username: str) -> None:
    """Forget *username*'s failed login attempts: an administrator lets its owner in again (the
    counter of the client's address, shared with others behind it, is left as it is)."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    strategy, limit, identifiers = _account_counter(app, username)
    strategy.clear(limit, *identifiers)
