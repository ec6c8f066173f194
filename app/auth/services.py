"""Accounts: password hashing, authentication, creating and changing users."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import Role, User
from app.core.db import escape_like
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.parks.models import Park

_hasher = PasswordHasher()


def configure_hasher(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the argon2id cost parameters (from configuration); older hashes upgrade at login."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


class AccountError(UserError):
    """A user-facing problem with account data."""


def current_hasher() -> PasswordHasher:
    """Return the hasher with the configured cost parameters."""
    return _hasher


def hash_password(password: str) -> str:
    """Hash *password* with argon2id."""
    return _hasher.hash(password)


# Passwords that guessing tries first; refused even though they pass the other rules.
COMMON_PASSWORDS = frozenset(
    {
        "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword1", "qwer1234", "qwerty123",
        "1qaz2wsx", "1q2w3e4r", "a1234567", "a12345678", "abc12345", "abcd1234", "admin123",
        "admin@123", "root1234", "test1234", "iloveyou1", "woaini1314", "zxcv1234",
    }
)  # fmt: skip


def check_password_policy(password: str, username: str | None = None) -> None:
    """Refuse a password that is too short, of one kind of character only, a common one, or
    one that contains the user name. Every place that sets a password calls this."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("密码至少需要%(n)d位。", n=MIN_PASSWORD_LENGTH), "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(_("密码不能超过%(n)d位。", n=MAX_PASSWORD_LENGTH), "password")
    kinds = (
        any(c.isalpha() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(kinds) < 2:
        raise AccountError(_("密码须同时包含字母和数字（或符号）。"), "password")
    if password.lower() in COMMON_PASSWORDS:
        raise AccountError(_("这个密码太常见，容易被猜中，请换一个。"), "password")
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        raise AccountError(_("密码不能包含用户名。"), "password")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with these credentials, upgrading an outdated hash on the way."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None or not user.active:
        # Spend the same time as a real check so that timing does not reveal usernames.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    park_codes: list[str] | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> User:
    """Create an account after checking the name, the password policy and the parks."""
    username = username.strip()
    if not username:
        raise AccountError(_("用户名不能为空。"), "username")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise AccountError(_("用户名“%(name)s”已被使用。", name=username), "username")
    check_password_policy(password, username)
    parks = resolve_parks(session, park_codes or [])
    if role is Role.MANAGER and not parks:
        raise AccountError(_("园区负责人至少需要负责一个园区。"), "parks")
    user = User(
        username=username,
        full_name=full_name.strip() or username,
        role=role,
        password_hash=hash_password(password),
        email=email or None,
        phone=phone or None,
        parks=parks if role is Role.MANAGER else [],
    )
    session.add(user)
    session.flush()
    return user


def resolve_parks(session: Session, codes: list[str]) -> list[Park]:
    """Return the parks with these codes, or fail naming the unknown ones."""
    wanted = [c.strip().upper() for c in codes if c.strip()]
    parks = list(session.scalars(select(Park).where(Park.code.in_(wanted)))) if wanted else []
    unknown = sorted(set(wanted) - {p.code for p in parks})
    if unknown:
        raise AccountError(_("未知的园区代码：%(codes)s", codes="、".join(unknown)), "parks")
    return parks


def update_user(
    session: Session,
    user: User,
    *,
    full_name: str,
    role: Role,
    parks: list[Park],
    email: str | None,
    phone: str | None,
    active: bool,
    acting: User,
) -> User:
    """Change an account; an admin cannot demote or disable himself."""
    if user.id == acting.id and (role is not Role.ADMIN or not active):
        raise AccountError(_("不能取消自己的管理员身份或停用自己的账号。"), "role")
    if role is Role.MANAGER and not parks:
        raise AccountError(_("园区负责人至少需要负责一个园区。"), "parks")
    user.full_name = full_name.strip() or user.username
    user.role = role
    user.parks = parks if role is Role.MANAGER else []
    user.email = email or None
    user.phone = phone or None
    if user.active and not active:
        user.end_sessions()
    user.active = active
    return user


def set_password(user: User, password: str) -> None:
    """Give *user* a new password after checking the policy; his other sessions end."""
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    user.end_sessions()


# --- owners: the people records can belong to ------------------------------------------------

# Everyone who owns or has owned records: officers and park managers, in office or not.
OWNER_ROLES = (Role.OFFICER, Role.MANAGER)
SUGGEST_LIMIT = 20
_NAME_LENGTH = User.__table__.c.full_name.type.length or 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class OwnerChoice:
    """One possible owner as the owner filter offers it: enough to tell namesakes apart."""

    id: int
    name: str
    role: Role
    active: bool
    parks: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Role, the parks of a manager, and whether the account is disabled."""
        parts = [self.role.label]
        if self.parks:
            parts.append("、".join(self.parks))
        if not self.active:
            parts.append(_("已停用"))
        return " · ".join(parts)


def clean_name_text(text: str) -> str:
    """Typed name text without control characters (PostgreSQL refuses NUL) and outer spaces."""
    return _CONTROL.sub("", text).strip()


def suggest_owners(
    session: Session, text: str, limit: int = SUGGEST_LIMIT, *, park_id: int | None = None
) -> list[OwnerChoice]:
    """Officers and park managers whose full name contains *text* or whose username starts with
    it (case-insensitive), at most *limit*: exact names first, then officers before managers,
    each by name. Disabled accounts are included (they may still own records); with *park_id*,
    only those a record of that park may be given to: active officers and the park's active
    managers."""
    text = clean_name_text(text)[:_NAME_LENGTH]
    if not text:
        return []
    pattern = escape_like(text.lower())
    stmt = (
        select(User)
        .where(
            owner_condition(park_id),
            or_(
                func.lower(User.full_name).like(f"%{pattern}%", escape="\\"),
                func.lower(User.username).like(f"{pattern}%", escape="\\"),
            ),
        )
        .options(selectinload(User.parks))
        .order_by(
            case((User.full_name == text, 0), else_=1),
            User.role.desc(),  # "officer" sorts after "manager"
            User.full_name,
            User.id,
        )
        .limit(limit)
    )
    return [
        OwnerChoice(
            id=user.id,
            name=user.full_name,
            role=user.role,
            active=user.active,
            parks=tuple(p.name for p in user.parks) if user.role is Role.MANAGER else (),
        )
        for user in session.scalars(stmt)
    ]


def owner_condition(park_id: int | None = None) -> ColumnElement[bool]:
    """Officers and park managers (every one: they may own records); with *park_id*, the ones a
    record of that park may be given to: active officers and the park's active managers."""
    if park_id is None:
        return User.role.in_(OWNER_ROLES)
    return and_(
        User.active.is_(True),
        or_(
            User.role == Role.OFFICER,
            and_(User.role == Role.MANAGER, User.parks.any(Park.id == park_id)),
        ),
    )


def owner_ids_named(session: Session, name: str, *, park_id: int | None = None) -> list[int]:
    """Ids of the officers and park managers whose full name is exactly *name* (*park_id*: as
    for :func:`suggest_owners`)."""
    name = clean_name_text(name)
    if not name or len(name) > _NAME_LENGTH:
        return []
    stmt = select(User.id).where(owner_condition(park_id), User.full_name == name).order_by(User.id)
    return list(session.scalars(stmt))
