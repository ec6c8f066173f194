"""Rendering the digest: subject, mail-safe HTML with escaped user text, and the text part."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from app.core.timeutil import today_local
from app.digests.content import build_digest
from app.digests.render import RenderedDigest, render_digest
from app.digests.weeks import IsoWeek
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageChange
from tests.factories import LeadFactory, ProjectFactory, UserFactory

BASE = "http://crm.test"
SCRIPT = "<script>alert(1)</script>"


class _Tags(HTMLParser):
    """Collects the tags, attributes and links of a document, and checks they nest."""

    VOID = {"meta", "br", "img", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.links: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "a":
            self.links.append(dict(attrs)["href"] or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


@pytest.fixture
def week() -> IsoWeek:
    return IsoWeek.of(today_local())


@pytest.fixture
def scene(session: Any, world: Any, week: IsoWeek) -> dict[str, Any]:
    reading = week.next().monday
    lead = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        title=f"线索{SCRIPT}",
        next_step=f"跟进 {SCRIPT}",
        next_step_due=reading + dt.timedelta(days=1),
    )
    project = ProjectFactory(lead=lead, name="芯片封装一期", stage=Stage.SIGNED)
    session.add(
        StageChange(
            project_id=project.id,
            from_stage=Stage.NEGOTIATING,
            to_stage=Stage.SIGNED,
            effective_on=today_local(),
            reason=SCRIPT,
        )
    )
    session.flush()
    return {"lead": lead, "project": project}


def render(session: Any, user: Any, week: IsoWeek) -> tuple[Any, RenderedDigest]:
    digest = build_digest(session, user, week, BASE)
    return digest, render_digest(digest)


def test_subject_names_the_week(session: Any, world: Any) -> None:
    _, mail = render(session, world.officer, IsoWeek(2026, 48))
    assert mail.subject == "招商周报 2026年第48周"


@pytest.mark.parametrize("role", ["officer", "manager", "leader", "admin"])
def test_html_is_mail_safe_and_escapes_user_text(
    session: Any, world: Any, scene: dict[str, Any], week: IsoWeek, role: str
) -> None:
    _, mail = render(session, getattr(world, role), week)
    html = mail.html
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    tags = parse(html)
    assert "script" not in tags.tags
    assert not {"img", "link", "style", "iframe", "object"} & set(tags.tags)
    assert "class" not in {name for name, _ in tags.attrs}
    assert "@import" not in html and "url(" not in html
    assert "<table" in html and 'style="' in html
    assert tags.links and all(link.startswith(BASE + "/") for link in tags.links)
    assert f"{BASE}/leads/{scene['lead'].id}" in tags.links or role != "officer"
    assert f"{BASE}/projects/{scene['project'].id}" in tags.links


@pytest.mark.parametrize("role", ["officer", "manager", "leader"])
def test_text_part_has_the_same_items(
    session: Any, world: Any, scene: dict[str, Any], week: IsoWeek, role: str
) -> None:
    digest, mail = render(session, getattr(world, role), week)
    entries = digest.all_entries()
    assert entries
    for entry in entries:
        assert entry.url in mail.text
        assert entry.url in mail.html
        assert entry.name in mail.text
    assert "<" not in re.sub(r"<script>alert\(1\)</script>", "", mail.text)
    assert SCRIPT in mail.text  # plain text is not escaped
    assert set(re.findall(r"https?://\S+", mail.text)) <= set(parse(mail.html).links)


def test_amounts_in_yi_and_dates_iso(
    session: Any, world: Any, scene: dict[str, Any], week: IsoWeek
) -> None:
    _, mail = render(session, world.manager, week)
    assert "10.00 亿元" in mail.text and "10.00 亿元" in mail.html
    assert today_local().isoformat() in mail.text
    assert "★" in mail.text and "[签约]" in mail.text


def test_empty_digest_says_nothing_new(session: Any, world: Any) -> None:
    newcomer = UserFactory(full_name="新专员")
    digest, mail = render(session, newcomer, IsoWeek(2026, 48))
    assert digest.is_empty
    assert "本周没有新的动态" in mail.text
    assert "本周没有新的动态" in mail.html
    parse(mail.html)
