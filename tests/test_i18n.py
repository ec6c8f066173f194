"""The English catalogue: complete, consistent with its msgids, and used by the pages.

The .mo file is built by `make` and not committed, so a session fixture compiles it (into the
app's translations tree) when it is missing or older than the .po file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import refresh

from app.extensions import babel

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "app" / "translations" / "en" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "messages.po"
MO_FILE = LC_MESSAGES / "messages.mo"

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _read_catalogue() -> Catalog:
    with PO_FILE.open("rb") as f:
        return read_po(f, locale="en")


@pytest.fixture(scope="session", autouse=True)
def english_catalogue(app: Flask) -> Catalog:
    """The parsed .po file, with an up-to-date .mo next to it."""
    catalogue = _read_catalogue()
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        fd, tmp = tempfile.mkstemp(dir=LC_MESSAGES, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalogue)
            os.chmod(tmp, 0o644)
            os.replace(tmp, MO_FILE)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        # Flask-Babel caches loaded catalogues for the whole process: forget any catalogue an
        # earlier test loaded before the .mo file existed.
        with app.app_context():
            babel.domain_instance.cache.clear()
    return catalogue


def _messages(catalogue: Catalog) -> list[Any]:
    return [m for m in catalogue if m.id]


def _get(client: Any, url: str) -> str:
    # The tests share one app context, where Flask-Babel keeps the locale between requests.
    refresh()
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _navbar(html: str) -> str:
    start = html.index('<nav class="navbar')
    return html[start : html.index("</nav>", start)]


# --- the pages -----------------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client: Any) -> None:
    html = _get(client, "/login")

    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "招商引资管理系统" in html
    assert "Log in" not in html


def test_login_page_in_english(client: Any) -> None:
    response = client.post("/language/en", data={"next": "/login"})
    assert response.status_code == 302

    html = _get(client, "/login")

    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Username" in html
    assert "Password" in html
    assert "Investment Promotion CRM" in html
    # Only the switch back to Chinese is written in Chinese.
    assert CJK.findall(html.replace("简体中文", "")) == []


def test_lead_list_in_english_for_a_leader(login_as: Any, world: Any) -> None:
    client = login_as(world.leader)
    response = client.post("/language/en", data={"next": "/leads"})
    assert response.status_code == 302

    html = _get(client, "/leads")

    assert '<html lang="en">' in html
    assert "Leads" in html
    navbar = _navbar(html)
    for label in ("Park board", "Leads", "Projects", "Enterprises", "Settings", "Log out"):
        assert label in navbar
    assert "Leader" in navbar  # the role shown next to the user's name
    assert CJK.findall(navbar.replace(world.leader.full_name, "")) == []
    # The rest of the page holds Chinese only in data (names of people, parks, the chain and its
    # link) and in the switch back to Chinese.
    users = [world.officer, world.other_officer, world.manager, world.other_manager, world.leader]
    data = [user.full_name for user in users]
    data += [world.park_a.name, world.park_b.name, world.link.name, world.chain.name, "简体中文"]
    for text in data:
        html = html.replace(text, "")
    assert CJK.findall(html) == []
    assert "≥ 50 × 100M CNY" in html  # the tier filter's options


# --- the catalogue -------------------------------------------------------------------------------


def test_every_message_is_translated(english_catalogue: Catalog) -> None:
    messages = _messages(english_catalogue)
    assert len(messages) > 300

    untranslated = [m.id for m in messages if not m.string or not all(m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert not english_catalogue.fuzzy


def test_translations_keep_the_placeholders(english_catalogue: Catalog) -> None:
    wrong = []
    for message in _messages(english_catalogue):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != expected:
                wrong.append((message.id, string))
    assert wrong == []


def test_translations_are_english(english_catalogue: Catalog) -> None:
    # What the user types stays in Chinese: amount examples such as “3.5亿”, and the column
    # names of a ledger (its headers are read in Chinese whatever the language of the page).
    allowed = {"3.5亿", "35000万", "项目名称", "企业名称", "招商专员", "备注"}
    chinese = []
    for message in _messages(english_catalogue):
        text = message.string
        for word in allowed:
            text = text.replace(word, "")
        if CJK.search(text):
            chinese.append((message.id, message.string))
    assert chinese == []


def test_catalogue_matches_the_template(english_catalogue: Catalog) -> None:
    with (ROOT / "app" / "translations" / "messages.pot").open("rb") as f:
        template = read_po(f)

    assert {m.id for m in _messages(template)} == {m.id for m in _messages(english_catalogue)}


def test_catalogue_covers_the_sources(english_catalogue: Catalog) -> None:
    """Every string marked in app/ (as `make translations` extracts it) is in the catalogue."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {
        **DEFAULT_KEYWORDS,
        "_l": None,
        "lazy_gettext": None,
        "lazy_ngettext": (1, 2),
        "_p": ((1, "c"), 2),
        "lazy_pgettext": ((1, "c"), 2),
    }
    found = {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords
        )
    }
    assert len(found) > 300

    catalogue = {m.id for m in _messages(english_catalogue)}
    assert sorted(found - catalogue, key=str) == []


def test_translation_functions_follow_the_request_locale(
    app: Flask, english_catalogue: Catalog
) -> None:
    # app.core.i18n reads the catalogue once per request; changing the locale within the request
    # (refresh, force_locale) must still be seen.
    from flask_babel import force_locale

    from app.core.i18n import gettext, lazy_gettext, lazy_pgettext, ngettext, pgettext
    from app.pipeline.lifecycle import Stage

    with app.test_request_context("/?lang=en"):
        assert gettext("线索") == "Leads"
        assert gettext("自 %(d)s 起", d="2026-01-02") == "since 2026-01-02"
        assert pgettext("stage", "线索") == "Lead"
        assert str(lazy_pgettext("stage", "线索")) == "Lead"
        assert Stage.LEAD.label == "Lead"
        label = lazy_gettext("线索")
        assert str(label) == "Leads"
        assert ngettext("%(num)d 条", "%(num)d 条", 3) == "3 条"
        with force_locale("zh_Hans_CN"):
            assert gettext("线索") == "线索"
            assert str(label) == "线索"
            assert Stage.LEAD.label == "线索"
        assert gettext("线索") == "Leads"
        assert app.jinja_env.from_string("{{ _('线索') }}").render() == "Leads"
    with app.test_request_context("/"):
        assert gettext("线索") == "线索"
        assert app.jinja_env.from_string("{{ _('自 %(d)s 起', d=1) }}").render() == "自 1 起"
    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        assert gettext("线索") == "Leads"
        session["lang"] = "zh_Hans_CN"
        refresh()  # e.g. after the user changed language within the request
        assert gettext("线索") == "线索"


def test_translation_outside_a_request(app: Flask) -> None:
    from app.core.i18n import gettext

    assert gettext("线索") == "线索"
    with app.app_context():
        assert gettext("线索") == "线索"
