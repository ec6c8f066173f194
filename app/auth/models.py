"""Users and their roles."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, Enum, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, VersionedMixin, intpk
from app.core.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from app.parks.models import Park


class Role(enum.StrEnum):
    """What a user is in the office; visibility and permissions follow from it."""

    OFFICER = "officer"
    MANAGER = "manager"
    LEADER = "leader"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


# Roles that write (everyone but leaders, who read everything and change nothing).
EDITOR_ROLES: frozenset[Role] = frozenset({Role.OFFICER, Role.MANAGER, Role.ADMIN})

ROLE_LABELS = {
    Role.OFFICER: _l("招商专员"),
    Role.MANAGER: _l("园区负责人"),
    Role.LEADER: _l("领导"),
    Role.ADMIN: _l("系统管理员"),
}


user_park = Table(
    "user_park",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("park_id", ForeignKey("park.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, VersionedMixin, Base):
    """An account: officer, park manager, leader or admin."""

    __tablename__ = "user"
    __audited__ = True
    __audit_exclude__ = ("password_hash",)

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(30))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    # Part of the id kept in every login session and remember-me cookie (see get_id): raising
    # it (a new password) ends all of the user's existing sessions at their next request.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    parks: Mapped[list[Park]] = relationship(secondary=user_park, order_by="Park.sort_order")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: the user and his session version."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """End every existing login session of this user (at each one's next request)."""
        self.session_version = (self.session_version or 1) + 1

    @property
    def park_ids(self) -> set[int]:
        return {p.id for p in self.parks}

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
