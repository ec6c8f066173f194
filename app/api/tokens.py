"""Creating, listing, revoking and checking personal API tokens.

A token reads ``crm_<prefix>_<secret>``: the prefix (8 hex digits) finds the row, the SHA-256
of the whole token is compared in constant time. The token acts as its owner: an inactive
owner, a revoked or an expired token is refused. Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from app.api.models import ApiToken
from app.auth.models import User
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.timeutil import now_utc

TOKEN_PREFIX = "crm_"  # noqa: S105 (not a secret: what every token starts with)
NAME_MAX = 60
MAX_TOKENS_PER_USER = 20
#: "Last used" is written at most this often per token, so reads do not write on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: The lifetimes offered on the token page (days; 0 = no expiry).
LIFETIMES = (30, 90, 365, 0)


class TokenError(UserError):
    """A problem with a token the user asked for."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _split(token: str) -> str | None:
    """Return the prefix of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(prefix) != 8 or not secret or len(token) > 200:
        return None
    return prefix


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """Return the user's tokens, newest first (revoked and expired ones included)."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id)
    return list(session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_token(
    session: Session, user: User, *, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for *user*; return the row and the token text (shown once, never stored)."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("请填写令牌名称。"), "name")
    if len(name) > NAME_MAX:
        raise TokenError(_("内容过长（最多%(n)d字）。", n=NAME_MAX), "name")
    if days is not None and days not in LIFETIMES:
        raise TokenError(_("请选择有效期。"), "days")
    now = now_utc()
    active = [t for t in list_tokens(session, user) if t.is_usable(now)]
    if len(active) >= MAX_TOKENS_PER_USER:
        raise TokenError(
            _("有效令牌最多%(n)d个，请先撤销不再使用的令牌。", n=MAX_TOKENS_PER_USER), "name"
        )
    prefix = secrets.token_hex(4)
    text = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        secret_hash=_hash(text),
        created_at=now,
        expires_at=now + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return token, text


def revoke_token(session: Session, user: User, token: ApiToken) -> None:
    """Revoke one of the user's own tokens (revoking twice changes nothing)."""
    if token.user_id != user.id:
        raise TokenError(_("找不到该令牌。"))
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        session.flush()


def authenticate(session: Session, text: str) -> tuple[ApiToken, User] | None:
    """Return the token and its owner for a bearer token, or None when it must be refused.

    One query loads the token with its owner and his parks (visibility needs them).
    """
    prefix = _split(text)
    if prefix is None:
        return None
    digest = _hash(text)
    candidates = session.scalars(
        select(ApiToken)
        .where(ApiToken.prefix == prefix)
        .options(joinedload(ApiToken.user).selectinload(User.parks))
    ).all()
    now = now_utc()
    for token in candidates:
        if hmac.compare_digest(token.secret_hash, digest):
            if not token.is_usable(now) or not token.user.active:
                return None
            return token, token.user
    return None


def touch(session: Session, token: ApiToken) -> bool:
    """Record that the token was used now (at most once per LAST_USED_RESOLUTION).

    Returns whether a write was made; the caller commits it. A plain UPDATE: "last used"
    is not audited and does not count as a change of the token.
    """
    now = now_utc()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    session.execute(
        update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now),
        execution_options={"synchronize_session": False},
    )
    return True
