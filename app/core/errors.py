"""Error pages, in the user's language."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.extensions import db

MESSAGES = {
    400: _l("请求无效，请检查后重试。"),
    403: _l("您没有执行此操作的权限。"),
    404: _l("您要找的页面不存在，或您无权查看。"),
    405: _l("不支持此操作。"),
    413: _l("上传的文件太大。"),
    500: _l("系统出错了，您的操作没有保存。请稍后重试，或联系系统管理员。"),
}


def init_error_handlers(app: Flask) -> None:
    """Render every HTTP error with the site layout."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = error.code or 500
        message = str(MESSAGES.get(code, MESSAGES[400]))
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(500)
    def _server_error(error: Exception):
        db.session.rollback()
        return render_template("error.html", code=500, message=str(MESSAGES[500])), 500
