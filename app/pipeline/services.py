"""The pipeline's operations: create and edit leads and projects, log contacts, move stages.

Plain functions taking the session and the acting user. They check permissions through
``visibility``, stage rules through ``lifecycle``, flush, and never commit: the caller (a view, a
command, an import) commits once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from app.auth.models import Role, User
from app.core.db import SAME_PLAN, check_version
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.timeutil import now_utc, today_local
from app.enterprises.models import Enterprise
from app.parks.models import ChainLink, Park
from app.pipeline import visibility
from app.pipeline.lifecycle import (
    ACTIVE,
    MILESTONE_FIELDS,
    Move,
    Stage,
    Step,
    TransitionError,
    needs_confirmation,
    plan_move,
)
from app.pipeline.models import (
    ContactLog,
    ContactType,
    Lead,
    LeadSource,
    Project,
    ProposalStatus,
    StageChange,
    StageProposal,
)

Record = Lead | Project
MAX_TEXT = 5000


class PipelineError(UserError):
    """A user-facing problem with pipeline data; *field* names the form field to mark."""


class DuplicateLeadError(PipelineError):
    """The enterprise is already being courted by someone else."""


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


# --- owners and duplicates ------------------------------------------------------------------


def _check_owner(owner: User) -> None:
    if not owner.active or owner.role not in (Role.OFFICER, Role.MANAGER):
        raise PipelineError(_("负责人必须是在职的招商专员或园区负责人。"), "owner_id")


def active_leads_elsewhere(
    session: Session, enterprise_id: int, owner_id: int | None, exclude_lead_id: int | None = None
) -> list[tuple[str, str]]:
    """Return (owner name, park name) of active leads for the enterprise owned by someone else.

    This is all an officer learns about another officer's lead.
    """
    stmt = (
        select(User.full_name, Park.name)
        .select_from(Lead)
        .join(User, Lead.owner_id == User.id)
        .join(Park, Lead.park_id == Park.id)
        .where(Lead.enterprise_id == enterprise_id, Lead.stage.in_(ACTIVE | {Stage.ON_HOLD}))
        .order_by(Lead.id)
    )
    if owner_id is not None:
        stmt = stmt.where(Lead.owner_id != owner_id)
    if exclude_lead_id is not None:
        stmt = stmt.where(Lead.id != exclude_lead_id)
    return [(name, park) for name, park in session.execute(stmt)]


# --- leads ----------------------------------------------------------------------------------


def _check_text(value: str | None, field: str, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise PipelineError(_("内容过长（最多%(n)d字）。", n=limit), field)
    return value or None


def _check_park(user: User, park: Park) -> None:
    if not visibility.may_work_in_park(user, park.id):
        raise PipelineError(_("您不负责该园区，不能把记录放入其中。"), "park_id")
    if not park.active:
        raise PipelineError(_("该园区已停用。"), "park_id")


def create_lead(
    session: Session,
    user: User,
    *,
    enterprise: Enterprise,
    title: str,
    park: Park,
    source: LeadSource = LeadSource.OTHER,
    chain_link: ChainLink | None = None,
    estimated_investment: Decimal | None = None,
    owner: User | None = None,
    description: str | None = None,
    started_on: dt.date | None = None,
    allow_duplicate: bool = False,
) -> Lead:
    """Create a lead at stage 线索, refusing to court an enterprise someone else is courting."""
    _require(visibility.can_create(user))
    _check_park(user, park)
    if user.role is Role.OFFICER or owner is None:
        owner = user
    _check_owner(owner)
    title = _check_text(title, "title", 120) or ""
    if not title:
        raise PipelineError(_("请填写线索名称。"), "title")
    others = active_leads_elsewhere(session, enterprise.id, owner.id)
    if others and not (allow_duplicate and user.role in (Role.MANAGER, Role.ADMIN)):
        who = "；".join(_("%(owner)s（%(park)s）", owner=o, park=p) for o, p in others)
        raise DuplicateLeadError(
            _("该企业已有正在跟进的线索，负责人：%(who)s。请与其联系，避免重复招商。", who=who),
            "enterprise",
        )
    today = today_local()
    started_on = started_on or today
    if started_on > today:
        raise PipelineError(_("日期不能晚于今天。"), "started_on")
    lead = Lead(
        title=title,
        enterprise=enterprise,
        park=park,
        source=source,
        chain_link=chain_link,
        estimated_investment=estimated_investment,
        owner=owner,
        description=_check_text(description, "description", MAX_TEXT),
        stage=Stage.LEAD,
        stage_since=started_on,
        # What its opening row, written below, shows (the session hook finds them kept).
        opened_on=started_on,
        furthest_stage=Stage.LEAD,
    )
    session.add(lead)
    session.flush()
    session.add(
        StageChange(
            lead_id=lead.id,
            from_stage=None,
            to_stage=Stage.LEAD,
            effective_on=started_on,
            recorded_by_id=user.id,
        )
    )
    session.flush()
    return lead


def update_lead(
    session: Session,
    user: User,
    lead: Lead,
    *,
    version: Any,
    title: str,
    park: Park,
    source: LeadSource,
    chain_link: ChainLink | None,
    estimated_investment: Decimal | None,
    description: str | None,
) -> Lead:
    """Change a lead's details (not its stage or owner, which have their own operations)."""
    _require(visibility.can_edit(user, lead))
    check_version(lead, version)
    if park.id != lead.park_id:
        _check_park(user, park)
    title = _check_text(title, "title", 120) or ""
    if not title:
        raise PipelineError(_("请填写线索名称。"), "title")
    lead.title = title
    lead.park = park
    lead.source = source
    lead.chain_link = chain_link
    lead.estimated_investment = estimated_investment
    lead.description = _check_text(description, "description", MAX_TEXT)
    session.flush()
    return lead


def reassign(session: Session, user: User, record: Record, *, owner: User, version: Any) -> None:
    """Give a lead or project to another owner (park managers and admins)."""
    _require(visibility.can_manage(user, record))
    check_version(record, version)
    _check_owner(owner)
    if owner.role is Role.MANAGER and record.park_id not in owner.park_ids:
        raise PipelineError(_("该园区负责人不负责此园区。"), "owner_id")
    record.owner = owner
    session.flush()


# --- projects -------------------------------------------------------------------------------


def create_project(
    session: Session,
    user: User,
    lead: Lead,
    *,
    name: str,
    park: Park,
    chain_link: ChainLink | None,
    total_investment: Decimal | None,
    fixed_asset_investment: Decimal | None,
    owner: User | None = None,
    planned: dict[str, dt.date | None] | None = None,
    description: str | None = None,
    started_on: dt.date | None = None,
    move: Move | None = None,
) -> tuple[Project, StageProposal | None]:
    """Create a project of *lead* at 线索, then move it to the stage it has reached.

    An officer's move into a milestone waits for confirmation, as any other move would.
    """
    _require(visibility.can_edit(user, lead))
    _check_park(user, park)
    name = _check_text(name, "name", 120) or ""
    if not name:
        raise PipelineError(_("请填写项目名称。"), "name")
    if session.scalar(
        select(Project.id).where(Project.enterprise_id == lead.enterprise_id, Project.name == name)
    ):
        raise PipelineError(_("该企业已有同名项目“%(name)s”。", name=name), "name")
    _check_investments(total_investment, fixed_asset_investment)
    # An officer's project is his own; a manager's defaults to the lead's owner.
    if user.role is Role.OFFICER:
        owner = user
    _check_owner(owner := owner or lead.owner)
    today = today_local()
    started_on = started_on or today
    project = Project(
        lead=lead,
        enterprise_id=lead.enterprise_id,
        name=name,
        park=park,
        chain_link=chain_link,
        owner=owner,
        total_investment=total_investment,
        fixed_asset_investment=fixed_asset_investment,
        description=_check_text(description, "description", MAX_TEXT),
        stage=Stage.LEAD,
        stage_since=started_on,
        # What its opening row, written below, shows (the session hook finds them kept).
        opened_on=started_on,
        furthest_stage=Stage.LEAD,
        **_planned_dates(planned or {}),
    )
    session.add(project)
    session.flush()
    session.add(
        StageChange(
            project_id=project.id,
            from_stage=None,
            to_stage=Stage.LEAD,
            effective_on=started_on,
            recorded_by_id=user.id,
        )
    )
    session.flush()
    proposal = None
    if move is not None and move.target is not Stage.LEAD:
        proposal = move_stage(session, user, project, move, version=project.version)
    return project, proposal


PLANNED_FIELDS = (
    "planned_signing_on",
    "planned_construction_on",
    "planned_production_on",
    "planned_full_production_on",
)


def _planned_dates(planned: dict[str, dt.date | None]) -> dict[str, dt.date | None]:
    values = {key: planned.get(key) for key in PLANNED_FIELDS}
    previous: dt.date | None = None
    for key in PLANNED_FIELDS:
        day = values[key]
        if day is None:
            continue
        if previous is not None and day < previous:
            raise PipelineError(_("计划日期须按签约、开工、投产、达产的先后排列。"), key)
        previous = day
    return values


def _check_investments(total: Decimal | None, fixed: Decimal | None) -> None:
    if total is not None and fixed is not None and fixed > total:
        raise PipelineError(_("固定资产投资不能大于总投资。"), "fixed_asset_investment")


def update_project(
    session: Session,
    user: User,
    project: Project,
    *,
    version: Any,
    name: str,
    park: Park,
    chain_link: ChainLink | None,
    total_investment: Decimal | None,
    fixed_asset_investment: Decimal | None,
    planned: dict[str, dt.date | None],
    description: str | None,
) -> Project:
    """Change a project's details (not its stage or owner)."""
    _require(visibility.can_edit(user, project))
    check_version(project, version)
    if park.id != project.park_id:
        _check_park(user, park)
    name = _check_text(name, "name", 120) or ""
    if not name:
        raise PipelineError(_("请填写项目名称。"), "name")
    clash = session.scalar(
        select(Project.id).where(
            Project.enterprise_id == project.enterprise_id,
            Project.name == name,
            Project.id != project.id,
        )
    )
    if clash:
        raise PipelineError(_("该企业已有同名项目“%(name)s”。", name=name), "name")
    _check_investments(total_investment, fixed_asset_investment)
    project.name = name
    project.park = park
    project.chain_link = chain_link
    project.total_investment = total_investment
    project.fixed_asset_investment = fixed_asset_investment
    for key, value in _planned_dates(planned).items():
        setattr(project, key, value)
    project.description = _check_text(description, "description", MAX_TEXT)
    session.flush()
    return project


# --- contacts -------------------------------------------------------------------------------


def _contact_values(
    contact_on: dt.date,
    summary: str,
    participants: str | None,
    next_step: str | None,
    next_step_due: dt.date | None,
) -> dict[str, Any]:
    """The checked fields of a contact, logged or corrected."""
    if contact_on > today_local():
        raise PipelineError(_("联系日期不能晚于今天。"), "contact_on")
    summary = _check_text(summary, "summary", MAX_TEXT) or ""
    if not summary:
        raise PipelineError(_("请填写联系内容。"), "summary")
    next_step = _check_text(next_step, "next_step", 200)
    if next_step_due is not None and next_step is None:
        raise PipelineError(_("填写了下一步日期，请同时填写下一步工作。"), "next_step")
    if next_step_due is not None and next_step_due < contact_on:
        raise PipelineError(_("下一步日期不能早于联系日期。"), "next_step_due")
    return {
        "contact_on": contact_on,
        "participants": _check_text(participants, "participants", 300),
        "summary": summary,
        "next_step": next_step,
        "next_step_due": next_step_due,
    }


def log_contact(
    session: Session,
    user: User,
    record: Record,
    *,
    contact_type: ContactType,
    contact_on: dt.date,
    summary: str,
    participants: str | None = None,
    next_step: str | None = None,
    next_step_due: dt.date | None = None,
) -> ContactLog:
    """Log a contact and keep the record's last-contact date and next step in the same flush."""
    _require(visibility.can_edit(user, record))
    values = _contact_values(contact_on, summary, participants, next_step, next_step_due)
    lead = record if isinstance(record, Lead) else record.lead
    project = record if isinstance(record, Project) else None
    contact = ContactLog(
        lead_id=lead.id,
        project_id=project.id if project else None,
        contact_type=contact_type,
        created_by_id=user.id,
        **values,
    )
    session.add(contact)
    for touched in {lead, record}:
        if touched.last_contact_on is None or contact_on > touched.last_contact_on:
            touched.last_contact_on = contact_on
    if values["next_step"] is not None:
        record.next_step, record.next_step_due = values["next_step"], values["next_step_due"]
    session.flush()
    return contact


def find_contact(session: Session, record: Record, contact_id: int) -> ContactLog | None:
    """The contact *contact_id* logged on *record*, or None; a lead's include its projects'."""
    contact = session.get(ContactLog, contact_id, execution_options=SAME_PLAN)
    if contact is None:
        return None
    logged_on = contact.lead_id if isinstance(record, Lead) else contact.project_id
    return contact if logged_on == record.id else None


def _step_holder(session: Session, contact: ContactLog) -> Record:
    """The record whose next step the contact set when it was logged: its project, or its lead."""
    if contact.project_id is not None:
        return session.get_one(Project, contact.project_id, execution_options=SAME_PLAN)
    return session.get_one(Lead, contact.lead_id, execution_options=SAME_PLAN)


def _shows_step_of(holder: Record, contact: ContactLog) -> bool:
    """Whether *holder*'s next step is still the one *contact* gave it (or both have none)."""
    return (holder.next_step, holder.next_step_due) == (contact.next_step, contact.next_step_due)


def _keep_last_contact(session: Session, contact: ContactLog) -> None:
    """Read again the last-contact date of the contact's lead and project after a correction or
    a removal: the latest contact left (one index seek each)."""
    session.flush()
    for model, column, record_id in (
        (Lead, ContactLog.lead_id, contact.lead_id),
        (Project, ContactLog.project_id, contact.project_id),
    ):
        if record_id is not None:
            touched = session.get_one(model, record_id, execution_options=SAME_PLAN)
            touched.last_contact_on = session.scalar(
                select(func.max(ContactLog.contact_on))
                .where(column == record_id)
                .execution_options(**SAME_PLAN)
            )


def correct_contact(
    session: Session,
    user: User,
    record: Record,
    contact: ContactLog,
    *,
    version: Any,
    contact_type: ContactType,
    contact_on: dt.date,
    summary: str,
    participants: str | None = None,
    next_step: str | None = None,
    next_step_due: dt.date | None = None,
) -> ContactLog:
    """Correct a contact, as loaded at *version*, with the checks of a new one.

    The record's last-contact date follows; so does its next step, while it is still the one
    this contact gave it. The audit log keeps the values corrected."""
    _require(visibility.can_change_contact(user, record, contact.created_by_id))
    check_version(contact, version)
    values = _contact_values(contact_on, summary, participants, next_step, next_step_due)
    holder = _step_holder(session, contact)
    follows = _shows_step_of(holder, contact)
    contact.contact_type = contact_type
    for key, value in values.items():
        setattr(contact, key, value)
    if follows:
        holder.next_step, holder.next_step_due = values["next_step"], values["next_step_due"]
    _keep_last_contact(session, contact)
    session.flush()
    return contact


def remove_contact(
    session: Session, user: User, record: Record, contact: ContactLog, *, version: Any
) -> None:
    """Remove a contact, as loaded at *version* (one logged on the wrong record, or twice).

    The record's last-contact date is read again; its next step is cleared while it is still
    the one this contact gave it. The audit log keeps every value of the contact removed."""
    _require(visibility.can_change_contact(user, record, contact.created_by_id))
    check_version(contact, version)
    holder = _step_holder(session, contact)
    if contact.next_step is not None and _shows_step_of(holder, contact):
        holder.next_step = holder.next_step_due = None
    session.delete(contact)
    _keep_last_contact(session, contact)
    session.flush()


def complete_next_step(session: Session, user: User, record: Record) -> None:
    """Mark the record's pending next step as done."""
    _require(visibility.can_edit(user, record))
    record.next_step = None
    record.next_step_due = None
    session.flush()


# --- stages ---------------------------------------------------------------------------------


def pending_proposal(session: Session, record: Record) -> StageProposal | None:
    """Return the record's stage proposal awaiting confirmation, if any."""
    column = StageProposal.lead_id if isinstance(record, Lead) else StageProposal.project_id
    return session.scalar(
        select(StageProposal)
        .where(column == record.id, StageProposal.status == ProposalStatus.PENDING)
        .execution_options(**SAME_PLAN)
    )


def move_stage(
    session: Session, user: User, record: Record, move: Move, *, version: Any
) -> StageProposal | None:
    """Move a record to another stage, or, for an officer's milestone, propose the move.

    Returns the proposal when the move waits for a park manager, else None.
    """
    _require(visibility.can_edit(user, record))
    check_version(record, version)
    if pending_proposal(session, record) is not None:
        raise PipelineError(_("已有一项阶段变更等待园区负责人确认，请等待处理后再提交。"), "target")
    steps = _plan(record, move)
    if user.role is Role.OFFICER and needs_confirmation(move.target):
        proposal = StageProposal(
            lead_id=record.id if isinstance(record, Lead) else None,
            project_id=record.id if isinstance(record, Project) else None,
            park_id=record.park_id,
            from_stage=record.stage,
            to_stage=move.target,
            effective_on=move.effective_on,
            skipped_dates=_encode_skips(move.skipped_dates),
            reason=(move.reason or "").strip() or None,
            note=(move.note or "").strip() or None,
            proposed_by_id=user.id,
        )
        session.add(proposal)
        session.flush()
        return proposal
    # A manager's (or admin's) own move needs no one else's confirmation; an officer's direct
    # move (outside the milestones) is recorded without a confirmer.
    confirmer = user if visibility.can_manage(user, record) else None
    _apply(session, record, steps, move, recorded_by=user, confirmed_by=confirmer)
    return None


def _plan(record: Record, move: Move) -> list[Step]:
    try:
        return plan_move(record.stage, record.stage_since, move, today_local(), record.held_from)
    except TransitionError as exc:
        raise PipelineError(exc.message, exc.field) from None


def _apply(
    session: Session,
    record: Record,
    steps: list[Step],
    move: Move,
    *,
    recorded_by: User,
    confirmed_by: User | None,
) -> None:
    """Write the history rows and the record's stage in one flush."""
    subject = {"lead_id": record.id} if isinstance(record, Lead) else {"project_id": record.id}
    for step in steps:
        is_last = step is steps[-1]
        session.add(
            StageChange(
                **subject,
                from_stage=step.from_stage,
                to_stage=step.to_stage,
                effective_on=step.effective_on,
                from_since=step.from_since,
                recorded_by_id=recorded_by.id,
                confirmed_by_id=confirmed_by.id if confirmed_by else None,
                reason=(move.reason or "").strip() or None if is_last else None,
                note=(move.note or "").strip() or None if is_last else None,
            )
        )
        if step.to_stage in MILESTONE_FIELDS:
            setattr(record, MILESTONE_FIELDS[step.to_stage], step.effective_on)
        if step.to_stage is Stage.ON_HOLD:
            record.held_from = step.from_stage
        elif step.from_stage is Stage.ON_HOLD:
            record.held_from = None
    record.stage = steps[-1].to_stage
    record.stage_since = steps[-1].effective_on
    session.flush()


def _encode_skips(skips: dict[Stage, dt.date]) -> str | None:
    return ",".join(f"{s.value}={d.isoformat()}" for s, d in skips.items()) or None


def _decode_skips(text: str | None) -> dict[Stage, dt.date]:
    out: dict[Stage, dt.date] = {}
    for part in (text or "").split(","):
        if "=" in part:
            stage, day = part.split("=", 1)
            out[Stage(stage)] = dt.date.fromisoformat(day)
    return out


def confirm_proposal(session: Session, user: User, proposal: StageProposal, note: str = "") -> None:
    """Apply a proposed move as its proposer asked, checked again against the record's stage now."""
    record = proposal.subject
    _require(visibility.can_manage(user, record))
    if proposal.status is not ProposalStatus.PENDING:
        raise PipelineError(_("该申请已处理。"))
    move = Move(
        target=proposal.to_stage,
        effective_on=proposal.effective_on,
        skipped_dates=_decode_skips(proposal.skipped_dates),
        reason=proposal.reason or "",
        note=proposal.note or "",
    )
    steps = _plan(record, move)
    _apply(session, record, steps, move, recorded_by=proposal.proposed_by, confirmed_by=user)
    _decide(proposal, user, ProposalStatus.CONFIRMED, note)
    session.flush()


def reject_proposal(session: Session, user: User, proposal: StageProposal, note: str) -> None:
    """Turn a proposed move down, saying why."""
    _require(visibility.can_manage(user, proposal.subject))
    if proposal.status is not ProposalStatus.PENDING:
        raise PipelineError(_("该申请已处理。"))
    if not (note or "").strip():
        raise PipelineError(_("退回须填写原因。"), "note")
    _decide(proposal, user, ProposalStatus.REJECTED, note)
    session.flush()


def _decide(proposal: StageProposal, user: User, status: ProposalStatus, note: str) -> None:
    proposal.status = status
    proposal.decided_by_id = user.id
    proposal.decided_at = now_utc()
    proposal.decision_note = (note or "").strip()[:500] or None
