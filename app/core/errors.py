"""Error pages, in the user's language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.core.i18n import lazy_gettext as _l
from app.extensions import db

MESSAGES = {
    400: _l("请求无效，请检查后重试。"),
    403: _l("您没有执行此操作的权限。"),
    404: _l("您要找的页面不存在，或您无权查看。"),
    405: _l("不支持此操作。"),
    413: _l("上传的文件太大。"),
    429: _l("尝试次数过多，请稍后再试。"),
    500: _l("系统出错了，您的操作没有保存。请稍后重试，或联系系统管理员。"),
    503: _l("数据库暂时无法访问，您的操作没有保存。请稍后重试。"),
}
UNAVAILABLE_TEXT = "503 数据库暂时无法访问，您的操作没有保存。请稍后重试。"

log = logging.getLogger(__name__)


def database_unavailable(error: DBAPIError) -> bool:
    """Whether *error* means the database is gone or locked (not a bug in a statement)."""
    return isinstance(error, OperationalError) or bool(error.connection_invalidated)


_RENDERERS_KEY = "error_renderers"


def register_error_renderer(
    app: Flask, path_prefix: str, render: Callable[[HTTPException], Any]
) -> None:
    """Let a feature answer the errors of its own URLs (the JSON API under /api/) itself."""
    app.extensions.setdefault(_RENDERERS_KEY, {})[path_prefix] = render


def _own_renderer() -> Callable[[HTTPException], Any] | None:
    renderers = current_app.extensions.get(_RENDERERS_KEY, {})
    return next((r for p, r in renderers.items() if request.path.startswith(p)), None)


def init_error_handlers(app: Flask) -> None:
    """Render every HTTP error with the site layout (or with a feature's registered renderer)."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.response is not None:  # a ready answer (abort(response), the login limiter)
            return error.response
        if (render := _own_renderer()) is not None:
            return render(error)
        code = error.code or 500
        message = str(MESSAGES.get(code, MESSAGES[400]))
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError):
        """The database went away or stayed locked mid-request: the transaction is rolled back
        (nothing of the request is saved), the user is told to try again, the server goes on."""
        if not database_unavailable(error):
            raise error
        log.warning("database unavailable: %s", error)
        try:
            db.session.rollback()
        except DBAPIError:
            db.session.invalidate()
        if (render := _own_renderer()) is not None:
            return render(ServiceUnavailable())
        try:
            page = render_template("errors/unavailable.html", message=str(MESSAGES[503]))
        except DBAPIError:
            return Response(UNAVAILABLE_TEXT, 503, mimetype="text/plain")
        return page, 503, {"Retry-After": "30"}

    @app.errorhandler(500)
    def _server_error(error: Exception):
        db.session.rollback()
        if (render := _own_renderer()) is not None:
            return render(error if isinstance(error, HTTPException) else InternalServerError())
        return render_template("error.html", code=500, message=str(MESSAGES[500])), 500
