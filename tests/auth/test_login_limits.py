"""Failed logins are limited per account and per client address (Flask-Limiter).

The suite's shared application runs with the limiter off (it logs in thousands of times from one
address); each test here builds its own application on the same database with the limiter on,
a tiny limit and a key prefix of its own, so no counter leaks between tests or into Redis keys
of anything else.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOO_MANY = "登录失败次数过多，请1分钟后再试。"


@pytest.fixture
def limited_app(app: Flask, session: Any) -> Callable[..., Flask]:
    """``limited_app(**config)``: an application on the suite's database with the limiter on."""
    prefix = f"crm-test-{uuid.uuid4().hex}"

    def _make(**overrides: Any) -> Flask:
        settings = {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": prefix,
            "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
            **overrides,
        }
        return create_app("testing", **settings)

    return _make


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix in the Redis at TEST_REDIS_URL (skipped when none answers); its keys are
    deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL)")
    prefix = f"crm-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def attempt(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_logins_on_one_account_are_limited(limited_app: Any, world: Any) -> None:
    client = limited_app().test_client()
    for _ in range(3):
        assert attempt(client, "officer", "wrong-Passw0rd").status_code == 200

    # Even the right password is refused now, and the answer says why, in Chinese.
    blocked = attempt(client, "officer", PASSWORD)
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert TOO_MANY in page
    assert 'name="username"' in page and 'value="officer"' in page  # the login form again
    assert 0 < int(blocked.headers["Retry-After"]) <= 61  # the window, rounded up
    # From another address too: the limit belongs to the account.
    assert attempt(client, "OFFICER ", PASSWORD, address="10.0.0.2").status_code == 429
    # Other accounts are not affected.
    assert attempt(client, "manager", PASSWORD).status_code == 302


def test_failed_logins_from_one_address_are_limited(limited_app: Any, world: Any) -> None:
    client = limited_app(
        LOGIN_LIMIT_PER_ACCOUNT="100 per minute", LOGIN_LIMIT_PER_ADDRESS="3 per minute"
    ).test_client()
    for name in ("officer", "manager", "nobody"):
        assert attempt(client, name, "wrong-Passw0rd").status_code == 200

    assert attempt(client, "leader", PASSWORD).status_code == 429
    assert attempt(client, "leader", PASSWORD, address="10.0.0.9").status_code == 302


def test_successful_logins_do_not_count(limited_app: Any, world: Any) -> None:
    client = limited_app(LOGIN_LIMIT_PER_ADDRESS="3 per minute").test_client()
    for _ in range(6):
        assert attempt(client, "officer", PASSWORD).status_code == 302
    assert attempt(client, "officer", "wrong-Passw0rd").status_code == 200


def test_the_login_page_itself_is_not_limited(limited_app: Any, world: Any) -> None:
    client = limited_app(LOGIN_LIMIT_PER_ACCOUNT="1 per minute").test_client()
    attempt(client, "officer", "wrong-Passw0rd")
    for _ in range(5):
        assert client.get("/login").status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts(limited_app: Any, world: Any) -> None:
    client = limited_app(
        PROXY_FIX_HOPS=1,
        LOGIN_LIMIT_PER_ACCOUNT="100 per minute",
        LOGIN_LIMIT_PER_ADDRESS="2 per minute",
    ).test_client()

    def via_proxy(client_address: str) -> int:
        return client.post(
            "/login",
            data={"username": "officer", "password": "wrong-Passw0rd"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": client_address},
        ).status_code

    assert [via_proxy("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    # Another client behind the same proxy is not blocked.
    assert via_proxy("203.0.113.8") == 200


def test_the_limit_holds_across_applications_sharing_redis(
    limited_app: Any, redis_prefix: str, world: Any
) -> None:
    """Two applications (as two gunicorn workers or two hosts) share the counters in Redis."""
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix}
    first = limited_app(**settings).test_client()
    second = limited_app(**settings).test_client()

    assert attempt(first, "officer", "wrong-Passw0rd").status_code == 200
    assert attempt(second, "officer", "wrong-Passw0rd").status_code == 200
    assert attempt(first, "officer", "wrong-Passw0rd").status_code == 200

    assert attempt(second, "officer", PASSWORD).status_code == 429
    assert attempt(first, "officer", PASSWORD).status_code == 429


def test_memory_counters_are_per_process(limited_app: Any, world: Any) -> None:
    """Without Redis each application counts alone: why production sets REDIS_URL."""
    first = limited_app().test_client()
    second = limited_app().test_client()
    for _ in range(3):
        attempt(first, "officer", "wrong-Passw0rd")

    assert attempt(first, "officer", PASSWORD).status_code == 429
    assert attempt(second, "officer", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "memory://|True"),
        ({"REDIS_URL": "redis://cache.invalid:6379/2"}, "redis://cache.invalid:6379/2|True"),
    ],
)
def test_production_counts_in_redis_when_redis_url_is_set(
    env: dict[str, str], expected: str
) -> None:
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"APP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RATELIMIT_ENABLED"}
    }
    child_env.update(APP_ENV="production", SECRET_KEY="x" * 32, **env)
    script = (
        "import wsgi; c = wsgi.app.config; "
        "print(c['RATELIMIT_STORAGE_URI'] + '|' + str(c['RATELIMIT_ENABLED']))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


# --- an administrator lifts a lock --------------------------------------------------------------


def _lock(client: FlaskClient, username: str) -> None:
    for _ in range(3):
        attempt(client, username, "wrong-Passw0rd")
    assert attempt(client, username, PASSWORD).status_code == 429


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_an_admin_lifts_a_lock_on_the_users_page(
    limited_app: Any, world: Any, storage: str, request: Any
) -> None:
    settings: dict[str, Any] = {}
    if storage == "redis":
        settings = {
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": request.getfixturevalue("redis_prefix"),
        }
    app = limited_app(**settings)
    officer = app.test_client()
    _lock(officer, "officer")

    admin = app.test_client()
    assert attempt(admin, "admin", PASSWORD, address="10.0.0.5").status_code == 302
    edit = f"/admin/users/{world.officer.id}"
    page = admin.get(edit).get_data(as_text=True)
    assert "登录失败次数过多，已被锁定至" in page and "解除锁定" in page
    # Another account's page says nothing of a lock.
    assert "解除锁定" not in admin.get(f"/admin/users/{world.manager.id}").get_data(as_text=True)

    response = admin.post(f"/admin/users/{world.officer.id}/unlock", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已解除 officer 的登录锁定。" in page and "解除锁定" not in page
    assert attempt(officer, "officer", PASSWORD).status_code == 302


def test_the_command_lifts_a_lock(limited_app: Any, world: Any) -> None:
    app = limited_app()
    _lock(app.test_client(), "officer")
    runner = app.test_cli_runner()

    def unlock(username: str) -> Any:
        # The suite's own application context is pushed: the command must run in this one's.
        with app.app_context():
            return runner.invoke(args=["users", "unlock", username])

    result = unlock("officer")
    assert result.exit_code == 0, result.output
    assert "已解除 officer 的登录锁定。" in result.output
    assert attempt(app.test_client(), "officer", PASSWORD).status_code == 302

    assert "officer 没有被锁定。" in unlock("officer").output
    unknown = unlock("nobody")
    assert unknown.exit_code != 0 and "没有用户名为“nobody”的账号。" in unknown.output
