"""A live server on its own SQLite file (with the demo data) and a real headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run); Playwright only drives it.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from app.demo.cli import load_demo
from app.extensions import db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Where the tests save the screenshots the README links (a newcomer sees the product before
#: installing it).
SHOTS = os.path.join(ROOT, "docs", "screenshots")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("e2e") / "e2e.sqlite3"
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        SERVER_NAME=None,
        WTF_CSRF_ENABLED=True,
        MIGRATIONS_DIR=os.path.join(ROOT, "migrations"),
    )
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        load_demo(db.session)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--lang=zh-CN",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a phone-sized window, in Chinese."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_server
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a desktop window, in Chinese; ``page.errors`` collects its script errors."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="zh-CN", base_url=live_server
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def shoot(page: Any, name: str) -> None:
    """Save the whole page as docs/screenshots/*name*."""
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def log_in(page: Any, username: str, password: str = "Demo@2026") -> None:  # noqa: S107
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
