"""A data set shaped like the office's public 2022 results, added on top of the demo world.

The public figures (see the domain notes): in 2022 the district brought in 320 projects of
1亿元 and above, 15 of them of 50亿元 and above, and 50 chip/display (芯屏) projects with 1500亿元
of total investment. This module signs exactly such projects in 2022, with complete stage
histories, so that the cockpit for 2022 shows exactly those figures: a check that the
figures leaders report can be read straight off the records.

The records are fictional (enterprise names are made up and marked as such); every choice is
fixed, so the set is the same on every run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.core.audit import set_actor
from app.enterprises.credit_code import check_character
from app.enterprises.models import Enterprise
from app.enterprises.names import normalize_name
from app.parks.models import Chain, Park
from app.pipeline.lifecycle import MILESTONE_FIELDS, Stage
from app.pipeline.models import Lead, LeadSource, Project, StageChange

YEAR = 2022
# The published figures the data set reproduces.
PROJECTS_1YI = 320
PROJECTS_50YI = 15
CHIP_DISPLAY_PROJECTS = 50
CHIP_DISPLAY_TOTAL = Decimal(1500)
# Chip/display projects of 50亿元+ (the rest of the 15 are in the other parks).
CHIP_DISPLAY_BIG = 6
# Projects below 1亿元 signed the same year: reported nowhere, present in the records.
SMALL_PROJECTS = 40
# The enterprise names carry this marker so the set is recognisable (and loaded only once).
NAME_MARK = "（2022样本）"

# The parks and chains the set uses (the demo world's codes).
CHIP_PARK, DISPLAY_PARK = "IC", "DISPLAY"
CHIP_CHAIN, DISPLAY_CHAIN = "CHIP", "DISPLAY"
OTHER_PARKS = ("MATERIALS", "HYDROGEN", "MARINE")

_WORDS = ("海川", "金桥", "蓝湾", "启明", "瑞丰", "华拓", "博远", "鼎新", "众诚", "远航", "润泽")
_TRADES = {
    "IC": "半导体",
    "DISPLAY": "光电显示",
    "MATERIALS": "新材料",
    "HYDROGEN": "氢能科技",
    "MARINE": "海洋科技",
}


@dataclass(frozen=True)
class Planned:
    park: str
    chain: str | None
    amount: Decimal
    signed_on: dt.date
    stage: Stage


class MissingWorldError(RuntimeError):
    """The demo parks, chains or accounts are not loaded."""


def _signing_day(i: int) -> dt.date:
    """Spread signings over the twelve months of the year (never the 29th to 31st)."""
    return dt.date(YEAR, 1 + i % 12, 1 + (i * 7) % 28)


def plan() -> list[Planned]:
    """The projects of the set, with amounts that add up to the published figures exactly."""
    out: list[Planned] = []
    # 50 chip/display projects: 6 of 50亿元+ (80亿元 each), 44 sharing the remaining 1020亿元.
    chip_amounts = [Decimal(80)] * CHIP_DISPLAY_BIG
    rest = CHIP_DISPLAY_TOTAL - sum(chip_amounts)
    small_count = CHIP_DISPLAY_PROJECTS - CHIP_DISPLAY_BIG
    each = (rest / small_count).quantize(Decimal(1), rounding="ROUND_FLOOR")
    chip_amounts += [each] * (small_count - 1) + [rest - each * (small_count - 1)]
    for i, amount in enumerate(chip_amounts):
        chip = i % 2 == 0
        out.append(
            Planned(
                CHIP_PARK if chip else DISPLAY_PARK,
                CHIP_CHAIN if chip else DISPLAY_CHAIN,
                amount,
                _signing_day(i),
                _stage(i),
            )
        )
    # The other 270 projects of 1亿元+: 9 of 50亿元+, the rest between 1 and 49亿元.
    others = PROJECTS_1YI - CHIP_DISPLAY_PROJECTS
    big_others = PROJECTS_50YI - CHIP_DISPLAY_BIG
    for i in range(others):
        amount = Decimal(50 + 5 * i) if i < big_others else Decimal(1 + (i * 13) % 49)
        out.append(
            Planned(
                OTHER_PARKS[i % len(OTHER_PARKS)],
                None,
                amount,
                _signing_day(i + 5),
                _stage(i + 1),
            )
        )
    # Projects below 1亿元 (0.3 to 0.9亿元).
    for i in range(SMALL_PROJECTS):
        out.append(
            Planned(
                (CHIP_PARK, DISPLAY_PARK, *OTHER_PARKS)[i % 5],
                None,
                Decimal("0.3") + Decimal(i % 7) / 10,
                _signing_day(i + 3),
                Stage.SIGNED,
            )
        )
    return out


def _stage(i: int) -> Stage:
    """Where a 2022 project stands today: most have started, many produce."""
    return (Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION, Stage.FULL_PRODUCTION)[i % 4]


def _path(signed_on: dt.date, stage: Stage) -> list[tuple[Stage, dt.date]]:
    """Every stage from 线索 to *stage* with its date: no holes in the history."""
    steps = [
        (Stage.LEAD, signed_on - dt.timedelta(days=200)),
        (Stage.CONTACTED, signed_on - dt.timedelta(days=150)),
        (Stage.NEGOTIATING, signed_on - dt.timedelta(days=90)),
        (Stage.SIGNED, signed_on),
        (Stage.CONSTRUCTION, signed_on + dt.timedelta(days=120)),
        (Stage.PRODUCTION, signed_on + dt.timedelta(days=480)),
        (Stage.FULL_PRODUCTION, signed_on + dt.timedelta(days=900)),
    ]
    upto = [s for s, _d in steps].index(stage)
    return steps[: upto + 1]


def already_loaded(session: Session) -> bool:
    pattern = f"%{NAME_MARK}"
    return bool(
        session.scalar(select(func.count(Enterprise.id)).where(Enterprise.name.like(pattern)))
    )


def load_results_2022(session: Session) -> int:
    """Add the 2022 set to a database holding the demo world; return the projects added."""
    parks = {p.code: p for p in session.scalars(select(Park))}
    chains = {c.code: c for c in session.scalars(select(Chain))}
    officers = list(
        session.scalars(select(User).where(User.role == Role.OFFICER).order_by(User.id))
    )
    missing = {CHIP_PARK, DISPLAY_PARK, *OTHER_PARKS} - set(parks)
    if missing or CHIP_CHAIN not in chains or DISPLAY_CHAIN not in chains or not officers:
        raise MissingWorldError("请先载入演示数据（flask demo load）。")
    admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    set_actor(session, admin.id if admin else None, "cli")
    planned = plan()
    for i, item in enumerate(planned):
        park = parks[item.park]
        name = f"青岛{_WORDS[i % len(_WORDS)]}{_TRADES[item.park]}第{i + 1}有限公司{NAME_MARK}"
        first17 = f"91370211MA{i:07d}"
        enterprise = Enterprise(
            name=name,
            name_key=normalize_name(name),
            credit_code=first17 + check_character(first17),
            industry=_TRADES[item.park],
            region="山东省青岛市",
        )
        links = chains[item.chain].links if item.chain else []
        link = links[i % len(links)] if links else None
        owner = officers[i % len(officers)]
        path = _path(item.signed_on, item.stage)
        dates = {MILESTONE_FIELDS[stage]: day for stage, day in path if stage in MILESTONE_FIELDS}
        common = {
            "enterprise": enterprise,
            "park": park,
            "chain_link": link,
            "owner": owner,
            "stage": item.stage,
            "stage_since": path[-1][1],
            "last_contact_on": path[-1][1],
            **dates,
        }
        lead = Lead(
            title=f"{_TRADES[item.park]}项目洽谈（{i + 1}）",
            source=LeadSource.BUSINESS_REFERRAL,
            estimated_investment=item.amount,
            **common,
        )
        project = Project(
            lead=lead,
            name=f"{_TRADES[item.park]}产业化项目（2022-{i + 1:03d}）",
            total_investment=item.amount,
            **common,
        )
        session.add_all([enterprise, lead, project])
        session.flush()
        previous: Stage | None = None
        since: dt.date | None = None
        for stage, day in path:
            for subject in ({"lead_id": lead.id}, {"project_id": project.id}):
                session.add(
                    StageChange(
                        from_stage=previous,
                        to_stage=stage,
                        effective_on=day,
                        from_since=since,
                        recorded_by_id=owner.id,
                        **subject,
                    )
                )
            previous, since = stage, day
    session.flush()
    return len(planned)
