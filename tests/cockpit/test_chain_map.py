"""The chain map's cards: the largest records of each link, as far as the user may see them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.cockpit.services import CARDS_PER_LINK, OPEN_LEAD_STAGES, build_chain_map
from app.core.timeutil import today_local
from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import Stage
from tests.factories import ChainLinkFactory, LeadFactory, ProjectFactory

# Amounts in 亿元, with ties and unknown amounts; more than a link shows.
AMOUNTS = ["30", "5", None, "30", "12", "1", None, "80", "5", "2", "30", "7"]


@pytest.fixture
def link_records(session: Any, world: Any) -> Any:
    second = ChainLinkFactory(chain=world.chain, name="晶圆制造", position=3)
    projects, leads = [], []
    for i, amount in enumerate(AMOUNTS):
        park = world.park_a if i % 3 else world.park_b
        total = Decimal(amount) if amount else None
        lead_stage = (*OPEN_LEAD_STAGES, Stage.DROPPED)[i % 4]
        leads.append(
            LeadFactory(
                park=park, chain_link=world.link, stage=lead_stage, estimated_investment=total
            )
        )
        projects.append(
            ProjectFactory(
                park=park,
                chain_link=world.link,
                lead__park=park,
                stage=Stage.SIGNED,
                total_investment=total,
            )
        )
    # A record of the other link never shows in this one.
    ProjectFactory(chain_link=second, park=world.park_a, total_investment=Decimal("999"))
    session.flush()
    return projects, leads, second


def _largest(records: list[Any], amount: str) -> list[int]:
    """Largest amount first, newest first among equal amounts, unknown amounts last."""
    known = [r for r in records if getattr(r, amount) is not None]
    unknown = [r for r in records if getattr(r, amount) is None]
    known.sort(key=lambda r: (-getattr(r, amount), -r.id))
    unknown.sort(key=lambda r: -r.id)
    return [r.id for r in (known + unknown)[:CARDS_PER_LINK]]


@pytest.mark.parametrize(
    ("who", "park"), [("leader", None), ("leader", "park_a"), ("manager", None)]
)
def test_each_link_shows_its_largest_records(
    session: Any, world: Any, link_records: Any, who: str, park: str | None
) -> None:
    projects, leads, second = link_records
    user = getattr(world, who)
    park_id = getattr(world, park).id if park else None
    seen = {world.park_a.id} if who == "manager" or park else {world.park_a.id, world.park_b.id}
    chain_map = build_chain_map(session, user, world.chain, Thresholds(), today_local(), park_id)
    views = {view.link.id: view for view in chain_map.links}

    mine = [p for p in projects if p.park_id in seen]
    assert [p.id for p in views[world.link.id].projects] == _largest(mine, "total_investment")
    open_leads = [lead for lead in leads if lead.park_id in seen and lead.stage in OPEN_LEAD_STAGES]
    assert [lead.id for lead in views[world.link.id].candidate_leads] == _largest(
        open_leads, "estimated_investment"
    )
    assert len(views[world.link.id].projects) == min(CARDS_PER_LINK, len(mine))
    assert [p.total_investment for p in views[second.id].projects] == [Decimal("999")]
