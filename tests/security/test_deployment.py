"""The deployment of docs/deployment.md, started from the Procfile: gunicorn with several
workers and the digest scheduler against PostgreSQL on 127.0.0.1 (and Redis for the login
limits); a user logs in, writes, and receives the weekly digest.

Runs when the suite's database is PostgreSQL (`make test-pg`); skipped on SQLite.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.extensions import db
from tests.digests.conftest import Inbox, _free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Haixi-2026"


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(cmd) for name, cmd in (line.split(":", 1) for line in lines if line)}


def command(name: str) -> list[str]:
    """The Procfile's command, run with this virtual environment's scripts."""
    argv = procfile()[name]
    return [str(BIN / argv[0]), *argv[1:]]


@pytest.fixture
def deployment(app: Flask, tmp_path: Path) -> Iterator[dict[str, Any]]:
    with app.app_context():
        suite_url = db.engine.url
    if suite_url.get_backend_name() != "postgresql":
        pytest.skip("the deployment test needs PostgreSQL (run `make test-pg`)")
    name = f"crm_deploy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = create_engine(suite_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = suite_url.set(database=name, drivername="postgresql").render_as_string(
        hide_password=False
    )
    inbox = Inbox()
    smtp_port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "FLASK_APP"}}
    env.update(
        APP_ENV="production",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DATABASE_URL=url,
        SESSION_COOKIE_SECURE="0",  # the test talks plain HTTP to gunicorn
        BASE_URL="http://127.0.0.1",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        PORT=str(_free_port()),
        WEB_CONCURRENCY="3",
        RATELIMIT_KEY_PREFIX=f"crm-test-{uuid.uuid4().hex}",
        LOGIN_LIMIT_PER_ACCOUNT="3 per minute",
        ARGON2_MEMORY_COST="8192",
    )
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        env["REDIS_URL"] = redis_url
    except Exception:  # noqa: S110 - without Redis the limits are per worker
        pass
    processes: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "deploy.log"
    try:
        for step in (
            command("release"),
            [
                *command("scheduler")[:3],
                "users",
                "create",
                "admin",
                "--role",
                "admin",
                "--email",
                "admin@crm.test",
            ],
        ):
            subprocess.run(  # noqa: S603
                step, cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True,
                text=True, check=True, timeout=120,
            )  # fmt: skip
        for name_ in ("web", "scheduler"):
            with log.open("ab") as out:
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        command(name_),
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield {"env": env, "inbox": inbox, "url": url, "log": log, "web": processes[0]}
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        controller.stop()
        if "REDIS_URL" in env:
            import redis

            client = redis.Redis.from_url(env["REDIS_URL"])
            keys = list(client.scan_iter(match=f"*{env['RATELIMIT_KEY_PREFIX']}*"))
            if keys:
                client.delete(*keys)
            client.close()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310

    def post(self, path: str, form_page: str, data: dict[str, str]) -> tuple[int, str]:
        _status, page = self.get(form_page)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        body = urllib.parse.urlencode({**data, "csrf_token": token.group(1) if token else ""})
        url = self.base + path
        return self._open(urllib.request.Request(url, data=body.encode()))  # noqa: S310

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _wait_for(check: Any, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-4000:]}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_gunicorn_workers_and_the_scheduler_serve_login_write_and_digest(
    deployment: dict[str, Any],
) -> None:
    env, log = deployment["env"], deployment["log"]
    browser = Browser(f"http://127.0.0.1:{env['PORT']}")
    _wait_for(lambda: browser.get("/login")[0] == 200, 60, "gunicorn to answer", log)
    assert len(_children(deployment["web"].pid)) == 3, "three gunicorn workers"

    status, _page = browser.post("/login", "/login", {"username": "admin", "password": PASSWORD})
    assert status == 302
    status, _page = browser.post(
        "/enterprises/new", "/enterprises/new",
        {"name": "青岛部署验证科技有限公司", "ownership": ""},
    )  # fmt: skip
    assert status == 302
    # Several requests, answered by whichever worker: the session holds across them.
    for _ in range(6):
        status, page = browser.get("/enterprises/")
        assert status == 200 and "青岛部署验证科技有限公司" in page

    engine = create_engine(deployment["url"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        source = conn.execute(
            text("SELECT source FROM audit_log WHERE entity = 'enterprise' AND action = 'create'")
        ).scalar()
    assert source == "web"

    # The scheduler caught up on the last completed week at start and mailed the admin.
    inbox = deployment["inbox"]
    _wait_for(lambda: inbox.recipients == ["admin@crm.test"], 90, "the digest", log)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM digest_delivery")).scalars().all() == ["sent"]
    engine.dispose()

    if "REDIS_URL" in env:
        # The login limit holds across the workers: 3 failures, then refused, wherever it lands.
        stranger = Browser(browser.base)
        codes = [
            stranger.post("/login", "/login", {"username": "admin", "password": "wrong-Pass1"})[0]
            for _ in range(6)
        ]
        assert codes == [200, 200, 200, 429, 429, 429]
