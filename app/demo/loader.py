"""Build the demo world and add it to a session: parks, chains, accounts, enterprises, leads,
projects, their stage history and contact log.

Every choice comes from one seeded ``random.Random``; dates count back from today (Asia/Shanghai),
so the same day always gives the same data. Records are built complete in memory (stage, milestone
dates, last contact and next step agree with their history and contacts) and written with a few
flushes; nothing is committed here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TypeVar

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.services import hash_password
from app.core.audit import set_actor
from app.core.timeutil import LOCAL_TZ, now_utc, today_local, week_bounds
from app.demo import data
from app.enterprises.credit_code import CHARSET, check_character
from app.enterprises.models import Enterprise, EnterpriseContact
from app.enterprises.names import normalize_name
from app.parks.models import Chain, ChainLink, Park
from app.pipeline.lifecycle import (
    ACTIVE,
    MAIN_LINE,
    MILESTONE_FIELDS,
    NEEDS_CONFIRMATION,
    TERMINAL,
    Stage,
)
from app.pipeline.models import ContactLog, ContactType, Lead, Project, StageChange

T = TypeVar("T")
CENT = Decimal("0.01")
# Stages an on-hold lead was in when it was put on hold, with weights.
HOLD_FROM = ((Stage.LEAD, 1), (Stage.CONTACTED, 3), (Stage.NEGOTIATING, 4))
DROP_FROM = ((Stage.LEAD, 2), (Stage.CONTACTED, 4), (Stage.NEGOTIATING, 4))


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    parks: tuple[str, ...]


@dataclass
class DemoResult:
    """What was loaded, for the command's summary."""

    parks: int = 0
    chains: int = 0
    links: int = 0
    enterprises: int = 0
    leads: int = 0
    projects: int = 0
    stage_changes: int = 0
    contacts: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)
    password: str = data.DEMO_PASSWORD


def database_is_empty(session: Session) -> bool:
    """Tell whether there are no parks, users or enterprises yet."""
    return not any(
        session.scalar(select(exists().select_from(model))) for model in (Park, User, Enterprise)
    )


def load_demo(session: Session, today: dt.date | None = None) -> DemoResult | None:
    """Add the demo data to an empty database and flush; return None when data exists."""
    if not database_is_empty(session):
        return None
    set_actor(session, None, "demo")
    return _Builder(session, today or today_local()).build()


# --- plans: a record's history before it becomes rows -----------------------------------------


@dataclass
class Step:
    from_stage: Stage | None
    to_stage: Stage
    on: dt.date
    reason: str | None = None
    note: str | None = None


@dataclass
class Track:
    """The stage history of one record and the fields it implies."""

    steps: list[Step]

    @property
    def stage(self) -> Stage:
        return self.steps[-1].to_stage

    @property
    def since(self) -> dt.date:
        return self.steps[-1].on

    @property
    def start(self) -> dt.date:
        return self.steps[0].on

    def fields(self) -> dict[str, object]:
        """Replay the history as the pipeline service writes it."""
        out: dict[str, object] = {f: None for f in MILESTONE_FIELDS.values()}
        held_from = None
        for step in self.steps:
            if step.to_stage in MILESTONE_FIELDS:
                out[MILESTONE_FIELDS[step.to_stage]] = step.on
            if step.to_stage is Stage.ON_HOLD:
                held_from = step.from_stage
            elif step.from_stage is Stage.ON_HOLD:
                held_from = None
        out.update(stage=self.stage, stage_since=self.since, held_from=held_from)
        return out

    def entered(self, stage: Stage) -> dt.date | None:
        """Return the last date the record entered *stage*."""
        days = [s.on for s in self.steps if s.to_stage is stage]
        return days[-1] if days else None

    def reached(self, stage: Stage) -> dt.date:
        """Return the last date the record entered *stage*, which it must have done."""
        day = self.entered(stage)
        if day is None:
            raise ValueError(f"never entered {stage}")
        return day


@dataclass
class ContactPlan:
    on: dt.date
    contact_type: ContactType
    summary: str
    project: int | None = None  # index into the lead's projects
    next_step: str | None = None
    next_step_due: dt.date | None = None
    with_manager: bool = False


@dataclass
class ProjectPlan:
    name: str
    track: Track
    total: Decimal
    fixed: Decimal
    planned: dict[str, dt.date]
    row: Project | None = None


# --- the builder ------------------------------------------------------------------------------


class _Builder:
    def __init__(self, session: Session, today: dt.date) -> None:
        self.session = session
        self.today = today
        self.now = now_utc()
        self.rng = random.Random(data.SEED)  # noqa: S311 - demo data, not security
        self.result = DemoResult()
        self.used_codes: set[str] = set()

    # reference data and accounts

    def build(self) -> DemoResult:
        parks = self._parks()
        chains = self._chains()
        users = self._users(parks)
        enterprises = self._enterprises()
        leads, plans = self._leads(parks, chains, users, enterprises)
        self.session.add_all([*parks.values(), *chains.values(), *users.values()])
        self.session.add_all([e for e, _ in enterprises])
        self.session.add_all(leads)
        self.session.flush()
        self._history_and_contacts(leads, plans, users)
        self.session.flush()
        return self.result

    def _parks(self) -> dict[str, Park]:
        parks = {
            code: Park(code=code, name=name, description=text, sort_order=i, active=True)
            for i, (code, name, text) in enumerate(data.PARKS, start=1)
        }
        self.result.parks = len(parks)
        return parks

    def _chains(self) -> dict[str, Chain]:
        chains = {}
        for i, (code, name, text, links) in enumerate(data.CHAINS, start=1):
            chains[code] = Chain(
                code=code,
                name=name,
                description=text,
                sort_order=i,
                links=[ChainLink(name=n, position=p) for p, n in enumerate(links, start=1)],
            )
            self.result.links += len(links)
        self.result.chains = len(chains)
        return chains

    def _users(self, parks: dict[str, Park]) -> dict[str, User]:
        password_hash = _password_hash()
        users = {}
        for account in data.ACCOUNTS:
            users[account.username] = User(
                username=account.username,
                full_name=account.full_name,
                role=account.role,
                password_hash=password_hash,
                email=f"{account.username}@example.com",
                active=True,
                parks=[parks[c] for c in account.parks],
            )
            self.result.accounts.append(
                DemoAccount(
                    account.username,
                    account.full_name,
                    account.role,
                    tuple(parks[c].name for c in account.parks),
                )
            )
        return users

    def _credit_code(self, region: str) -> str:
        while True:
            body = "MA" + "".join(self.rng.choice(CHARSET) for _ in range(7))
            first17 = "91" + region + body
            if first17 not in self.used_codes:
                self.used_codes.add(first17)
                return first17 + check_character(first17)

    def _person(self) -> str:
        return self.rng.choice(data.SURNAMES) + self.rng.choice(data.GIVEN_NAMES)

    def _enterprises(self) -> list[tuple[Enterprise, data.Company]]:
        out = []
        for company in data.COMPANIES:
            titles = self.rng.sample(data.CONTACT_TITLES, 2)
            people = [
                EnterpriseContact(
                    name=self._person(),
                    title=title,
                    phone="1"
                    + self.rng.choice(("38", "39", "58", "86", "35", "77"))
                    + "".join(self.rng.choice("0123456789") for _ in range(8)),
                )
                for title in titles[: self.rng.choice((1, 2, 2))]
            ]
            local = company.region_code == "370211"
            enterprise = Enterprise(
                name=company.name,
                name_key=normalize_name(company.name),
                credit_code=self._credit_code(company.region_code) if company.region_code else None,
                ownership=company.ownership,
                is_global500=company.global500,
                is_china500=company.china500,
                is_listed=company.listed,
                industry=company.industry,
                region=company.region,
                address="山东省青岛市黄岛区（青岛西海岸新区）" if local else None,
                description=f"{company.industry}领域企业。",
                people=people,
            )
            out.append((enterprise, company))
        self.result.enterprises = len(out)
        return out

    # leads

    def _leads(
        self,
        parks: dict[str, Park],
        chains: dict[str, Chain],
        users: dict[str, User],
        enterprises: list[tuple[Enterprise, data.Company]],
    ) -> tuple[list[Lead], list[_LeadPlan]]:
        rng = self.rng
        # Who courts each enterprise: one officer, so no enterprise is courted twice.
        owners = [users[_weighted(rng, data.SECTOR_OFFICERS[c.sector])] for _, c in enterprises]
        # Two leads for every enterprise, the rest by size.
        weight = {"big": 3.0, "mid": 2.0, "small": 1.2}
        picks = [i for i in range(len(enterprises)) for _ in range(2)]
        picks += rng.choices(
            range(len(enterprises)),
            [weight[c.scale] for _, c in enterprises],
            k=data.LEAD_COUNT - len(picks),
        )
        rng.shuffle(picks)
        stages = [s for s, n in data.STAGE_COUNTS.items() for _ in range(n)]
        rng.shuffle(stages)
        plans: list[_LeadPlan] = []
        used_titles: dict[int, set[str]] = {}
        for index, stage in zip(picks, stages, strict=True):
            enterprise, company = enterprises[index]
            park_code = company.sector
            if company.other_parks and rng.random() < 0.25:
                park_code = rng.choice(company.other_parks)
            link = self._pick_link(chains, park_code, company)
            title = self._title(company, park_code, link, used_titles.setdefault(index, set()))
            plans.append(
                _LeadPlan(
                    enterprise=enterprise,
                    company=company,
                    park=parks[park_code],
                    link=link,
                    owner=owners[index],
                    title=title,
                    final=stage,
                )
            )
        self._amounts(plans)
        stale = [p for p in plans if p.final in ACTIVE]
        for plan in rng.sample(stale, round(len(stale) * data.STALE_SHARE)):
            plan.stale = True
        for plan in plans:
            plan.track = self._lead_track(plan)
            plan.projects = self._projects(plan)
            plan.contacts = self._contacts(plan)
        # Older leads get smaller ids, as if they had been entered over the years.
        plans.sort(key=lambda p: p.track.start)
        leads = [self._lead_row(plan) for plan in plans]
        self.result.leads = len(leads)
        self.result.projects = sum(len(p.projects) for p in plans)
        return leads, plans

    def _pick_link(
        self, chains: dict[str, Chain], park_code: str, company: data.Company
    ) -> ChainLink | None:
        chain_code = data.PARK_CHAIN.get(park_code)
        if chain_code is None:
            return None
        links = chains[chain_code].links
        preferred = [link for link in links if link.name in company.links]
        if park_code == "HYDROGEN" and (not preferred and self.rng.random() < 0.7):
            return None  # energy storage: no hydrogen link
        if preferred and self.rng.random() < 0.8:
            return self.rng.choice(preferred)
        return self.rng.choice(links)

    def _title(
        self, company: data.Company, park_code: str, link: ChainLink | None, used: set[str]
    ) -> str:
        pools = [data.LINK_TITLES[link.name]] if link is not None else []
        pools.append(data.PARK_TITLES[park_code])
        for pool in pools:
            free = [t for t in pool if t not in used]
            if free:
                title = self.rng.choice(free)
                used.add(title)
                return company.short + title
        base = self.rng.choice(pools[0])
        n = 2
        while f"{base}（{n}）" in used:
            n += 1
        used.add(f"{base}（{n}）")
        return f"{company.short}{base.removesuffix('项目')}扩建项目（{n}）"

    def _amounts(self, plans: list[_LeadPlan]) -> None:
        rng = self.rng
        order = list(range(len(plans)))
        rng.shuffle(order)
        big_pool = [i for i in order if plans[i].company.scale == "big"]
        big = set(big_pool[: data.BIG_LEADS])
        rest = [i for i in order if i not in big]
        major = set(rest[: data.MAJOR_LEADS])
        early = [i for i in rest[data.MAJOR_LEADS :] if plans[i].final is Stage.LEAD]
        unknown = set(early[: data.UNKNOWN_AMOUNT_LEADS])
        for i, plan in enumerate(plans):
            if i in big:
                base = rng.choice((52, 55, 60, 68, 75, 80, 100, 120, 150, 180, 220, 300))
                plan.amount = Decimal(base) + Decimal(rng.randint(0, 99)) / 100
            elif i in major:
                plan.amount = Decimal(rng.randint(500, 4800)) / 100
            elif i in unknown:
                plan.amount = None
            else:
                plan.amount = Decimal(rng.randint(50, 490)) / 100

    def _path(self, final: Stage) -> list[Stage]:
        """Return the stages entered after 线索, in order."""
        rng = self.rng
        if final is Stage.ON_HOLD:
            held = _weighted(rng, HOLD_FROM)
            return [*MAIN_LINE[1 : held.rank + 1], Stage.ON_HOLD]
        if final is Stage.DROPPED:
            last = _weighted(rng, DROP_FROM)
            path = list(MAIN_LINE[1 : last.rank + 1])
            if rng.random() < 0.25:
                path.append(Stage.ON_HOLD)
            return [*path, Stage.DROPPED]
        path = list(MAIN_LINE[1 : final.rank + 1])
        # Some records were on hold for a while on the way and resumed.
        if final.rank >= Stage.SIGNED.rank and rng.random() < 0.12:
            paused = rng.choice((Stage.CONTACTED, Stage.NEGOTIATING))
            at = path.index(paused) + 1
            path[at:at] = [Stage.ON_HOLD, paused]
        return path

    def _lead_track(self, plan: _LeadPlan) -> Track:
        rng = self.rng
        path = self._path(plan.final)
        gaps = []
        for i, stage in enumerate(path):
            resumed = i > 0 and path[i - 1] is Stage.ON_HOLD
            low, high = data.RESUME_DAYS if resumed else data.GAP_DAYS[stage]
            gaps.append(rng.randint(low, high))
        tail = rng.randint(*data.TAIL_DAYS[plan.final])
        if plan.stale:
            tail = max(tail, rng.randint(35, 150))
        room = data.HISTORY_DAYS - tail
        if sum(gaps) > room:
            factor = room / sum(gaps)
            gaps = [int(g * factor) for g in gaps]
        day = self.today - dt.timedelta(days=sum(gaps) + tail)
        steps = [Step(None, Stage.LEAD, day)]
        for stage, gap in zip(path, gaps, strict=True):
            day += dt.timedelta(days=gap)
            steps.append(self._step(steps[-1].to_stage, stage, day))
        return Track(steps)

    def _step(self, from_stage: Stage, to_stage: Stage, on: dt.date) -> Step:
        if to_stage is Stage.DROPPED:
            return Step(from_stage, to_stage, on, reason=self.rng.choice(data.DROP_REASONS))
        if to_stage is Stage.ON_HOLD:
            return Step(from_stage, to_stage, on, note=self.rng.choice(data.HOLD_NOTES))
        return Step(from_stage, to_stage, on)

    # projects

    def _projects(self, plan: _LeadPlan) -> list[ProjectPlan]:
        lead = plan.track
        if lead.stage.rank < Stage.SIGNED.rank or lead.stage not in MAIN_LINE:
            return []
        rng = self.rng
        assert plan.amount is not None
        started = lead.entered(Stage.NEGOTIATING) or lead.start
        steps = [
            Step(None, Stage.LEAD, started),
            Step(Stage.LEAD, Stage.CONTACTED, started),
            Step(Stage.CONTACTED, Stage.NEGOTIATING, started),
        ]
        for stage in MAIN_LINE[Stage.SIGNED.rank : lead.stage.rank + 1]:
            steps.append(Step(steps[-1].to_stage, stage, lead.reached(stage)))
        first = Track(steps)
        second = self._second_phase(first) if lead.stage.rank >= Stage.CONSTRUCTION.rank else None
        base = plan.title.removesuffix("项目")
        if second is None:
            return [self._project(plan.title, first, plan.amount)]
        share = (plan.amount * rng.randint(50, 70) / 100).quantize(CENT)
        return [
            self._project(f"{base}一期项目", first, share),
            self._project(f"{base}二期项目", second, plan.amount - share),
        ]

    def _second_phase(self, first: Track) -> Track | None:
        """Return the history of a phase 2 started after phase 1's construction, if any."""
        rng = self.rng
        if rng.random() > 0.4:
            return None
        begin = first.reached(Stage.CONSTRUCTION) + dt.timedelta(days=30)
        latest = self.today - dt.timedelta(days=20)
        if begin > latest:
            return None
        started = begin + dt.timedelta(days=rng.randint(0, (latest - begin).days))
        signed = min(started + dt.timedelta(days=rng.randint(20, 120)), self.today)
        steps = [
            Step(None, Stage.LEAD, started),
            Step(Stage.LEAD, Stage.CONTACTED, started),
            Step(Stage.CONTACTED, Stage.NEGOTIATING, started),
            Step(Stage.NEGOTIATING, Stage.SIGNED, signed),
        ]
        later = signed + dt.timedelta(days=rng.randint(30, 150))
        if first.stage.rank >= Stage.PRODUCTION.rank and later <= self.today and rng.random() < 0.5:
            steps.append(Step(Stage.SIGNED, Stage.CONSTRUCTION, later))
        elif later <= self.today and rng.random() < 0.25:
            steps.append(Step(Stage.SIGNED, Stage.ON_HOLD, later, note=rng.choice(data.HOLD_NOTES)))
        return Track(steps)

    def _project(self, name: str, track: Track, total: Decimal) -> ProjectPlan:
        rng = self.rng
        fixed = (total * rng.randint(60, 90) / 100).quantize(CENT)
        actual = track.fields()

        def around(day: object, spread: int) -> dt.date | None:
            if not isinstance(day, dt.date):
                return None
            return day + dt.timedelta(days=rng.randint(-spread, spread))

        signing = track.reached(Stage.SIGNED) - dt.timedelta(days=rng.randint(0, 45))
        construction = around(actual["construction_on"], 30) or signing + dt.timedelta(
            days=rng.randint(60, 200)
        )
        construction = max(construction, signing)
        production = around(actual["production_on"], 45) or construction + dt.timedelta(
            days=rng.randint(240, 540)
        )
        production = max(production, construction)
        full = around(actual["full_production_on"], 60) or production + dt.timedelta(
            days=rng.randint(180, 365)
        )
        full = max(full, production)
        planned = {
            "planned_signing_on": signing,
            "planned_construction_on": construction,
            "planned_production_on": production,
            "planned_full_production_on": full,
        }
        return ProjectPlan(name=name, track=track, total=total, fixed=fixed, planned=planned)

    # contacts

    def _contacts(self, plan: _LeadPlan) -> list[ContactPlan]:
        """Plan 1 to 8 contacts between the lead's start and today, honouring staleness."""
        rng = self.rng
        track = plan.track
        start = track.start
        if plan.stale:
            end = self.today - dt.timedelta(days=31)
        elif track.stage is Stage.DROPPED:
            end = track.since
        else:
            end = self.today
        contacts: list[ContactPlan] = []
        # Contacts on the days of stage changes.
        for step in track.steps[1:]:
            if step.to_stage is Stage.ON_HOLD or rng.random() < 0.6:
                kind, text = rng.choice(data.CONTACT_TEXTS[step.to_stage])
                milestone = step.to_stage in MILESTONE_FIELDS
                contacts.append(
                    ContactPlan(
                        step.on,
                        kind,
                        text,
                        project=0 if milestone and plan.projects else None,
                        with_manager=step.to_stage in NEEDS_CONFIRMATION,
                    )
                )
        for i, project in enumerate(plan.projects[1:], start=1):
            signed = project.track.reached(Stage.SIGNED)
            if signed <= end:
                kind, text = rng.choice(data.CONTACT_TEXTS[Stage.SIGNED])
                contacts.append(ContactPlan(signed, kind, text, i, with_manager=True))
        # Follow-ups in between.
        for _ in range(rng.randint(0, 4)):
            contacts.append(self._follow_up(plan, start, end))
        rng.shuffle(contacts)
        recent = None
        if track.stage in ACTIVE and not plan.stale:
            recent = self._follow_up(plan, max(start, self.today - dt.timedelta(days=29)), end)
            contacts = [recent, *contacts[:7]]
        contacts = contacts[:8] or [self._follow_up(plan, start, end)]
        contacts.sort(key=lambda c: c.on)
        self._next_steps(plan, contacts)
        return contacts

    def _follow_up(self, plan: _LeadPlan, low: dt.date, high: dt.date) -> ContactPlan:
        rng = self.rng
        day = low + dt.timedelta(days=rng.randint(0, max((high - low).days, 0)))
        project = None
        open_projects = [
            i for i, p in enumerate(plan.projects) if p.track.reached(Stage.SIGNED) <= day
        ]
        if open_projects and rng.random() < 0.6:
            project = rng.choice(open_projects)
            kind, text = rng.choice(data.PROJECT_TEXTS)
        else:
            kind, text = rng.choice(data.CONTACT_TEXTS[None])
        return ContactPlan(day, kind, text, project)

    def _next_steps(self, plan: _LeadPlan, contacts: list[ContactPlan]) -> None:
        """Give older contacts a next step now and then, and open records a current one."""
        rng = self.rng
        for contact in contacts:
            if rng.random() < 0.35:
                contact.next_step = rng.choice(data.NEXT_STEPS)
                contact.next_step_due = contact.on + dt.timedelta(days=rng.randint(3, 30))
        subjects = [(None, plan.track), *((i, p.track) for i, p in enumerate(plan.projects))]
        for index, track in subjects:
            mine = [c for c in contacts if c.project == index]
            if not mine or track.stage in TERMINAL or rng.random() > 0.75:
                continue
            newest = mine[-1]
            newest.next_step = rng.choice(data.NEXT_STEPS)
            newest.next_step_due = self._due(newest.on)

    def _due(self, contact_on: dt.date) -> dt.date:
        rng = self.rng
        monday, sunday = week_bounds(self.today)
        kind = rng.choices(("overdue", "week", "later"), (3, 3, 4))[0]
        if kind == "overdue" and contact_on < self.today:
            # Overdue by days or weeks, as a working office has them, not by years.
            first = max(contact_on, self.today - dt.timedelta(days=45))
            span = (self.today - first).days - 1
            return first + dt.timedelta(days=rng.randint(0, span))
        if kind in ("overdue", "week"):
            first = max(monday, contact_on)
            return first + dt.timedelta(days=rng.randint(0, (sunday - first).days))
        return self.today + dt.timedelta(days=rng.randint(8, 60))

    # rows

    def _stamp(self, day: dt.date, hour: int) -> dt.datetime:
        """Return a moment of *day* in Shanghai office hours, never after now."""
        local = dt.datetime.combine(day, dt.time(hour, self.rng.randint(0, 59)), LOCAL_TZ)
        return min(local.astimezone(dt.UTC), self.now)

    def _lead_row(self, plan: _LeadPlan) -> Lead:
        fields = plan.track.fields()
        lead_contacts = [c for c in plan.contacts if c.project is None]
        lead = Lead(
            title=plan.title,
            enterprise=plan.enterprise,
            park=plan.park,
            chain_link=plan.link,
            owner=plan.owner,
            source=_weighted(self.rng, data.SOURCE_WEIGHTS),
            estimated_investment=plan.amount,
            description=(
                f"{plan.company.industry}企业，拟在{plan.park.name}投资建设"
                f"{plan.title.removeprefix(plan.company.short)}。"
            ),
            last_contact_on=max(c.on for c in plan.contacts),
            created_at=self._stamp(plan.track.start, 9),
            updated_at=self._stamp(max(plan.track.since, *(c.on for c in plan.contacts)), 18),
            **fields,
            **self._current_next_step(lead_contacts, plan.track),
        )
        for index, project in enumerate(plan.projects):
            mine = [c for c in plan.contacts if c.project == index]
            project.row = Project(
                name=project.name,
                enterprise=plan.enterprise,
                park=plan.park,
                chain_link=plan.link,
                owner=plan.owner,
                total_investment=project.total,
                fixed_asset_investment=project.fixed,
                last_contact_on=max((c.on for c in mine), default=None),
                created_at=self._stamp(project.track.start, 9),
                updated_at=self._stamp(project.track.since, 18),
                **project.planned,
                **project.track.fields(),
                **self._current_next_step(mine, project.track),
            )
            lead.projects.append(project.row)
        return lead

    @staticmethod
    def _current_next_step(contacts: list[ContactPlan], track: Track) -> dict[str, object]:
        if track.stage in TERMINAL:
            return {"next_step": None, "next_step_due": None}
        with_step = [c for c in contacts if c.next_step]
        newest = with_step[-1] if with_step else None
        return {
            "next_step": newest.next_step if newest else None,
            "next_step_due": newest.next_step_due if newest else None,
        }

    def _history_and_contacts(
        self, leads: list[Lead], plans: list[_LeadPlan], users: dict[str, User]
    ) -> None:
        managers = {
            park.id: user
            for user in users.values()
            if user.role is Role.MANAGER
            for park in user.parks
        }
        changes: list[dict[str, object]] = []
        contacts: list[ContactLog] = []
        for lead, plan in zip(leads, plans, strict=True):
            manager = managers[lead.park_id]
            projects = [p.row for p in plan.projects if p.row is not None]
            changes += self._changes({"lead_id": lead.id}, plan.track, plan.owner, manager)
            for project, project_plan in zip(projects, plan.projects, strict=True):
                changes += self._changes(
                    {"project_id": project.id}, project_plan.track, plan.owner, manager
                )
            people = plan.enterprise.people
            for contact in plan.contacts:
                person = self.rng.choice(people)
                ours = plan.owner.full_name
                if contact.with_manager:
                    ours = f"{manager.full_name}、{ours}"
                contacts.append(
                    ContactLog(
                        lead_id=lead.id,
                        project_id=None
                        if contact.project is None
                        else projects[contact.project].id,
                        contact_type=contact.contact_type,
                        contact_on=contact.on,
                        participants=f"{ours}；{person.name}（{person.title}）",
                        summary=contact.summary.format(
                            ent=plan.company.short,
                            park=plan.park.name,
                            amount=format(plan.amount or Decimal(0), "f"),
                        ),
                        next_step=contact.next_step,
                        next_step_due=contact.next_step_due,
                        created_by_id=plan.owner.id,
                        created_at=self._stamp(contact.on, 17),
                    )
                )
        # History rows are not audited and nothing refers to them: one bulk INSERT.
        self.session.execute(insert(StageChange.__table__), changes)
        self.session.add_all(contacts)
        self.result.stage_changes = len(changes)
        self.result.contacts = len(contacts)

    def _changes(
        self, subject: dict[str, int], track: Track, owner: User, manager: User
    ) -> list[dict[str, object]]:
        rows = []
        for i, step in enumerate(track.steps):
            if i == 0:
                confirmed = None
            elif step.to_stage in NEEDS_CONFIRMATION:
                confirmed = manager.id
            else:
                confirmed = owner.id
            rows.append(
                {
                    "lead_id": None,
                    "project_id": None,
                    **subject,
                    "from_stage": step.from_stage,
                    "to_stage": step.to_stage,
                    "effective_on": step.on,
                    "from_since": track.steps[i - 1].on if i else None,
                    "recorded_at": self._stamp(step.on, 10),
                    "recorded_by_id": owner.id,
                    "confirmed_by_id": confirmed,
                    "reason": step.reason,
                    "note": step.note,
                }
            )
        return rows


@dataclass
class _LeadPlan:
    enterprise: Enterprise
    company: data.Company
    park: Park
    link: ChainLink | None
    owner: User
    title: str
    final: Stage
    amount: Decimal | None = None
    stale: bool = False
    track: Track = field(default_factory=lambda: Track([]))
    projects: list[ProjectPlan] = field(default_factory=list)
    contacts: list[ContactPlan] = field(default_factory=list)


@cache
def _password_hash() -> str:
    """Hash the demo password once per process: argon2 is slow on purpose."""
    return hash_password(data.DEMO_PASSWORD)


def _weighted(rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]
