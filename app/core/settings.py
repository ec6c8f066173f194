"""Runtime-editable settings (e.g. the investment thresholds), kept in a table an admin edits."""

from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import SAME_PLAN, Base, VersionedMixin, intpk


class Setting(VersionedMixin, Base):
    """One named setting, stored as text."""

    __tablename__ = "setting"
    __audited__ = True

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(60), unique=True)
    value: Mapped[str] = mapped_column(String(200))


def get_settings(session: Session, keys: list[str]) -> dict[str, str]:
    """Return the stored values of *keys* (missing keys are absent) in one query."""
    stmt = select(Setting.key, Setting.value).where(Setting.key.in_(keys))
    rows = session.execute(stmt.execution_options(**SAME_PLAN))
    return {key: value for key, value in rows}


def put_setting(session: Session, key: str, value: str) -> None:
    """Create or change a setting (flushed by the caller's transaction)."""
    setting = session.scalar(select(Setting).where(Setting.key == key))
    if setting is None:
        session.add(Setting(key=key, value=value))
    elif setting.value != value:
        setting.value = value
