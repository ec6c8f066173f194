"""The API's one error shape: ``{"error": {"code", "message", "fields"}}``, for every error under
/api/ (routing 404/405 and 500 included), with the pages' Chinese messages.

Views raise through :func:`api_abort`; service errors become 422 (``UserError``) or 409
(a version conflict) in :func:`run`, the API's counterpart of ``app.core.web.attempt``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import marshmallow as ma
from flask import jsonify
from flask_smorest import abort
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.core.db import StaleVersionError
from app.core.errors import MESSAGES
from app.core.exceptions import UserError
from app.core.i18n import lazy_gettext as _l
from app.enterprises.services import PossibleDuplicatesError
from app.extensions import db
from app.pipeline.services import DuplicateLeadError

T = TypeVar("T")

# Stable machine-readable codes, by status.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "version_conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}

API_MESSAGES = {
    400: _l("请求无效，请检查后重试。"),
    401: _l("缺少有效的 API 令牌：请在 Authorization 头中以 Bearer 方式提供令牌。"),
    404: _l("您要找的记录不存在，或您无权查看。"),
    409: _l("该记录已被他人修改，请重新读取后再提交。"),
    422: _l("提交的内容有误，请检查后重试。"),
}
INVALID_JSON = _l("请求内容不是有效的 JSON。")

# User errors a client may want to tell apart.
SPECIAL_CODES = (
    (DuplicateLeadError, "duplicate_lead"),
    (PossibleDuplicatesError, "possible_duplicates"),
)

# Form field names services use, as the API names them.
FIELD_NAMES = {"enterprise": "enterprise_id"}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "稳定的错误代码"})
    message = ma.fields.String(required=True, metadata={"description": "给用户看的说明（中文）"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "出错的字段及其说明"},
    )


class ErrorSchema(ma.Schema):
    """Every API error."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


def _message(status: int) -> str:
    text = API_MESSAGES.get(status) or MESSAGES.get(status) or MESSAGES[400]
    return str(text)


def api_abort(
    status: int,
    message: Any = None,
    *,
    code: str | None = None,
    fields: Mapping[str, list[str]] | None = None,
) -> NoReturn:
    """Stop the request with an API error."""
    abort(status, error_code=code, message=message, fields=fields)
    raise AssertionError("unreachable")  # pragma: no cover


def _field_name(name: str) -> str:
    if name.startswith("skip_"):
        return f"skipped_dates.{name[len('skip_') :]}"
    return FIELD_NAMES.get(name, name)


def user_error(exc: UserError) -> NoReturn:
    """Answer a service's user error: 422 with its message next to its field."""
    code = next((c for cls, c in SPECIAL_CODES if isinstance(exc, cls)), "invalid")
    message = exc.message
    if isinstance(exc, PossibleDuplicatesError):
        # The page lists them; the message names them (and their ids) for a client to show.
        message += "、".join(f"{e.name}（#{e.id}）" for e in exc.duplicates[:10])
    fields = {_field_name(exc.field): [message]} if exc.field else {}
    api_abort(422, message, code=code, fields=fields)


def run(action: Callable[[], T]) -> T:
    """Run one service call and commit; a user error is 422, a conflicting edit is 409."""
    try:
        result = action()
        db.session.commit()
    except (StaleVersionError, StaleDataError):
        db.session.rollback()
        api_abort(409, code="version_conflict")
    except UserError as exc:
        db.session.rollback()
        user_error(exc)
    return result


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"a.b": [text, ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            out.update(_flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name))
    elif isinstance(messages, list | tuple) and not all(isinstance(m, Mapping) for m in messages):
        out.setdefault(prefix, []).extend(str(m) for m in messages)
    elif isinstance(messages, list | tuple):
        for m in messages:
            out.update(_flatten(m, prefix))
    else:
        out.setdefault(prefix, []).append(str(messages))
    return out


def render_api_error(error: HTTPException) -> Any:
    """The error renderer registered for /api/ (see ``app.core.errors``)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields: dict[str, list[str]] = {}
    message = data.get("message")
    code = data.get("error_code")
    if data.get("fields"):
        fields = {k: [str(m) for m in v] for k, v in data["fields"].items()}
    elif "messages" in data:
        # A request the schemas refused (webargs): {"json": {...}} or {"query": {...}}.
        if status == 400:
            message = INVALID_JSON
        else:
            for location_messages in data["messages"].values():
                fields.update(_flatten(location_messages))
            if "" in fields:
                message = fields.pop("")[0]
    if not message and len(fields) == 1:
        message = next(iter(fields.values()))[0]
    body = {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": str(message) if message else _message(status),
            "fields": fields,
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
