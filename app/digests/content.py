"""What one recipient's weekly digest says, by role (pure read, no request context needed).

- officer: follow-ups due in the week the digest is read and overdue ones, his records with no
  contact for 30 days or more, stage changes on his records in the week;
- park manager: for each of his parks new leads, stage changes (签约/开工/投产 highlighted),
  projects newly at or above an investment threshold, stalled records, planned milestones in the
  next 30 days, counts and 亿元 sums by stage;
- leader and admin: the same for every park, with a per-park summary, every big-tier project
  that moved, and progress against annual targets (a hook: targets do not exist yet).

Everything goes through :mod:`app.pipeline.visibility`, and the number of statements run for one
recipient does not depend on the amount of data: each section is one query over all visible
records, with its neighbours joined, grouped by park in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, joinedload

from app.auth.models import Role, User
from app.core.audit import AuditLog
from app.core.money import format_yi
from app.digests.weeks import IsoWeek
from app.parks.models import Park
from app.pipeline import visibility
from app.pipeline.flags import TIERS, Thresholds, load_thresholds
from app.pipeline.lifecycle import ACTIVE, ALL_STAGES, MAX_DAYS_IN_STAGE, Stage
from app.pipeline.models import Lead, Project, StageChange
from app.pipeline.queries import (
    STALE_DAYS,
    amount_column,
    is_stale,
    stale_condition,
    too_long_condition,
    too_long_in_stage,
)
from app.targets.services import describe, progress

# Rows fetched per section query; beyond this the section says it was cut.
SECTION_LIMIT = 200
# Planned milestones this many days ahead are announced.
MILESTONE_DAYS = 30
# Stage changes into these stages are what managers and leaders look for first.
HIGHLIGHT_STAGES = frozenset({Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION})
# (planned date column, reached date column, milestone name)
MILESTONES = (
    ("planned_signing_on", "signed_on", "签约"),
    ("planned_construction_on", "construction_on", "开工"),
    ("planned_production_on", "production_on", "投产"),
    ("planned_full_production_on", "full_production_on", "达产"),
)
KIND_LABELS = {"lead": "线索", "project": "项目"}

# Section keys (the order in which a digest shows them).
OVERDUE = "overdue"
DUE = "due"
STALE = "stale"
CHANGES = "changes"
NEW_LEADS = "new_leads"
THRESHOLDS = "thresholds"
STALLED = "stalled"
MILESTONES_KEY = "milestones"
BIG_MOVES = "big_moves"

SECTION_TITLES = {
    OVERDUE: "已逾期的跟进",
    DUE: "本周到期的跟进",
    STALE: f"超过{STALE_DAYS}天未联系",
    CHANGES: "上周阶段变化",
    NEW_LEADS: "新增线索",
    THRESHOLDS: "新达到投资门槛的项目",
    STALLED: "停滞事项（长期未联系或阶段停留过久）",
    MILESTONES_KEY: f"未来{MILESTONE_DAYS}天计划节点",
    BIG_MOVES: "大项目进展",
}


@dataclass(frozen=True)
class Entry:
    """One line of a digest: a lead or project, what happened to it, and its absolute link."""

    kind: str  # "lead" or "project"
    record_id: int
    name: str
    enterprise: str
    park_id: int
    park: str
    owner: str
    stage: str
    amount: Decimal | None
    url: str
    date: dt.date | None = None
    note: str = ""
    highlight: bool = False
    tag: str = ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)
    # True when the query hit SECTION_LIMIT and more rows exist than are listed.
    truncated: bool = False

    def __bool__(self) -> bool:
        return bool(self.entries)


@dataclass
class StageTotal:
    """Counts and 亿元 sums of the leads and projects in one stage."""

    stage: Stage
    lead_count: int = 0
    lead_total: Decimal = Decimal(0)
    project_count: int = 0
    project_total: Decimal = Decimal(0)

    @property
    def label(self) -> str:
        return self.stage.label

    def add(self, other: StageTotal) -> None:
        self.lead_count += other.lead_count
        self.lead_total += other.lead_total
        self.project_count += other.project_count
        self.project_total += other.project_total


@dataclass
class ParkDigest:
    """One park's part of a manager's or leader's digest."""

    park_id: int
    name: str
    url: str
    sections: list[Section] = field(default_factory=list)
    totals: list[StageTotal] = field(default_factory=list)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def has_news(self) -> bool:
        return any(self.sections)

    @property
    def highlight_count(self) -> int:
        return sum(1 for e in self.section(CHANGES).entries if e.highlight)

    @property
    def project_total(self) -> Decimal:
        return sum((t.project_total for t in self.totals), Decimal(0))


@dataclass
class TargetProgress:
    """Progress against one annual target, as the digest shows it."""

    label: str
    target: Decimal
    actual: Decimal
    unit: str = ""
    share: Decimal = Decimal(0)
    on_pace: bool = True

    @property
    def percent(self) -> str:
        return f"{(self.share * 100).quantize(Decimal('0.1'))}%"

    @property
    def figures(self) -> str:
        """ "4 / 16 个" or "68.00 / 1,500.00 亿元"."""
        if self.unit == "亿元":
            return f"{format_yi(self.actual)} / {format_yi(self.target)} {self.unit}"
        return f"{int(self.actual)} / {int(self.target)} {self.unit}"


@dataclass
class Digest:
    """Everything one recipient's weekly digest shows."""

    user: User
    week: IsoWeek
    today: dt.date
    base_url: str
    role: Role
    # Sections not tied to one park (the officer's lists, the leader's big projects).
    sections: list[Section] = field(default_factory=list)
    # Managers: their parks; leaders and admins: every park with records or news.
    parks: list[ParkDigest] = field(default_factory=list)
    # Counts and sums by stage over everything the recipient sees (managers, leaders).
    totals: list[StageTotal] = field(default_factory=list)
    targets: list[TargetProgress] = field(default_factory=list)
    is_empty: bool = True

    @property
    def home_url(self) -> str:
        return f"{self.base_url}/my" if self.role is Role.OFFICER else f"{self.base_url}/board"

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def all_entries(self) -> list[Entry]:
        """Every entry of the digest (top-level sections, then the parks')."""
        out = [e for s in self.sections for e in s.entries]
        out += [e for p in self.parks for s in p.sections for e in s.entries]
        return out


def record_url(base_url: str, record: Lead | Project) -> str:
    """The absolute link to a record's page (built without a request context)."""
    path = "leads" if isinstance(record, Lead) else "projects"
    return f"{base_url}/{path}/{record.id}"


def _entry(base_url: str, record: Lead | Project, **extra: Any) -> Entry:
    kind = "lead" if isinstance(record, Lead) else "project"
    return Entry(
        kind=kind,
        record_id=record.id,
        name=record.display_name,
        enterprise=record.enterprise.name,
        park_id=record.park_id,
        park=record.park.name,
        owner=record.owner.full_name,
        stage=record.stage.label,
        amount=record.amount,
        url=record_url(base_url, record),
        **extra,
    )


def _row_options(model: type[Lead] | type[Project]) -> tuple[Any, ...]:
    return (joinedload(model.enterprise), joinedload(model.park), joinedload(model.owner))


def _limited(rows: list[Any]) -> tuple[list[Any], bool]:
    return rows[:SECTION_LIMIT], len(rows) > SECTION_LIMIT


# --- the queries (each one statement over all visible records) -------------------------------


def _visible(user: User, model: type[Lead] | type[Project]) -> Any:
    return visibility.visible(select(model), user, model).options(*_row_options(model))


def _follow_ups(
    session: Session, user: User, week: IsoWeek, base_url: str
) -> tuple[Section, Section]:
    """Follow-ups due in the week the digest is read, and those due before it."""
    reading = week.next()
    overdue, due = Section(OVERDUE, SECTION_TITLES[OVERDUE]), Section(DUE, SECTION_TITLES[DUE])
    for model in (Lead, Project):
        rows, cut = _limited(
            session.scalars(
                _visible(user, model)
                .where(
                    model.stage.in_(ACTIVE | {Stage.ON_HOLD}),
                    model.next_step_due.is_not(None),
                    model.next_step_due <= reading.sunday,
                )
                .order_by(model.next_step_due, model.id)
                .limit(SECTION_LIMIT + 1)
            ).all()
        )
        for record in rows:
            late = record.next_step_due < reading.monday
            target = overdue if late else due
            target.entries.append(
                _entry(base_url, record, date=record.next_step_due, note=record.next_step or "")
            )
            target.truncated |= cut
    for section in (overdue, due):
        section.entries.sort(key=lambda e: (e.date, e.kind, e.record_id))
    return overdue, due


def _stalled(
    session: Session, user: User, today: dt.date, base_url: str, *, too_long: bool
) -> Section:
    """Records with no contact for STALE_DAYS days (and, if asked, too long in their stage)."""
    key = STALLED if too_long else STALE
    section = Section(key, SECTION_TITLES[key])
    for model in (Lead, Project):
        condition = stale_condition(model, today)
        if too_long:
            condition = or_(condition, too_long_condition(model, today))
        rows, cut = _limited(
            session.scalars(
                _visible(user, model)
                .where(condition)
                .order_by(model.last_contact_on.asc().nulls_first(), model.id)
                .limit(SECTION_LIMIT + 1)
            ).all()
        )
        section.truncated |= cut
        for record in rows:
            notes = []
            if is_stale(record, today):
                if record.last_contact_on is None:
                    notes.append("从未联系")
                else:
                    days = (today - record.last_contact_on).days
                    notes.append(f"{days}天未联系（上次 {record.last_contact_on.isoformat()}）")
            if too_long and too_long_in_stage(record, today):
                in_stage = (today - record.stage_since).days
                limit = MAX_DAYS_IN_STAGE[record.stage]
                notes.append(f"在{record.stage.label}阶段已{in_stage}天（上限{limit}天）")
            section.entries.append(
                _entry(base_url, record, date=record.last_contact_on, note="；".join(notes))
            )
    return section


def _stage_changes(session: Session, user: User, week: IsoWeek, base_url: str) -> Section:
    """Stage changes effective in the week, plus back-dated ones recorded in it."""
    section = Section(CHANGES, SECTION_TITLES[CHANGES])
    in_week = or_(
        StageChange.effective_on.between(week.monday, week.sunday),
        and_(
            StageChange.effective_on < week.monday,
            StageChange.recorded_at >= week.start_utc(),
            StageChange.recorded_at < week.end_utc(),
        ),
    )
    for model, fk in ((Lead, StageChange.lead_id), (Project, StageChange.project_id)):
        rows, cut = _limited(
            session.execute(
                select(StageChange, model)
                .join(model, fk == model.id)
                .where(visibility.condition(user, model), in_week)
                .options(*_row_options(model))
                .order_by(StageChange.effective_on, StageChange.id)
                .limit(SECTION_LIMIT + 1)
            ).all()
        )
        section.truncated |= cut
        for change, record in rows:
            before = change.from_stage.label if change.from_stage else "新建"
            note = f"{before} → {change.to_stage.label}"
            if change.reason:
                note += f"（{change.reason}）"
            section.entries.append(
                _entry(
                    base_url,
                    record,
                    date=change.effective_on,
                    note=note,
                    highlight=change.to_stage in HIGHLIGHT_STAGES,
                    tag=change.to_stage.label,
                )
            )
    section.entries.sort(key=lambda e: (not e.highlight, e.date, e.kind, e.record_id))
    return section


def _new_leads(session: Session, user: User, week: IsoWeek, base_url: str) -> Section:
    """Leads created in the week, or whose first stage (线索) is dated in it."""
    section = Section(NEW_LEADS, SECTION_TITLES[NEW_LEADS])
    first_in_week = select(StageChange.lead_id).where(
        StageChange.lead_id.is_not(None),
        StageChange.from_stage.is_(None),
        StageChange.to_stage == Stage.LEAD,
        StageChange.effective_on.between(week.monday, week.sunday),
    )
    rows, section.truncated = _limited(
        session.scalars(
            _visible(user, Lead)
            .where(
                or_(
                    and_(Lead.created_at >= week.start_utc(), Lead.created_at < week.end_utc()),
                    Lead.id.in_(first_in_week),
                )
            )
            .order_by(Lead.created_at, Lead.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
    )
    for lead in rows:
        created = lead.created_at.astimezone(week.start_utc().tzinfo).date()
        section.entries.append(
            _entry(base_url, lead, date=created, note=f"来源：{lead.source.label}")
        )
    return section


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _crossed_tier(
    thresholds: Thresholds, before: Decimal | None, after: Decimal | None
) -> str | None:
    """The highest tier *after* is at or above while *before* was below it (None if none)."""
    if after is None:
        return None
    for tier in TIERS:  # highest first
        floor = thresholds.floor(tier)
        if after >= floor and (before is None or before < floor):
            return tier
    return None


def _threshold_crossings(
    session: Session, user: User, week: IsoWeek, thresholds: Thresholds, base_url: str
) -> Section:
    """Projects that reached a tier in the week, read from the audit log.

    A project counts when its total investment at the end of the week is at or above a tier and
    was below it at the start of the week (or the project was created in the week). The value at
    the start is the old value of the first total_investment change in or after the week; the
    value at the end is the old value of the first change after the week, else the current one.
    """
    section = Section(THRESHOLDS, SECTION_TITLES[THRESHOLDS])
    start, end = week.start_utc(), week.end_utc()
    rows = session.execute(
        select(AuditLog, Project)
        .join(
            Project,
            and_(AuditLog.entity == Project.__tablename__, AuditLog.entity_id == Project.id),
        )
        .where(
            visibility.condition(user, Project),
            or_(
                and_(AuditLog.action == "create", AuditLog.at >= start, AuditLog.at < end),
                and_(
                    AuditLog.action == "update",
                    AuditLog.field == "total_investment",
                    AuditLog.at >= start,
                ),
            ),
        )
        .options(*_row_options(Project))
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    history: dict[int, list[AuditLog]] = defaultdict(list)
    projects: dict[int, Project] = {}
    for log, project in rows:
        history[project.id].append(log)
        projects[project.id] = project
    for project_id, logs in history.items():
        project = projects[project_id]
        created = any(log.action == "create" for log in logs)
        updates = [log for log in logs if log.action == "update"]
        in_week = [log for log in updates if log.at < end]
        if not created and not in_week:
            continue
        before = None if created else _decimal(in_week[0].old_value)
        later = [log for log in updates if log.at >= end]
        after = _decimal(later[0].old_value) if later else project.total_investment
        tier = _crossed_tier(thresholds, before, after)
        if tier is None:
            continue
        last = in_week[-1].at if in_week else next(log.at for log in logs if log.action == "create")
        note = (
            f"新建项目，总投资 {format_yi(after)} 亿元"
            if before is None
            else f"总投资 {format_yi(before)} → {format_yi(after)} 亿元"
        )
        section.entries.append(
            _entry(
                base_url,
                project,
                date=last.astimezone(start.tzinfo).date(),
                note=note,
                tag=thresholds.label(tier),
                highlight=tier == "big",
            )
        )
        if len(section.entries) >= SECTION_LIMIT:
            section.truncated = True
            break
    section.entries.sort(key=lambda e: (not e.highlight, -(e.amount or 0), e.record_id))
    return section


def _milestones(session: Session, user: User, today: dt.date, base_url: str) -> Section:
    """Planned milestones in the next MILESTONE_DAYS days that are not reached yet."""
    section = Section(MILESTONES_KEY, SECTION_TITLES[MILESTONES_KEY])
    horizon = today + dt.timedelta(days=MILESTONE_DAYS)
    pending = [
        and_(getattr(Project, planned).between(today, horizon), getattr(Project, reached).is_(None))
        for planned, reached, _ in MILESTONES
    ]
    rows, section.truncated = _limited(
        session.scalars(
            _visible(user, Project)
            .where(Project.stage != Stage.DROPPED, or_(*pending))
            .order_by(Project.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
    )
    for project in rows:
        for planned, reached, name in MILESTONES:
            day = getattr(project, planned)
            if day is not None and today <= day <= horizon and getattr(project, reached) is None:
                section.entries.append(
                    _entry(base_url, project, date=day, note=f"计划{name}", tag=name)
                )
    section.entries.sort(key=lambda e: (e.date, e.record_id))
    return section


def _stage_totals(session: Session, user: User) -> dict[int, dict[Stage, StageTotal]]:
    """Counts and 亿元 sums by park and stage for leads and projects, in one GROUP BY query."""

    def grouped(model: type[Lead] | type[Project], kind: str) -> Any:
        return (
            select(
                literal(kind).label("kind"),
                model.park_id.label("park_id"),
                model.stage.label("stage"),
                func.count().label("n"),
                func.sum(amount_column(model)).label("total"),
            )
            .where(visibility.condition(user, model))
            .group_by(model.park_id, model.stage)
        )

    out: dict[int, dict[Stage, StageTotal]] = defaultdict(
        lambda: {stage: StageTotal(stage) for stage in ALL_STAGES}
    )
    for kind, park_id, stage, count, total in session.execute(
        union_all(grouped(Lead, "lead"), grouped(Project, "project"))
    ):
        row = out[park_id][Stage(stage)]
        if kind == "lead":
            row.lead_count, row.lead_total = count, _as_yi(total)
        else:
            row.project_count, row.project_total = count, _as_yi(total)
    return out


def _as_yi(total: Any) -> Decimal:
    if total is None:
        return Decimal(0)
    if isinstance(total, Decimal):
        return total
    return Decimal(total)


def annual_target_progress(
    session: Session, user: User, week: IsoWeek, thresholds: Thresholds
) -> list[TargetProgress]:
    """Progress against the annual targets *user* follows, as of the end of *week*."""
    end = week.monday + dt.timedelta(days=6)
    rows = progress(session, user, end.year, thresholds, end)
    return [
        TargetProgress(
            label=describe(row.target, thresholds),
            target=row.goal,
            actual=row.actual,
            unit="亿元" if row.target.metric.is_amount else "个",
            share=row.share,
            on_pace=row.on_pace,
        )
        for row in rows
    ]


# --- assembling a digest ---------------------------------------------------------------------


def _split_by_park(sections: list[Section], parks: list[ParkDigest]) -> None:
    by_id = {p.park_id: p for p in parks}
    for section in sections:
        for park in parks:
            park.sections.append(Section(section.key, section.title, truncated=section.truncated))
        for entry in section.entries:
            park = by_id.get(entry.park_id)
            if park is not None:
                park.sections[-1].entries.append(entry)


def _officer(session: Session, digest: Digest) -> None:
    user, week, base = digest.user, digest.week, digest.base_url
    overdue, due = _follow_ups(session, user, week, base)
    digest.sections = [
        overdue,
        due,
        _stalled(session, user, digest.today, base, too_long=False),
        _stage_changes(session, user, week, base),
    ]
    digest.is_empty = not any(digest.sections)


def _overseer(session: Session, digest: Digest) -> None:
    """Managers (their parks), leaders and admins (every park)."""
    user, week, today, base = digest.user, digest.week, digest.today, digest.base_url
    thresholds = load_thresholds(session)
    if user.role is Role.MANAGER:
        park_rows = list(user.parks)
    else:
        park_rows = list(session.scalars(select(Park).order_by(Park.sort_order, Park.id)))
    sections = [
        _new_leads(session, user, week, base),
        _stage_changes(session, user, week, base),
        _threshold_crossings(session, user, week, thresholds, base),
        _stalled(session, user, today, base, too_long=True),
        _milestones(session, user, today, base),
    ]
    totals = _stage_totals(session, user)
    parks = [
        ParkDigest(park.id, park.name, f"{base}/board?park={park.id}")
        for park in park_rows
        if user.role is Role.MANAGER or park.active or park.id in totals
    ]
    _split_by_park(sections, parks)
    overall = {stage: StageTotal(stage) for stage in ALL_STAGES}
    for park in parks:
        park.totals = list(totals[park.park_id].values())
        for row in park.totals:
            overall[row.stage].add(row)
    digest.parks = parks
    digest.totals = list(overall.values())
    if user.role is not Role.MANAGER:
        changes = sections[1]
        big = Section(BIG_MOVES, f"{thresholds.label('big')}大项目进展")
        big.entries = [
            e
            for e in changes.entries
            if e.kind == "project" and e.amount is not None and e.amount >= thresholds.big
        ]
        digest.sections = [big]
    digest.targets = annual_target_progress(session, user, week, thresholds)
    news = any(sections) or any(digest.sections) or bool(digest.targets)
    digest.is_empty = not news


def build_digest(
    session: Session,
    user: User,
    week: IsoWeek,
    base_url: str,
    today: dt.date | None = None,
) -> Digest:
    """Build *user*'s digest for *week* (the week that ended). Reads only, never writes.

    *today* is the day the digest is read, by default the Monday after *week*; staleness, time
    in stage and upcoming milestones are measured from it. *base_url* (``BASE_URL``) prefixes
    every link.
    """
    digest = Digest(
        user=user,
        week=week,
        today=today or week.next().monday,
        base_url=base_url.rstrip("/"),
        role=user.role,
    )
    if user.role is Role.OFFICER:
        _officer(session, digest)
    else:
        _overseer(session, digest)
    return digest
