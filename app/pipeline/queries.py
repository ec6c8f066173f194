"""Read-side queries of the pipeline: filtered lists, "my work", the park board, timelines.

Each page runs a fixed number of statements whatever the data size: lists join their
many-to-one neighbours, aggregates are computed in SQL, and nothing is loaded per row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.auth.models import User
from app.core.audit import AuditLog
from app.core.timeutil import today_local, week_bounds
from app.enterprises.credit_code import normalize_credit_code
from app.enterprises.models import Enterprise
from app.parks.models import ChainLink
from app.pipeline import visibility
from app.pipeline.flags import TIERS, Thresholds
from app.pipeline.lifecycle import ACTIVE, ALL_STAGES, MAX_DAYS_IN_STAGE, Stage
from app.pipeline.models import ContactLog, Lead, Project, StageChange, StageProposal

STALE_DAYS = 30


@dataclass
class ListFilters:
    """The filters of the lead and project lists (all optional)."""

    park_id: int | None = None
    chain_id: int | None = None
    link_id: int | None = None
    stage: Stage | None = None
    tier: str | None = None
    owner_id: int | None = None
    stale: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> ListFilters:
        """Read filters from query arguments, ignoring values that do not parse."""

        def _int(name: str) -> int | None:
            try:
                return int(args.get(name, ""))
            except ValueError:
                return None

        stage = args.get("stage", "")
        tier = args.get("tier", "")
        return cls(
            park_id=_int("park"),
            chain_id=_int("chain"),
            link_id=_int("link"),
            stage=Stage(stage) if stage in {s.value for s in Stage} else None,
            tier=tier if tier in TIERS else None,
            owner_id=_int("owner"),
            stale=args.get("stale") in ("1", "true", "on"),
            q=args.get("q", "").strip()[:100],
        )


def stale_before(today: dt.date | None = None) -> dt.date:
    """Return the date before which a last contact makes an active record stale."""
    return (today or today_local()) - dt.timedelta(days=STALE_DAYS)


def is_stale(record: Lead | Project, today: dt.date | None = None) -> bool:
    """Return whether an active record has had no contact for STALE_DAYS days (in Python)."""
    if record.stage not in ACTIVE:
        return False
    return record.last_contact_on is None or record.last_contact_on < stale_before(today)


def stale_condition(model: type[Lead] | type[Project], today: dt.date) -> ColumnElement[bool]:
    """Active records with no contact for STALE_DAYS days (read from the stored date)."""
    return and_(
        model.stage.in_(ACTIVE),
        or_(model.last_contact_on.is_(None), model.last_contact_on < stale_before(today)),
    )


def amount_column(model: type[Lead] | type[Project]) -> Any:
    """The investment column that decides a record's tier."""
    return model.estimated_investment if model is Lead else model.total_investment


def filtered(
    user: User,
    model: type[Lead] | type[Project],
    filters: ListFilters,
    thresholds: Thresholds,
    today: dt.date | None = None,
) -> Select:
    """Return the visible rows of *model* matching *filters*, newest activity first."""
    today = today or today_local()
    stmt = visibility.visible(select(model), user, model)
    if filters.park_id:
        stmt = stmt.where(model.park_id == filters.park_id)
    if filters.link_id:
        stmt = stmt.where(model.chain_link_id == filters.link_id)
    elif filters.chain_id:
        stmt = stmt.where(
            model.chain_link_id.in_(
                select(ChainLink.id).where(ChainLink.chain_id == filters.chain_id)
            )
        )
    if filters.stage:
        stmt = stmt.where(model.stage == filters.stage)
    if filters.tier:
        stmt = stmt.where(thresholds.where(amount_column(model), filters.tier))
    if filters.owner_id:
        stmt = stmt.where(model.owner_id == filters.owner_id)
    if filters.stale:
        stmt = stmt.where(stale_condition(model, today))
    if filters.q:
        code = normalize_credit_code(filters.q)
        name_column = model.title if model is Lead else model.name
        pattern = f"%{_escape_like(filters.q)}%"
        matching_enterprises = select(Enterprise.id).where(
            or_(Enterprise.name.like(pattern, escape="\\"), Enterprise.credit_code == code)
        )
        stmt = stmt.where(
            or_(
                name_column.like(pattern, escape="\\"),
                model.enterprise_id.in_(matching_enterprises),
            )
        )
    return stmt


def list_page_stmt(stmt: Select, model: type[Lead] | type[Project]) -> Select:
    """Order a filtered statement and load what each row of the list shows, in one query."""
    return stmt.options(
        joinedload(model.enterprise),
        joinedload(model.park),
        joinedload(model.owner),
        joinedload(model.chain_link).joinedload(ChainLink.chain),
    ).order_by(model.updated_at.desc(), model.id.desc())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def projects_per_tier(
    session: Session, thresholds: Thresholds, tiers: tuple[str, ...] = TIERS
) -> dict[str, int]:
    """Count all projects at or above each tier, in one query."""
    row = session.execute(
        select(
            *(
                func.count().filter(thresholds.where(Project.total_investment, tier))
                for tier in tiers
            )
        ).select_from(Project)
    ).one()
    return dict(zip(tiers, row, strict=True))


# --- my work --------------------------------------------------------------------------------


@dataclass
class MyWork:
    """An owner's to-do list: his active records, follow-ups due and overdue, stale records."""

    today: dt.date
    week_end: dt.date
    active_leads: list[Lead] = field(default_factory=list)
    due_this_week: list[Lead | Project] = field(default_factory=list)
    overdue: list[Lead | Project] = field(default_factory=list)
    stale: list[Lead | Project] = field(default_factory=list)
    active_count: int = 0


def _my_row_options(model: type[Lead] | type[Project]) -> tuple[Any, ...]:
    """What a row of "my work" shows besides the record (the owner is the user himself)."""
    return (
        joinedload(model.enterprise),
        joinedload(model.park),
        joinedload(model.chain_link).joinedload(ChainLink.chain),
    )


def my_work(session: Session, user: User, limit: int = 100) -> MyWork:
    """Build the "my work" page of *user* from his own leads and projects."""
    today = today_local()
    _, sunday = week_bounds(today)
    work = MyWork(today=today, week_end=sunday)
    for model in (Lead, Project):
        mine = (
            select(model)
            .where(model.owner_id == user.id, model.stage.in_(ACTIVE | {Stage.ON_HOLD}))
            .options(*_my_row_options(model))
        )
        due = session.scalars(
            mine.where(model.next_step_due >= today, model.next_step_due <= sunday)
            .order_by(model.next_step_due)
            .limit(limit)
        ).all()
        overdue = session.scalars(
            mine.where(model.next_step_due < today).order_by(model.next_step_due).limit(limit)
        ).all()
        stale = session.scalars(
            mine.where(stale_condition(model, today))
            .order_by(model.last_contact_on.asc().nulls_first())
            .limit(limit)
        ).all()
        work.due_this_week += due
        work.overdue += overdue
        work.stale += stale
    work.due_this_week.sort(key=lambda r: r.next_step_due)
    work.overdue.sort(key=lambda r: r.next_step_due)
    active = select(Lead).where(Lead.owner_id == user.id, Lead.stage.in_(ACTIVE))
    work.active_count = session.scalar(select(func.count()).select_from(active.subquery())) or 0
    work.active_leads = list(
        session.scalars(
            active.options(*_my_row_options(Lead)).order_by(Lead.updated_at.desc()).limit(limit)
        )
    )
    return work


# --- the park board -------------------------------------------------------------------------


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal(0)
    cards: list[Lead | Project] = field(default_factory=list)


def too_long_in_stage(record: Lead | Project, today: dt.date) -> bool:
    """Return whether the record has sat in its stage longer than the stage allows."""
    limit = MAX_DAYS_IN_STAGE.get(record.stage)
    return limit is not None and (today - record.stage_since).days > limit


def too_long_condition(model: type[Lead] | type[Project], today: dt.date) -> ColumnElement[bool]:
    """The SQL twin of :func:`too_long_in_stage`."""
    return or_(
        *(
            and_(model.stage == stage, model.stage_since < today - dt.timedelta(days=days))
            for stage, days in MAX_DAYS_IN_STAGE.items()
        )
    )


def board(
    session: Session,
    user: User,
    model: type[Lead] | type[Project],
    park_id: int | None,
    cards_per_column: int = 30,
) -> list[BoardColumn]:
    """Return one column per stage with its count, 亿元 sum and the largest cards."""
    amount = amount_column(model)
    base = visibility.visible(select(model), user, model)
    if park_id:
        base = base.where(model.park_id == park_id)
    sub = base.subquery()
    columns = {stage: BoardColumn(stage) for stage in ALL_STAGES}
    totals = session.execute(
        select(sub.c.stage, func.count(), func.coalesce(func.sum(sub.c[amount.key]), 0)).group_by(
            sub.c.stage
        )
    )
    for stage, count, total in totals:
        column = columns[Stage(stage)]
        column.count = count
        column.total = total or Decimal(0)
    ranked = base.add_columns(
        func.row_number()
        .over(partition_by=model.stage, order_by=(amount.desc().nulls_last(), model.id))
        .label("rank")
    ).subquery()
    ranked_ids = select(ranked.c.id).where(ranked.c.rank <= cards_per_column)
    cards = session.scalars(
        select(model)
        .where(model.id.in_(ranked_ids))
        .options(joinedload(model.enterprise), joinedload(model.owner))
        .order_by(amount.desc().nulls_last(), model.id)
    ).all()
    for card in cards:
        columns[card.stage].cards.append(card)
    return list(columns.values())


# --- detail pages ---------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    day: dt.date
    at: dt.datetime
    kind: str  # "contact" or "stage"
    item: ContactLog | StageChange


def timeline(session: Session, record: Lead | Project) -> list[TimelineEntry]:
    """Return contacts and stage changes of a record, newest first (two queries)."""
    if isinstance(record, Lead):
        contact_filter = ContactLog.lead_id == record.id
        stage_filter = StageChange.lead_id == record.id
    else:
        contact_filter = ContactLog.project_id == record.id
        stage_filter = StageChange.project_id == record.id
    contacts = session.scalars(
        select(ContactLog)
        .where(contact_filter)
        .options(joinedload(ContactLog.created_by), joinedload(ContactLog.project))
    ).all()
    changes = session.scalars(
        select(StageChange)
        .where(stage_filter)
        .options(joinedload(StageChange.recorded_by), joinedload(StageChange.confirmed_by))
    ).all()
    entries = [TimelineEntry(c.contact_on, c.created_at, "contact", c) for c in contacts]
    entries += [TimelineEntry(s.effective_on, s.recorded_at, "stage", s) for s in changes]
    entries.sort(key=lambda e: (e.day, e.at, e.kind == "stage"), reverse=True)
    return entries


def audit_history(
    session: Session, record: Any, limit: int = 100
) -> list[tuple[AuditLog, str | None]]:
    """Return the audit rows of one record with the actor's name, newest first."""
    rows = session.execute(
        select(AuditLog, User.full_name)
        .outerjoin(User, AuditLog.actor_id == User.id)
        .where(AuditLog.entity == record.__tablename__, AuditLog.entity_id == record.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return [(log, name) for log, name in rows]


def proposals_for(session: Session, user: User, pending_only: bool = True) -> list[StageProposal]:
    """Return the stage proposals *user* may see, oldest first."""
    stmt = visibility.visible_proposals(select(StageProposal), user).options(
        joinedload(StageProposal.lead).joinedload(Lead.enterprise),
        joinedload(StageProposal.project).joinedload(Project.enterprise),
        joinedload(StageProposal.proposed_by),
    )
    if pending_only:
        stmt = stmt.where(StageProposal.status == "pending")
    return list(session.scalars(stmt.order_by(StageProposal.proposed_at).limit(200)))
