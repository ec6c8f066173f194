"""A record's timeline shows its latest contacts and the stage changes among them; older ones
on request, so a record followed for years does not make its page grow without bound."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from app.pipeline import queries
from app.pipeline.lifecycle import Stage
from app.pipeline.models import ContactLog, StageChange
from tests.factories import LeadFactory

DAY = dt.date(2026, 3, 1)


@pytest.fixture
def followed(session: Any, world: Any) -> Any:
    """A lead with six contacts on days 0, 10 … 50 and stage moves on days 5 and 45."""
    lead = LeadFactory(title="长期跟进线索", owner=world.officer, park=world.park_a)
    session.flush()
    for i in range(6):
        session.add(
            ContactLog(
                lead_id=lead.id,
                contact_type="visit",
                contact_on=DAY + dt.timedelta(days=10 * i),
                summary=f"第{i}次走访",
                created_by_id=world.officer.id,
            )
        )
    for day, before, after in (
        (5, Stage.LEAD, Stage.CONTACTED),
        (45, Stage.CONTACTED, Stage.NEGOTIATING),
    ):
        session.add(
            StageChange(
                lead_id=lead.id,
                from_stage=before,
                to_stage=after,
                effective_on=DAY + dt.timedelta(days=day),
                from_since=DAY,
            )
        )
    session.commit()
    return lead


def shown(page: str) -> list[str]:
    return re.findall(r"第\d次走访", page)


def test_the_page_shows_the_latest_contacts_and_offers_the_rest(
    login_as: Any, world: Any, followed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "TIMELINE_SHOWN", 3)
    client = login_as(world.officer)
    page = client.get(f"/leads/{followed.id}").get_data(as_text=True)
    assert shown(page) == ["第5次走访", "第4次走访", "第3次走访"]
    # The move on day 45 lies among the contacts shown; the one on day 5 among those hidden.
    assert page.count('class="stage-event"') == 1
    more = re.search(r'<a href="([^"]*)">显示更早的记录</a>', page)
    assert more and "timeline=all" in more.group(1)
    everything = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert shown(everything) == [f"第{i}次走访" for i in range(5, -1, -1)]
    assert everything.count('class="stage-event"') == 2
    assert "显示更早的记录" not in everything


def test_a_short_timeline_offers_nothing_more(
    login_as: Any, world: Any, followed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "TIMELINE_SHOWN", 6)
    page = login_as(world.officer).get(f"/leads/{followed.id}").get_data(as_text=True)
    assert len(shown(page)) == 6 and page.count('class="stage-event"') == 2
    assert "显示更早的记录" not in page


def test_timeline_runs_two_statements_whatever_its_length(
    session: Any, followed: Any, count_queries: Any
) -> None:
    assert followed.id  # loaded before counting
    with count_queries() as counter:
        found = queries.timeline(session, followed, limit=2)
    assert counter.count == 2
    assert found.more
    assert [e.kind for e in found.entries] == ["contact", "stage", "contact"]
