"""The declarative base, reusable column types and model mixins.

Every model derives from :class:`Base`. Money is stored as whole yuan in a BIGINT so that sums are
exact on SQLite and PostgreSQL alike, and read back as a ``Decimal`` in 亿元. Timestamps are stored
as naive UTC and read back as aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Final

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event, inspect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    RelationshipDirection,
    Session,
    declared_attr,
    mapped_column,
)

from app.core.i18n import lazy_gettext as _l
from app.core.money import yi_to_yuan, yuan_to_yi

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Money(TypeDecorator):
    """An amount in 亿元 as ``Decimal``, stored exactly as whole yuan."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return yi_to_yuan(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return yuan_to_yi(int(value))

    @property
    def python_type(self) -> type:
        return Decimal


class UTCDateTime(TypeDecorator):
    """A point in time, stored as naive UTC and returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)

    @property
    def python_type(self) -> type:
        return dt.datetime


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
money = Annotated[Decimal, mapped_column(Money)]
utc_datetime = Annotated[dt.datetime, mapped_column(UTCDateTime)]


class Base(DeclarativeBase):
    """The declarative base with stable constraint names for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """Created and updated stamps, in UTC."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VersionedMixin(TimestampMixin):
    """A version counter: an UPDATE of a stale row fails instead of overwriting it.

    The counter moves when what a user edits changes (see :func:`_bump_versions`); fields kept
    up to date as a side effect of other work (``__unversioned__``, e.g. the last-contact date a
    logged contact sets) leave it alone, so logging a contact does not invalidate an open form.
    """

    __unversioned__: tuple[str, ...] = ()

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}


_NEVER_VERSIONED = {"version", "created_at", "updated_at"}


def _has_versioned_changes(obj: VersionedMixin) -> bool:
    state = inspect(obj)
    skip = _NEVER_VERSIONED | set(obj.__unversioned__)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.attrs
        if attr.key not in skip
    )


@event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Advance the version of every edited record; the UPDATE checks the old one."""
    for obj in session.dirty:
        if isinstance(obj, VersionedMixin) and _has_versioned_changes(obj):
            obj.version = (obj.version or 0) + 1


class StaleVersionError(Exception):
    """The record was changed by someone else since the form was loaded."""

    message = _l("该记录已被他人修改，请刷新页面后再提交（您填写的内容已保留在表单中）。")


def check_version(record: VersionedMixin, submitted: str | int | None) -> None:
    """Refuse a save when the form was loaded from an older version of *record*."""
    try:
        loaded = int(submitted)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise StaleVersionError() from None
    if loaded != record.version:
        raise StaleVersionError()


SAME_PLAN_OPTION: Final = "same_plan"
SAME_PLAN: Final = {SAME_PLAN_OPTION: True}
"""Execution options of a statement whose best plan is the same whatever its parameters: a
lookup by key, one record's own rows, a small reference table. PostgreSQL plans it once per
connection (:func:`app.core.postgresql.configure_postgresql`), as SQLite's driver does for every
statement. Never for a filter whose selectivity depends on its values (a park, a stage, an owner):
those are planned for their own parameters on each run."""


@event.listens_for(Session, "do_orm_execute")
def _key_loads_keep_their_plan(state: ORMExecuteState) -> None:
    """Loads by primary key are :data:`SAME_PLAN`: a record's expired columns read again, and the
    record a many-to-one relationship points to (``lead.park``) when it is not yet in the
    session."""
    if not state.is_select:
        return
    if state.is_column_load:
        state.update_execution_options(**SAME_PLAN)
    elif state.lazy_loaded_from is not None:
        prop = getattr(state.loader_strategy_path, "prop", None)
        if getattr(prop, "direction", None) is RelationshipDirection.MANYTOONE:
            state.update_execution_options(**SAME_PLAN)


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types in migrations as the plain types they store."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def escape_like(text: str) -> str:
    """*text* as a literal inside a LIKE pattern written with ``escape="\\"``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
