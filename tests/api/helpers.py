"""Helpers of the API tests."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from app.api import tokens
from app.auth.models import User


class ApiClient:
    """The test client, sending ``Authorization: Bearer <token>`` of one user."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token is not None:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def open(self, method: str, url: str, json: Any = None, **kwargs: Any) -> Any:
        headers = self._headers(kwargs.pop("headers", None))
        if json is not None:
            kwargs["json"] = json
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open("GET", url, **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("POST", url, json=json, **kwargs)

    def patch(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("PATCH", url, json=json, **kwargs)

    def put(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("PUT", url, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.open("DELETE", url, **kwargs)


def make_token(session: Any, user: User, name: str = "测试令牌", days: int | None = None) -> str:
    _row, text = tokens.create_token(session, user, name=name, days=days)
    session.flush()
    return text


def error(response: Any) -> dict[str, Any]:
    """The error body of an API response (and check its shape)."""
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def walk(api: ApiClient, url: str) -> tuple[list[int], list[dict[str, Any]]]:
    """The ids of every item of a list (*url* has a query string), page after page by the
    cursors; and each page's body."""
    pages = [api.get(url).get_json()]
    while pages[-1]["next"] is not None:
        pages.append(api.get(f"{url}&after={pages[-1]['next']}").get_json())
        assert pages[-1]["page"] is None
    return [item["id"] for page in pages for item in page["items"]], pages
