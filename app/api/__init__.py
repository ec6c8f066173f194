"""The JSON API (/api/v1) and the personal tokens that open it.

``init_api(app)`` is the one call the app factory makes: it sets up flask-smorest (the OpenAPI
description at /api/v1/openapi.json comes from the same marshmallow schemas that validate the
requests), the browsable documentation at /api/v1/docs (Swagger UI, vendored under
app/static/vendor/swagger-ui), the API's JSON errors and the token pages under /profile/tokens.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

API_DESCRIPTION = """招商引资 CRM 的 JSON 接口，规则与页面相同：同样的服务、同样的可见范围。

**认证**：在“个人设置 → API 令牌”中创建个人令牌，请求时附带
`Authorization: Bearer <令牌>`。令牌以其所有者的角色和可见范围办事；浏览器登录会话不能调用接口。

**错误**：一律为 `{"error": {"code", "message", "fields"}}`。401 缺少或无效令牌；
403 角色不允许；404 记录不存在或不在您的可见范围内；409 版本冲突（他人已修改，请重新读取）；
422 填写有误（`fields` 指出字段）。

**金额**：以亿元为单位的十进制字符串；提交时也可写“3.5亿”“35000万”。日期为 YYYY-MM-DD。
"""


class CrmApi(Api):
    """flask-smorest's Api with our error shape; errors are answered by app.api.errors."""

    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self) -> None:
        # The app's error handler answers /api/ with app.api.errors.render_api_error.
        pass


def init_api(app: Flask) -> None:
    """Register the API, its documentation, its errors and the token pages on *app*."""
    from app.api import models  # noqa: F401  (the table is part of the metadata)
    from app.api.errors import ErrorSchema, render_api_error
    from app.api.fields import Amount
    from app.api.token_views import bp as tokens_bp
    from app.api.views import BLUEPRINTS, PREFIX, docs_bp
    from app.core.errors import register_error_renderer
    from app.extensions import csrf

    settings: dict[str, Any] = {
        "API_TITLE": "招商引资 CRM API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": API_DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "crm_…"}
                }
            },
        },
    }
    for key, value in settings.items():
        app.config.setdefault(key, value)
    CrmApi.ERROR_SCHEMA = ErrorSchema
    api = CrmApi(app)
    api.register_field(Amount, "string", None)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
        # Bearer tokens only: a cookie never authorises an API call, so no CSRF token is needed.
        csrf.exempt(blueprint)
    app.register_blueprint(docs_bp)
    app.register_blueprint(tokens_bp)
    register_error_renderer(app, "/api/", render_api_error)
