"""The Content-Security-Policy in a real browser: no page of the application is broken by it.

Debian's Chromium (driven by Playwright, as in tests/e2e) loads the main pages of every role,
including the cockpit's ECharts canvases, the API documentation and the framed digest preview,
and reports every `securitypolicyviolation`; there must be none. Skipped without Chromium.

Playwright's sync API runs in a thread of its own here: tests/e2e keeps its browser open for
the whole session in the main thread, and one thread holds one Playwright at a time.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from app.demo.cli import load_demo
from app.extensions import db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
DEMO_PASSWORD = "Demo@2026"

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

PAGES = {
    "officer": ["/my", "/leads", "/leads/new", "/enterprises/", "/profile", "/digests/preferences"],
    "manager": ["/board", "/proposals", "/projects", "/ledger/import", "/ledger/reports"],
    "leader": ["/cockpit/", "/cockpit/chains", "/leads"],
    "admin": ["/admin/users", "/admin/parks", "/admin/thresholds", "/admin/digests",
              "/api/v1/docs", "/profile/tokens"],
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    path = tmp_path_factory.mktemp("csp") / "csp.sqlite3"
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        SERVER_NAME=None,
        WTF_CSRF_ENABLED=True,
        MIGRATIONS_DIR=MIGRATIONS,
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS)
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
        with app.app_context():
            db.engine.dispose()


def in_browser(base_url: str, visit: Callable[[Any], Any]) -> Any:
    """Run *visit(page)* in a fresh headless Chromium, in a thread of its own."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"],
                )  # fmt: skip
                context = browser.new_context(locale="zh-CN", base_url=base_url)
                context.add_init_script(RECORD_VIOLATIONS)
                try:
                    outcome["value"] = visit(context.new_page())
                finally:
                    context.close()
                    browser.close()
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _first_detail(page: Any, prefix: str) -> str | None:
    links = page.eval_on_selector_all(
        f"a[href^='{prefix}']", "els => els.map(e => e.getAttribute('href'))"
    )
    return next((link for link in links if link[len(prefix) :].split("?")[0].isdigit()), None)


@pytest.mark.parametrize("role", list(PAGES))
def test_no_page_breaks_the_content_security_policy(demo_server: str, role: str) -> None:
    def visit(page: Any) -> tuple[dict[str, list[str]], list[tuple[str, int]]]:
        log_in(page, role)
        urls = list(PAGES[role])
        page.goto("/leads")
        urls += [u for u in (_first_detail(page, "/leads/"),) if u]
        page.goto("/enterprises/")
        urls += [u for u in (_first_detail(page, "/enterprises/"),) if u]
        violations: dict[str, list[str]] = {}
        statuses = []
        for url in urls:
            response = page.goto(url)
            statuses.append((url, response.status if response else 0))
            page.wait_for_load_state("networkidle")
            found = page.evaluate("window.__csp")
            if found:
                violations[url] = found
        return violations, statuses

    violations, statuses = in_browser(demo_server, visit)
    assert all(status == 200 for _url, status in statuses), statuses
    assert violations == {}


def test_the_browser_refuses_an_injected_inline_script(demo_server: str) -> None:
    """The control: had text slipped through unescaped, its script would not run."""

    def visit(page: Any) -> tuple[bool, list[str]]:
        log_in(page, "officer")
        page.goto("/my")
        page.evaluate(
            """() => {
                const s = document.createElement("script");
                s.textContent = "window.__ran = true";
                document.body.appendChild(s);
                const d = document.createElement("div");
                d.innerHTML = '<img src="x" onerror="window.__ran = true">';
                document.body.appendChild(d);
            }"""
        )
        page.wait_for_timeout(300)
        return page.evaluate("window.__ran === undefined"), page.evaluate("window.__csp")

    did_not_run, violations = in_browser(demo_server, visit)
    assert did_not_run
    assert any(v.startswith("script-src") for v in violations)
