"""Leads, projects, their stage history, the contact log and pending stage proposals."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from app.auth.models import User
from app.core.audit import AuditLog
from app.core.db import Base, Money, UTCDateTime, VersionedMixin, intpk, utcnow
from app.core.i18n import lazy_gettext as _l
from app.enterprises.models import Enterprise
from app.parks.models import ChainLink, Park
from app.pipeline.lifecycle import Stage, further, is_opening, standing_days


def _enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class LeadSource(enum.StrEnum):
    """Where a lead came from (线索来源)."""

    BUSINESS_REFERRAL = "business_referral"
    EXHIBITION = "exhibition"
    AGENCY = "agency"
    VISIT = "visit"
    GOVERNMENT = "government"
    ONLINE = "online"
    INBOUND = "inbound"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(SOURCE_LABELS[self])


SOURCE_LABELS = {
    LeadSource.BUSINESS_REFERRAL: _l("以商招商"),
    LeadSource.EXHIBITION: _l("展会推介"),
    LeadSource.AGENCY: _l("中介机构"),
    LeadSource.VISIT: _l("上门拜访"),
    LeadSource.GOVERNMENT: _l("上级推荐"),
    LeadSource.ONLINE: _l("网络信息"),
    LeadSource.INBOUND: _l("企业来访"),
    LeadSource.OTHER: _l("其他"),
}


class ContactType(enum.StrEnum):
    """How the office was in touch (联系方式)."""

    VISIT = "visit"
    RECEPTION = "reception"
    PHONE = "phone"
    MEETING = "meeting"
    ONLINE = "online"
    EXHIBITION = "exhibition"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(CONTACT_TYPE_LABELS[self])


CONTACT_TYPE_LABELS = {
    ContactType.VISIT: _l("上门拜访"),
    ContactType.RECEPTION: _l("来访接待"),
    ContactType.PHONE: _l("电话"),
    ContactType.MEETING: _l("会谈"),
    ContactType.ONLINE: _l("微信/视频"),
    ContactType.EXHIBITION: _l("展会"),
    ContactType.OTHER: _l("其他"),
}


class Trackable(VersionedMixin):
    """What leads and projects share: an owner, a park, a chain link, a stage and its dates."""

    __audited__ = True
    # Kept up to date by logging contacts; audited through the contact log itself, and not a
    # reason to refuse someone's open edit form.
    __audit_exclude__ = (
        "last_contact_on",
        "opened_on",
        "furthest_stage",
        "stale_on",
        "too_long_on",
    )
    __unversioned__ = (
        "last_contact_on",
        "next_step",
        "next_step_due",
        "opened_on",
        "furthest_stage",
        "stale_on",
        "too_long_on",
    )

    id: Mapped[intpk]
    stage: Mapped[Stage] = mapped_column(_enum(Stage), default=Stage.LEAD)
    stage_since: Mapped[dt.date] = mapped_column(Date)
    # The stage a record on hold (暂缓) resumes to.
    held_from: Mapped[Stage | None] = mapped_column(_enum(Stage))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    construction_on: Mapped[dt.date | None] = mapped_column(Date)
    production_on: Mapped[dt.date | None] = mapped_column(Date)
    full_production_on: Mapped[dt.date | None] = mapped_column(Date)
    # Stored, indexed and updated with each contact: lists never scan the contact log.
    last_contact_on: Mapped[dt.date | None] = mapped_column(Date)
    next_step: Mapped[str | None] = mapped_column(String(200))
    next_step_due: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    # Two facts of the stage history, kept with each change by _keep_history_facts so that the
    # funnel and the lists' "opened in" and "got as far as" filters read the record alone (at
    # a hundred thousand records, reading every history cost more than the rest of a page);
    # None without history. Not indexed: a year's records, or a stage and the later ones, are
    # a large share of all, and with an index planners read every match and sorted them for a
    # page instead of walking the list's order.
    # The day of the opening row (线索, from no stage): the day the record was opened.
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    # The furthest stage of the main line the history shows (lifecycle.further).
    furthest_stage: Mapped[Stage | None] = mapped_column(_enum(Stage))
    # The first day the record counts as stale and as too long in its stage (None: never, in
    # this stage), lifecycle.stale_on and lifecycle.too_long_on of the stage and its dates, kept
    # with every change by _keep_standing_days and written by the bulk import. Lists, digests
    # and the cockpit compare one date with today instead of testing every row's stage against
    # its day limit; the covering index of the "now" figures holds them.
    stale_on: Mapped[dt.date | None] = mapped_column(Date)
    too_long_on: Mapped[dt.date | None] = mapped_column(Date)

    @declared_attr
    def owner_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("user.id"))

    @declared_attr
    def park_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("park.id"))

    @declared_attr
    def chain_link_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("chain_link.id"))

    @declared_attr
    def enterprise_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("enterprise.id"))

    @declared_attr
    def owner(cls) -> Mapped[User]:  # noqa: N805
        return relationship(User)

    @declared_attr
    def park(cls) -> Mapped[Park]:  # noqa: N805
        return relationship(Park)

    @declared_attr
    def chain_link(cls) -> Mapped[ChainLink | None]:  # noqa: N805
        return relationship(ChainLink)

    @declared_attr
    def enterprise(cls) -> Mapped[Enterprise]:  # noqa: N805
        return relationship(Enterprise)

    @property
    def kind(self) -> str:
        return self.__tablename__


class Lead(Trackable, Base):
    """A chance that an enterprise invests, owned by one officer and aimed at one park."""

    __tablename__ = "lead"
    # Searched by any part of its title (app.core.search); the old title is kept for its pairs.
    __search__ = (2, "title")
    __table_args__ = (
        Index("ix_lead_owner_stage", "owner_id", "stage"),
        # Covers the park board and the cockpit's "now" figures (stalled, by stage), which
        # then read the index alone.
        Index(
            "ix_lead_park_stage",
            "park_id",
            "stage",
            "stale_on",
            "too_long_on",
            "estimated_investment",
            "chain_link_id",
        ),
        # The park board's largest cards of a stage: a short read in amount order.
        Index("ix_lead_board", "park_id", "stage", "estimated_investment", "id"),
        # The chain map's largest records of a link: a short read in amount order.
        Index("ix_lead_link", "chain_link_id", "estimated_investment", "id"),
        Index("ix_lead_enterprise", "enterprise_id"),
        Index("ix_lead_last_contact", "last_contact_on", "id"),
        Index("ix_lead_next_step_due", "next_step_due"),
        Index("ix_lead_investment", "estimated_investment", "id"),
        # The lists' order (newest activity first): a page reads the index, not a sort of all.
        Index("ix_lead_updated", "updated_at", "id"),
        # The API's other orders: by title, by the day the stage began.
        Index("ix_lead_title", "title", "id"),
        Index("ix_lead_stage_since", "stage_since", "id"),
    )

    title: Mapped[str] = mapped_column(String(120), active_history=True)
    source: Mapped[LeadSource] = mapped_column(_enum(LeadSource), default=LeadSource.OTHER)
    estimated_investment: Mapped[Decimal | None] = mapped_column(Money)

    projects: Mapped[list[Project]] = relationship(back_populates="lead", order_by="Project.id")

    @property
    def amount(self) -> Decimal | None:
        """The investment that decides the flag tier."""
        return self.estimated_investment

    @property
    def display_name(self) -> str:
        return self.title


class Project(Trackable, Base):
    """A project a lead gives (phase 2 of a plant is a new project), with its milestones."""

    __tablename__ = "project"
    # Searched by any part of its name (app.core.search); the old name is kept for its pairs.
    __search__ = (3, "name")
    __table_args__ = (
        Index("ix_project_owner_stage", "owner_id", "stage"),
        Index(
            "ix_project_park_stage",
            "park_id",
            "stage",
            "stale_on",
            "too_long_on",
            "total_investment",
            "chain_link_id",
        ),
        Index("ix_project_board", "park_id", "stage", "total_investment", "id"),
        Index("ix_project_link", "chain_link_id", "total_investment", "id"),
        Index("ix_project_lead", "lead_id"),
        Index("ix_project_enterprise_name", "enterprise_id", "name"),
        Index("ix_project_last_contact", "last_contact_on", "id"),
        Index("ix_project_next_step_due", "next_step_due"),
        Index("ix_project_investment", "total_investment", "id"),
        Index("ix_project_updated", "updated_at", "id"),
        Index("ix_project_name", "name", "id"),
        Index("ix_project_stage_since", "stage_since", "id"),
        # The cockpit, the targets and the reports count milestones by date, per park, tier
        # and chain: the counts read these indexes alone.
        *(
            Index(f"ix_project_{column}", column, "park_id", "total_investment", "chain_link_id")
            for column in ("signed_on", "construction_on", "production_on")
        ),
    )

    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    name: Mapped[str] = mapped_column(String(120), active_history=True)
    total_investment: Mapped[Decimal | None] = mapped_column(Money)
    fixed_asset_investment: Mapped[Decimal | None] = mapped_column(Money)
    planned_signing_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_construction_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_production_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_full_production_on: Mapped[dt.date | None] = mapped_column(Date)

    lead: Mapped[Lead] = relationship(back_populates="projects")

    @property
    def amount(self) -> Decimal | None:
        return self.total_investment

    @property
    def display_name(self) -> str:
        return self.name


# Moves that end a stay but do not say when it began.
_WITHOUT_SINCE = "from_since IS NULL AND from_stage IS NOT NULL"


class StageChange(Base):
    """One stage move of a lead or a project. Append-only: rows are never changed."""

    __tablename__ = "stage_change"
    __table_args__ = (
        CheckConstraint("(lead_id IS NULL) <> (project_id IS NULL)", name="one_subject"),
        Index("ix_stage_change_lead", "lead_id", "effective_on"),
        Index("ix_stage_change_project", "project_id", "effective_on"),
        # "Reached a stage" (the cockpit's funnel, list filters) reads these without the table.
        Index("ix_stage_change_lead_stage", "lead_id", "to_stage"),
        Index("ix_stage_change_project_stage", "project_id", "to_stage"),
        # Time in stage: the moves of a period, read from the index alone.
        Index(
            "ix_stage_change_effective_on",
            "effective_on",
            "from_stage",
            "lead_id",
            "project_id",
            "from_since",
        ),
        # Time in stage of the moves written without from_since (none since it exists): an
        # index of them alone, so that looking for them costs nothing.
        Index(
            "ix_stage_change_without_since",
            "effective_on",
            "from_stage",
            "lead_id",
            "project_id",
            "from_since",  # a covering index for SQLite's planner, though always NULL
            sqlite_where=text(_WITHOUT_SINCE),
            postgresql_where=text(_WITHOUT_SINCE),
        ),
        # The digest's back-dated moves recorded in a week.
        Index("ix_stage_change_recorded_at", "recorded_at"),
    )

    id: Mapped[intpk]
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    from_stage: Mapped[Stage | None] = mapped_column(_enum(Stage))
    to_stage: Mapped[Stage] = mapped_column(_enum(Stage))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    # The day the record had entered from_stage: the stay this move ends ran from_since ..
    # effective_on. Written with the row (time in stage is read without replaying history).
    from_since: Mapped[dt.date | None] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])


@event.listens_for(Session, "before_flush")
def _keep_history_facts(session: Session, flush_context: object, instances: object) -> None:
    """Keep ``opened_on`` and ``furthest_stage`` of each record a new stage change is about."""
    for change in session.new:
        if not isinstance(change, StageChange):
            continue
        model, record_id = (
            (Lead, change.lead_id) if change.lead_id is not None else (Project, change.project_id)
        )
        record = session.get(model, record_id) if record_id is not None else None
        if record is None:
            continue
        furthest = further(record.furthest_stage, change.to_stage)
        if furthest is not record.furthest_stage:
            record.furthest_stage = furthest
        if is_opening(change.from_stage, change.to_stage) and (
            record.opened_on is None or change.effective_on < record.opened_on
        ):
            record.opened_on = change.effective_on


# What the standing days are computed from: a change of any of them computes them again.
_STANDING_FROM = ("stage", "stage_since", "last_contact_on")


@event.listens_for(Session, "before_flush")
def _keep_standing_days(session: Session, flush_context: object, instances: object) -> None:
    """Keep ``stale_on`` and ``too_long_on`` of every new record and of every record whose
    stage, stage day or last contact changed."""
    for record in (*session.new, *session.dirty):
        if not isinstance(record, Trackable):
            continue
        if record not in session.new:
            state = inspect(record)
            if not any(state.attrs[key].history.has_changes() for key in _STANDING_FROM):
                continue
        stage = record.stage
        if stage is None:  # the column's default, which the INSERT is about to apply
            stage = inspect(type(record)).columns["stage"].default.arg
        for key, value in standing_days(stage, record.stage_since, record.last_contact_on).items():
            if getattr(record, key) != value:
                setattr(record, key, value)


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class StageProposal(Base):
    """An officer's request to move a record into a milestone stage, awaiting a park manager."""

    __tablename__ = "stage_proposal"
    __table_args__ = (
        CheckConstraint("(lead_id IS NULL) <> (project_id IS NULL)", name="one_subject"),
        Index("ix_stage_proposal_status", "status", "park_id"),
    )

    id: Mapped[intpk]
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    park_id: Mapped[int] = mapped_column(ForeignKey("park.id"))
    from_stage: Mapped[Stage] = mapped_column(_enum(Stage))
    to_stage: Mapped[Stage] = mapped_column(_enum(Stage))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    # Dates for skipped stages, as "stage=YYYY-MM-DD" pairs separated by commas.
    skipped_dates: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProposalStatus] = mapped_column(
        _enum(ProposalStatus), default=ProposalStatus.PENDING
    )
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))

    lead: Mapped[Lead | None] = relationship()
    project: Mapped[Project | None] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def subject(self) -> Lead | Project:
        return self.lead if self.lead is not None else self.project  # type: ignore[return-value]


class ContactLog(VersionedMixin, Base):
    """One contact with an enterprise about a lead (and optionally one of its projects).

    Its author, or a manager of the record, may correct or remove it (``services.correct_contact``,
    ``services.remove_contact``); the version refuses a change made from an outdated page, and
    the audit log keeps every earlier value, a removed contact's included."""

    __tablename__ = "contact_log"
    __audited__ = True
    __table_args__ = (
        Index("ix_contact_log_lead", "lead_id", "contact_on"),
        Index("ix_contact_log_project", "project_id", "contact_on"),
        # A removed contact's id is never used again (SQLite would reuse the highest): its
        # audit rows must not become a new contact's history.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    contact_type: Mapped[ContactType] = mapped_column(_enum(ContactType))
    contact_on: Mapped[dt.date] = mapped_column(Date)
    participants: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(String(200))
    next_step_due: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship()
    project: Mapped[Project | None] = relationship()


# A removed contact stays in its record's history: the audit log's rows of its removal are found
# by the lead or project id they logged, through these partial indexes of those rows alone
# (queries.audit_history repeats their conditions as written, for the planners to use them).
for _field in ("lead_id", "project_id"):
    _removal = f"entity = '{ContactLog.__tablename__}' AND action = 'delete' AND field = '{_field}'"
    Index(
        f"ix_audit_log_removed_{_field}",
        AuditLog.old_value,
        sqlite_where=text(_removal),
        postgresql_where=text(_removal),
    )


class AppendOnlyError(RuntimeError):
    """History rows may only be inserted."""


@event.listens_for(StageChange, "before_update")
@event.listens_for(StageChange, "before_delete")
def _history_is_append_only(mapper, connection, target) -> None:
    raise AppendOnlyError("stage history is append-only")


# How the change history names the fields of leads and projects.
FIELD_LABELS = {
    "title": _l("线索名称"),
    "name": _l("项目名称"),
    "enterprise_id": _l("企业"),
    "owner_id": _l("负责人"),
    "park_id": _l("园区"),
    "chain_link_id": _l("产业链环节"),
    "source": _l("线索来源"),
    "estimated_investment": _l("预计投资（亿元）"),
    "total_investment": _l("总投资（亿元）"),
    "fixed_asset_investment": _l("固定资产投资（亿元）"),
    "stage": _l("阶段"),
    "stage_since": _l("阶段日期"),
    "held_from": _l("暂缓前阶段"),
    "signed_on": _l("签约日期"),
    "construction_on": _l("开工日期"),
    "production_on": _l("投产日期"),
    "full_production_on": _l("达产日期"),
    "planned_signing_on": _l("计划签约日期"),
    "planned_construction_on": _l("计划开工日期"),
    "planned_production_on": _l("计划投产日期"),
    "planned_full_production_on": _l("计划达产日期"),
    "contact_type": _l("联系方式"),
    "contact_on": _l("联系日期"),
    "participants": _l("参与人员"),
    "summary": _l("联系内容"),
    "next_step": _l("下一步工作"),
    "next_step_due": _l("下一步日期"),
    "description": _l("说明"),
}
