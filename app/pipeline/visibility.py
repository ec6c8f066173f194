"""Who may see and change which lead and project: the one module every list, page and count uses.

- officer: the leads and projects he owns;
- park manager: everything in his parks;
- leader: everything, read-only;
- admin: everything.
A record outside a user's sight does not exist for him (404), whatever the URL.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, true
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from app.auth.models import EDITOR_ROLES, Role, User
from app.core.db import SAME_PLAN
from app.pipeline.models import Lead, Project, StageProposal

Record = Lead | Project
T = TypeVar("T", Lead, Project)


def condition(user: User, model: type[Lead] | type[Project]) -> ColumnElement[bool]:
    """Return the SQL condition selecting the rows of *model* that *user* may see."""
    if not user.is_authenticated or not user.is_active:
        return false()
    if user.role in (Role.LEADER, Role.ADMIN):
        return true()
    if user.role is Role.MANAGER:
        park_ids = sorted(user.park_ids)
        return model.park_id.in_(park_ids) if park_ids else false()
    return model.owner_id == user.id


def sight(user: User) -> Hashable:
    """What *user* sees, as a value equal for users who see the same records (figures computed
    for one may be shown to the other): everything, some parks, one owner's, nothing."""
    if not user.is_authenticated or not user.is_active:
        return ("nothing",)
    if user.role in (Role.LEADER, Role.ADMIN):
        return ("everything",)
    if user.role is Role.MANAGER:
        return ("parks", tuple(sorted(user.park_ids)))
    return ("owner", user.id)


def visible(stmt: Select, user: User, model: type[Lead] | type[Project]) -> Select:
    """Restrict a ``select()`` over *model* to what *user* may see."""
    return stmt.where(condition(user, model))


def visible_proposals(stmt: Select, user: User) -> Select:
    """Restrict a ``select()`` over stage proposals to those a user may see."""
    if user.role in (Role.LEADER, Role.ADMIN):
        return stmt
    if user.role is Role.MANAGER:
        return stmt.where(StageProposal.park_id.in_(sorted(user.park_ids)))
    return stmt.where(StageProposal.proposed_by_id == user.id)


def can_view(user: User, record: Record) -> bool:
    """Return whether *user* may see *record*."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in (Role.LEADER, Role.ADMIN):
        return True
    if user.role is Role.MANAGER:
        return record.park_id in user.park_ids
    return record.owner_id == user.id


def can_edit(user: User, record: Record) -> bool:
    """Return whether *user* may change *record* (log contacts, edit, propose stage moves)."""
    if user.role is Role.LEADER:
        return False
    return can_view(user, record)


def can_manage(user: User, record: Record) -> bool:
    """Return whether *user* may reassign *record* and confirm its stage moves."""
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.MANAGER and record.park_id in user.park_ids


def can_change_contact(user: User, record: Record, author_id: int | None) -> bool:
    """Return whether *user* may correct or remove a contact logged on *record* by *author_id*:
    its author while he may change the record, and whoever manages the record."""
    if can_manage(user, record):
        return True
    return author_id is not None and author_id == user.id and can_edit(user, record)


def can_create(user: User) -> bool:
    """Return whether *user* may create leads, projects and enterprises at all."""
    return user.is_authenticated and user.role in EDITOR_ROLES


def may_work_in_park(user: User, park_id: int) -> bool:
    """Return whether *user* may put a record into park *park_id*."""
    if user.role in (Role.ADMIN, Role.OFFICER):
        return True
    return user.role is Role.MANAGER and park_id in user.park_ids


def get_or_404(
    session: Session, user: User, model: type[T], record_id: int, options: Sequence[Any] = ()
) -> T:
    """Load a record the user may see, or raise 404 (never 403: existence is not revealed).
    *options* are loader options for the same statement (``joinedload`` of neighbours)."""
    record = session.get(model, record_id, options=options, execution_options=SAME_PLAN)
    if record is None or not can_view(user, record):
        raise NotFound()
    return record
