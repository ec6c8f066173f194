"""Enterprises (the companies being courted) and their contact people."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, VersionedMixin, intpk
from app.core.i18n import lazy_gettext as _l


class Ownership(enum.StrEnum):
    """Ownership type (企业性质)."""

    CENTRAL_SOE = "central_soe"
    SOE = "soe"
    PRIVATE = "private"
    FOREIGN = "foreign"
    HMT = "hmt"

    @property
    def label(self) -> str:
        return str(OWNERSHIP_LABELS[self])


OWNERSHIP_LABELS = {
    Ownership.CENTRAL_SOE: _l("央企"),
    Ownership.SOE: _l("国企"),
    Ownership.PRIVATE: _l("民企"),
    Ownership.FOREIGN: _l("外资"),
    Ownership.HMT: _l("港澳台资"),
}

# Boolean tag columns and their labels, in display order.
TAGS = {
    "is_global500": _l("世界500强"),
    "is_china500": _l("中国500强"),
    "is_listed": _l("上市公司"),
}


class Enterprise(VersionedMixin, Base):
    """A company that may invest; identified by its Unified Social Credit Code when it has one."""

    __tablename__ = "enterprise"
    __audited__ = True
    # Searched by any part of its name (app.core.search); the old name is kept for its pairs.
    __search__ = (1, "name")

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120), active_history=True)
    # Normalised name (see enterprises.names) used to find likely duplicates.
    name_key: Mapped[str] = mapped_column(String(120), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    ownership: Mapped[Ownership | None] = mapped_column(
        Enum(
            Ownership, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    is_global500: Mapped[bool] = mapped_column(Boolean, default=False)
    is_china500: Mapped[bool] = mapped_column(Boolean, default=False)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    industry: Mapped[str | None] = mapped_column(String(60))
    region: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    people: Mapped[list[EnterpriseContact]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="EnterpriseContact.id"
    )

    @property
    def tag_labels(self) -> list[str]:
        return [str(label) for key, label in TAGS.items() if getattr(self, key)]

    def __str__(self) -> str:
        return self.name


class EnterpriseContact(VersionedMixin, Base):
    """A person at an enterprise the office talks to."""

    __tablename__ = "enterprise_contact"
    __audited__ = True
    # A removed person's id is never given to another (SQLite would reuse the highest): the
    # audit log's rows of one id stay one person's.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship(back_populates="people")
