"""The digest delivery log (one row per recipient and ISO week) and each user's digest choice.

The unique constraint on (user_id, iso_year, iso_week) is what makes "never sent twice"
hold across processes: rows are created with INSERT ... ON CONFLICT DO NOTHING and claimed with
a conditional UPDATE before anything is sent (see :mod:`app.digests.delivery`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, intpk, utcnow
from app.core.i18n import lazy_gettext as _l


class DeliveryStatus(enum.StrEnum):
    """Where one recipient's digest for one week stands."""

    PENDING = "pending"  # to send (first time, or a retry once next_attempt_at has passed)
    SENDING = "sending"  # claimed by a sender; a lease older than the claim lease means a crash
    SENT = "sent"
    FAILED = "failed"  # gave up after DIGEST_MAX_ATTEMPTS; an admin may retry it
    SKIPPED = "skipped"  # opted out, or nothing to report and no "nothing new" digest wanted

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("待发送"),
    DeliveryStatus.SENDING: _l("发送中"),
    DeliveryStatus.SENT: _l("已发送"),
    DeliveryStatus.FAILED: _l("发送失败"),
    DeliveryStatus.SKIPPED: _l("未发送（已退订或无内容）"),
}


class DigestDelivery(Base):
    """One recipient's digest for one ISO week: its status, attempts and last error."""

    __tablename__ = "digest_delivery"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # One row per recipient and week, enforced by the database; the admin page and the sender
    # read a week's rows by (iso_year, iso_week, status).
    __table_args__ = (
        UniqueConstraint("user_id", "iso_year", "iso_week"),
        Index("ix_digest_delivery_week", "iso_year", "iso_week", "status"),
    )

    @property
    def week_text(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"

    def __repr__(self) -> str:
        return f"<DigestDelivery user={self.user_id} {self.week_text} {self.status}>"


class DigestPreference(Base):
    """A user's choice: receive the weekly digest at all, and when there is nothing new."""

    __tablename__ = "digest_preference"
    __audited__ = True

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    send_when_empty: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def id(self) -> int:  # the audit log names a record by its ``id``
        return self.user_id
