"""The audit log: who changed which field from what to what, and when.

Changes are captured once, in a session hook, for every model that sets ``__audited__ = True``;
pages, imports, the API and commands all go through it without calling anything. The acting user
and the channel are read from ``session.info`` (see :func:`set_actor`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, UTCDateTime, intpk, utcnow

NOT_AUDITED = {"created_at", "updated_at", "version"}


class AuditLog(Base):
    """One changed field, or a created or deleted record; rows are only ever inserted.

    A deletion writes a row without a field, then one row per field that held a value, the value
    as ``old_value``."""

    __tablename__ = "audit_log"

    id: Mapped[intpk]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="web")
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    # The history of one record is read by (entity, entity_id), newest first.
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "at"),)


def set_actor(session: Session, user_id: int | None, source: str = "web") -> None:
    """Record who acts (and through which channel) for the changes flushed by *session*."""
    session.info["actor_id"] = user_id
    session.info["audit_source"] = source


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@functools.cache
def _audited_columns(model: Any) -> tuple[str, ...]:
    """The column attributes of *model* whose changes are logged, in mapper order."""
    skip = NOT_AUDITED | set(getattr(model, "__audit_exclude__", ()))
    return tuple(attr.key for attr in inspect(model).column_attrs if attr.key not in skip)


def _changes(obj: Any) -> list[tuple[str, str | None, str | None]]:
    state = inspect(obj)
    out = []
    for key in _audited_columns(type(obj)):
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = _text(hist.deleted[0]) if hist.deleted else None
        new = _text(hist.added[0]) if hist.added else None
        if old != new:
            out.append((key, old, new))
    return out


def _last_values(obj: Any) -> list[tuple[str, str]]:
    """The audited fields of a deleted *obj* that held a value, as text: the log keeps what was
    removed, so that a deletion loses nothing."""
    loaded = inspect(obj).dict
    return [
        (key, text)
        for key in _audited_columns(type(obj))
        if key != "id" and (text := _text(loaded.get(key))) is not None
    ]


def audit_base(session: Session) -> dict[str, Any]:
    """The part of an audit row that is the same for every change of one flush (or bulk write)."""
    return {
        "at": utcnow(),
        "actor_id": session.info.get("actor_id"),
        "source": session.info.get("audit_source", "system"),
    }


def audit_row(
    base: dict[str, Any],
    entity: str,
    entity_id: int,
    action: str,
    field: str | None = None,
    old: str | None = None,
    new: str | None = None,
) -> dict[str, Any]:
    """One row of ``audit_log`` as the hook writes it."""
    return {
        **base,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "field": field,
        "old_value": old,
        "new_value": new,
    }


def column_changes(
    model: Any, old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, str | None, str | None]]:
    """Bulk form of the hook's comparison: the audited columns of *model* that differ.

    *old* and *new* map column attributes to values (a missing key is ``None``). Gives the
    (field, old text, new text) rows the hook would log for an object changed from *old* to
    *new*, in the same order, for writers that insert rows without the ORM (ledger import).
    """
    given = old.keys() | new.keys()
    out = []
    for key in _audited_columns(model):
        if key in given:
            before, after = _text(old.get(key)), _text(new.get(key))
            if before != after:
                out.append((key, before, after))
    return out


@event.listens_for(Session, "after_flush")
def _write_audit_rows(session: Session, flush_context: Any) -> None:
    base = audit_base(session)

    def row(
        obj: Any, action: str, field: str | None = None, old: Any = None, new: Any = None
    ) -> dict[str, Any]:
        return audit_row(base, obj.__tablename__, obj.id, action, field, old, new)

    def audited(objects: Any) -> list[Any]:
        return [obj for obj in objects if getattr(obj, "__audited__", False)]

    rows = [row(obj, "create") for obj in audited(session.new)]
    rows += [
        row(obj, "update", field, old, new)
        for obj in audited(session.dirty)
        if session.is_modified(obj, include_collections=False)
        for field, old, new in _changes(obj)
    ]
    for obj in audited(session.deleted):
        rows.append(row(obj, "delete"))
        rows += [row(obj, "delete", field, old) for field, old in _last_values(obj)]
    if rows:
        session.connection().execute(insert(AuditLog.__table__), rows)


class AuditImmutableError(RuntimeError):
    """Audit rows may only be inserted."""


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _audit_is_append_only(mapper: Any, connection: Any, target: Any) -> None:
    raise AuditImmutableError("the audit log is append-only")
