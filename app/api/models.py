"""Personal API tokens: a user's key for the JSON API, stored only as a hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, UTCDateTime, intpk, utcnow


class ApiToken(Base):
    """A bearer token acting as its owner (same role, same visibility), revocable, may expire.

    The secret itself is shown once and never stored: ``secret_hash`` is the SHA-256 of the
    whole token (a random 256-bit secret needs no slow hash), ``prefix`` finds the row.
    """

    __tablename__ = "api_token"
    __audited__ = True
    # The hash is not worth copying into the audit log; "last used" changes on every call.
    __audit_exclude__ = ("secret_hash", "last_used_at")
    __table_args__ = (Index("ix_api_token_prefix", "prefix"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def is_usable(self, now: dt.datetime) -> bool:
        """Return whether the token may still be used at *now* (not revoked, not expired)."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    @property
    def display(self) -> str:
        """What the token list shows of the secret: its public prefix."""
        return f"crm_{self.prefix}_…"
