"""The application as a whole: configuration guards and a front end that works offline.

Government networks are often cut off from the internet, so every script, style sheet and font
must come from app/static, never from a CDN.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

import config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
STATIC = ROOT / "app" / "static"

# Variables that would let a child process pick up this run's settings.
APP_VARIABLES = ("APP_ENV", "SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL", "FLASK_APP")


def load_wsgi(
    script: str = "import wsgi; print(wsgi.app.config['SQLALCHEMY_DATABASE_URI'])", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run *script* (by default: import wsgi.py, as gunicorn does) in a fresh interpreter, with
    *env* as the settings."""
    child_env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    child_env.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_secret_key() -> None:
    result = load_wsgi(APP_ENV="production", DATABASE_URL="postgresql://crm@db.invalid/crm")
    assert result.returncode != 0
    assert "RuntimeError: SECRET_KEY must be set" in result.stderr


def test_production_starts_with_secret_key_and_rewrites_postgres_url() -> None:
    result = load_wsgi(
        APP_ENV="production",
        SECRET_KEY="a-real-secret",
        DATABASE_URL="postgres://crm:pw@db.invalid:5432/crm",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql+psycopg://crm:pw@db.invalid:5432/crm"


# A gunicorn worker's life as deploy/gunicorn.conf.py's hooks see it: the app loaded, then
# post_worker_init, then post_request after each request (``worker.nr`` counts them).
WORKER_LIFE = """
import gc, json, runpy
from types import SimpleNamespace
conf = runpy.run_path("deploy/gunicorn.conf.py")
import wsgi
worker = SimpleNamespace(nr=0)
conf["post_worker_init"](worker)
seen = {"loaded": gc.get_freeze_count(), "threshold": gc.get_threshold()}
made_while_serving = [[n] for n in range(5000)]
for n in range(1, conf["GC_SETTLED_AFTER"] + 3):
    worker.nr = n
    conf["post_request"](worker, None, None, None)
    seen[n] = gc.get_freeze_count()
seen.update(young=conf["GC_YOUNG_THRESHOLD"], settled=conf["GC_SETTLED_AFTER"])
print(json.dumps(seen))
"""


def test_gunicorn_workers_keep_the_loaded_app_out_of_the_collectors_reach() -> None:
    result = load_wsgi(
        WORKER_LIFE,
        APP_ENV="production",
        SECRET_KEY="a-real-secret",
        DATABASE_URL="postgresql://crm@db.invalid/crm",
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # The loaded application (modules, mappers, templates) is frozen before the first request.
    assert seen["loaded"] > 50_000
    assert seen["threshold"][0] == seen["young"] > 700
    settled = seen["settled"]
    # Nothing more until the worker has served its first requests, then what they left behind
    # (caches, and here the list made while serving) once, and nothing after that.
    assert seen["1"] == seen[str(settled - 1)] == seen["loaded"]
    assert seen[str(settled)] >= seen["loaded"] + 5000
    assert seen[str(settled + 2)] == seen[str(settled)]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/crm", "postgresql+psycopg://u:p@h:5432/crm"),
        ("postgresql://u@h/crm", "postgresql+psycopg://u@h/crm"),
        ("postgresql+psycopg://u@h/crm", "postgresql+psycopg://u@h/crm"),
        ("sqlite:////srv/crm/crm.sqlite3", "sqlite:////srv/crm/crm.sqlite3"),
    ],
)
def test_database_url_selects_psycopg_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert config.database_url("sqlite://") == expected


def test_unknown_app_env_is_refused() -> None:
    with pytest.raises(RuntimeError, match="Unknown APP_ENV"):
        config.get_config("staging")


# --- offline front end --------------------------------------------------------------------------

STATIC_REFERENCE = re.compile(
    r"""url_for\(\s*['"]static['"]\s*,\s*filename\s*=\s*['"]([^'"]+)['"]"""
)
# src="..." on any tag, href="..." on <link>: what the browser loads by itself.
SRC_ATTRIBUTE = re.compile(r"""\bsrc\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""", re.IGNORECASE)
LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
HREF_ATTRIBUTE = re.compile(r"""\bhref\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""", re.IGNORECASE)
# url(...) and @import in style sheets and <style> blocks.
CSS_REMOTE = re.compile(
    r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]*)""", re.IGNORECASE
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def remote_references(html: str) -> list[str]:
    """Return the external URLs a page would make the browser fetch."""
    found = SRC_ATTRIBUTE.findall(html) + CSS_REMOTE.findall(html)
    for tag in LINK_TAG.findall(html):
        found += HREF_ATTRIBUTE.findall(tag)
    return found


def test_remote_reference_detector_catches_cdn_links() -> None:
    page = """
      <script src="https://cdn.example.com/jquery.js"></script>
      <link rel="stylesheet" href="//fonts.example.com/css?family=Noto">
      <style>@import "https://cdn.example.com/x.css";</style>
      <div style="background: url(http://x/y.png)"></div>
      <a href="https://www.gsxt.gov.cn/">国家企业信用信息公示系统</a>
      <img src="/static/logo.png">
    """
    assert len(remote_references(page)) == 4


def test_templates_load_nothing_from_the_internet() -> None:
    assert template_files(), "no templates found"
    offenders = {
        str(path.relative_to(ROOT)): refs
        for path in template_files()
        if (refs := remote_references(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_style_sheets_load_nothing_from_the_internet() -> None:
    offenders = {
        str(path.relative_to(ROOT)): refs
        for path in sorted(STATIC.rglob("*.css"))
        if (refs := CSS_REMOTE.findall(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_fonts_and_images_named_in_style_sheets_are_vendored() -> None:
    missing = []
    for sheet in sorted(STATIC.rglob("*.css")):
        for target in CSS_URL.findall(sheet.read_text(encoding="utf-8")):
            if target.startswith(("data:", "#")):
                continue
            local = (sheet.parent / re.split(r"[?#]", target)[0]).resolve()
            if not local.is_file():
                missing.append(f"{sheet.relative_to(ROOT)}: {target}")
    assert missing == []


def test_static_files_named_in_templates_exist() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in template_files()
        for name in STATIC_REFERENCE.findall(path.read_text(encoding="utf-8"))
        if not (STATIC / name).is_file()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("vendor/bootstrap/bootstrap.min.css", "text/css"),
        ("vendor/bootstrap/bootstrap.bundle.min.js", None),
        ("vendor/bootstrap-icons/bootstrap-icons.min.css", "text/css"),
        ("vendor/bootstrap-icons/fonts/bootstrap-icons.woff2", None),
    ],
)
def test_vendored_assets_are_served(app: Flask, name: str, mimetype: str | None) -> None:
    response = app.test_client().get(f"/static/{name}")
    try:
        assert response.status_code == 200
        assert response.get_data() == (STATIC / name).read_bytes()
        if mimetype:
            assert response.mimetype == mimetype
    finally:
        response.close()


def test_login_page_loads_nothing_from_the_internet(app: Flask) -> None:
    response = app.test_client().get("/login")
    try:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
    finally:
        response.close()
    assert "vendor/bootstrap/bootstrap.min.css" in html
    assert remote_references(html) == []
