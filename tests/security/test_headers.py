"""Security headers on every response, cookie flags, and templates that need no inline script.

The headers are set in one place, app/core/security.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from tests.factories import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def csp(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def assert_hardened(response: Any, frame_ancestors: str = "'none'") -> None:
    policy = csp(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert policy["frame-ancestors"] == frame_ancestors
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == (
        "DENY" if frame_ancestors == "'none'" else "SAMEORIGIN"
    )


@pytest.mark.parametrize(
    "url", ["/login", "/leads", "/projects", "/enterprises/", "/admin/users", "/profile"]
)
def test_pages_carry_the_security_headers(login_as: Any, world: Any, url: str) -> None:
    response = login_as(world.admin).get(url)
    assert response.status_code == 200
    assert_hardened(response)


@pytest.mark.parametrize(
    ("url", "status"), [("/leads/999999", 404), ("/static/js/app.js", 200), ("/login", 405)]
)
def test_errors_static_files_and_redirects_carry_them_too(
    client: Any, login_as: Any, world: Any, url: str, status: int
) -> None:
    client = login_as(world.officer)
    response = client.put(url) if status == 405 else client.get(url)
    response.close()
    assert response.status_code == status
    assert_hardened(response)
    assert_hardened(client.post("/logout"))


def test_the_digest_preview_may_be_framed_by_its_own_site_only(login_as: Any, world: Any) -> None:
    response = login_as(world.officer).get("/digests/preview")
    assert response.status_code == 200
    assert_hardened(response, frame_ancestors="'self'")


def test_strict_transport_security_on_https_only(client: Any, session: Any) -> None:
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://crm.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def _cookie(response: Any, name: str) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "="))


def test_session_and_remember_cookies_are_httponly_and_samesite(client: Any, world: Any) -> None:
    response = client.post(
        "/login", data={"username": "officer", "password": PASSWORD, "remember": "y"}
    )
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        # Development and the tests run on plain HTTP.
        assert "Secure" not in cookie


def test_production_cookies_are_secure(app: Flask, session: Any, world: Any) -> None:
    production = create_app(
        "production",
        SECRET_KEY="a-production-secret",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SERVER_NAME="crm.test",
        WTF_CSRF_ENABLED=False,
        # The hasher is process-wide: keep the suite's cheap parameters.
        **{
            k: app.config[k]
            for k in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM")
        },
    )
    assert not production.debug
    response = production.test_client().post(
        "/login",
        data={"username": "officer", "password": PASSWORD, "remember": "y"},
        base_url="https://crm.test",
    )
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_behind_a_proxy_the_forwarded_scheme_is_trusted_only_when_configured(
    app: Flask, session: Any
) -> None:
    def hsts(hops: int) -> bool:
        proxied = create_app(
            "testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            PROXY_FIX_HOPS=hops,
        )  # fmt: skip
        response = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        return "Strict-Transport-Security" in response.headers

    assert hsts(1)
    assert not hsts(0)


# --- templates ------------------------------------------------------------------------------

# A JSON data block (<script type="application/json">) is never run; its content must come from
# |tojson, which escapes "<", ">", "&" and "'" so that no text can close the element.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
)
DATA_BLOCK = re.compile(r"<script[^>]*application/json[^>]*>(.*?)</script>", re.S | re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)


def templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script(template: Path) -> None:
    """What script-src 'self' would block: inline <script>, on...= handlers, javascript: URLs,
    and <style> elements (style-src 'self'); style="" attributes are allowed (see
    app/core/security.py)."""
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text)
    assert not EVENT_HANDLER.search(text)
    assert not JS_URL.search(text)
    assert not STYLE_ELEMENT.search(text)
    for block in DATA_BLOCK.findall(text):
        assert "|tojson" in block.replace(" ", ""), block


def test_scripts_come_only_from_this_site() -> None:
    sources = [
        src
        for template in templates()
        for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", template.read_text("utf-8"))
    ]
    assert sources, "no script tags found: has the layout moved?"
    assert all(src.startswith("{{ url_for('static'") for src in sources), sources
