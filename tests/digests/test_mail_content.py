"""What arrives in each mailbox: the right items for each role, and links that open for him."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from app.digests.delivery import send_week
from app.digests.weeks import IsoWeek
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageChange
from tests.factories import LeadFactory

WEEK = IsoWeek.last_completed()


def _bodies(inbox: Any, address: str) -> tuple[str, str]:
    (message,) = inbox.to(address)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def _overdue_and_signed(session: Any, world: Any) -> Any:
    """张专员's lead with a follow-up overdue at the end of WEEK, and a lead of park A signed in
    WEEK (its stage change recorded by the manager); returns the overdue one."""
    mine = LeadFactory(
        title="张专员的逾期线索",
        owner=world.officer,
        park=world.park_a,
        next_step="回访企业",
        next_step_due=WEEK.sunday - dt.timedelta(days=2),
    )
    signed = LeadFactory(
        title="园区A新签约",
        owner=world.officer,
        park=world.park_a,
        stage=Stage.SIGNED,
        stage_since=WEEK.monday + dt.timedelta(days=1),
    )
    session.add(
        StageChange(
            lead_id=signed.id,
            from_stage=Stage.NEGOTIATING,
            to_stage=Stage.SIGNED,
            effective_on=WEEK.monday + dt.timedelta(days=1),
            recorded_by_id=world.manager.id,
        )
    )
    session.commit()
    return mine


def test_each_role_reads_its_own_items_and_every_link_opens(
    app: Any, session: Any, world: Any, inbox: Any, client: Any, login_as: Any
) -> None:
    for user in (world.officer, world.other_officer, world.manager, world.leader):
        user.email = f"{user.username}@crm.test"
    mine = _overdue_and_signed(session, world)
    LeadFactory(
        title="李专员的线索",
        owner=world.other_officer,
        park=world.park_b,
        next_step="准备材料",
        next_step_due=WEEK.sunday - dt.timedelta(days=2),
    )
    session.commit()

    summary = send_week(session, WEEK)
    assert summary.sent >= 4, summary

    officer_text, officer_html = _bodies(inbox, "officer@crm.test")
    assert mine.title in officer_text and mine.title in officer_html
    assert "李专员的线索" not in officer_text + officer_html

    manager_text, manager_html = _bodies(inbox, "manager@crm.test")
    assert "园区A新签约" in manager_text and "园区A新签约" in manager_html
    assert "李专员的线索" not in manager_text + manager_html  # park B is not his

    leader_text, _ = _bodies(inbox, "leader@crm.test")
    assert "园区A新签约" in leader_text

    base = app.config["BASE_URL"]
    for user, html in ((world.officer, officer_html), (world.manager, manager_html)):
        links = set(re.findall(r'href="([^"]+)"', html))
        assert links, "a digest links to its items"
        assert all(link.startswith(base) for link in links), links
        login_as(user)
        for link in links:
            response = client.get(urlsplit(link).path)
            assert response.status_code == 200, (user.username, link)


def test_each_recipient_reads_his_digest_in_his_own_language(
    session: Any, world: Any, inbox: Any
) -> None:
    """A leader who chose English and an admin who did not share the district's figures in one
    batch; each mail speaks its reader's language, the records' own names as they are."""
    world.leader.locale = "en"
    world.officer.locale = "en"
    for user in (world.officer, world.leader, world.admin):
        user.email = f"{user.username}@crm.test"
    _overdue_and_signed(session, world)

    send_week(session, WEEK)

    english = inbox.to("leader@crm.test")[0]
    assert english["Subject"] == f"Investment digest week {WEEK.week} of {WEEK.year}"
    chinese = inbox.to("admin@crm.test")[0]
    assert chinese["Subject"] == f"招商周报 {WEEK.year}年第{WEEK.week}周"
    leader_text, leader_html = _bodies(inbox, "leader@crm.test")
    admin_text, admin_html = _bodies(inbox, "admin@crm.test")
    for text in (leader_text, leader_html):
        assert "District weekly digest" in text and "Last week's stage changes" in text
        assert "Negotiating → Signed" in text and "园区A新签约" in text
        assert "All parks by stage" in text
    assert "园区A新签约 (lead)" in leader_text and "New leads</th>" in leader_html
    assert '<html lang="en">' in leader_html and '<html lang="zh-CN">' in admin_html
    for text in (admin_text, admin_html):
        assert "全区招商周报" in text and "上周阶段变化" in text and "洽谈 → 签约" in text
        assert "District" not in text

    officer_text, officer_html = _bodies(inbox, "officer@crm.test")
    for text in (officer_text, officer_html):
        assert "Overdue follow-ups" in text and "张专员的逾期线索" in text
