"""Sending the weekly digests over SMTP: once per recipient and week, claimed before sending.

The delivery log (:class:`~app.digests.models.DigestDelivery`) holds one row per recipient and
ISO week, enforced by a unique constraint. A run

1. creates the week's missing rows with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
   (so two processes starting together create each row once);
2. claims each due row with one conditional ``UPDATE ... WHERE id = :id AND <still claimable>``
   and commits: a row count of 1 means this process owns the row, 0 that another one took it;
3. builds and renders the digest, sends it, and records the outcome in its own commit.

A row is due when it is pending (and its back-off, if any, has passed) or when it is "sending"
with a claim older than ``DIGEST_CLAIM_LEASE_SECONDS``: a sender that died. Every claim counts
as an attempt; an SMTP error (or a bug while building one digest) puts the row back to pending
with an exponential back-off, and after ``DIGEST_MAX_ATTEMPTS`` marks it failed with the error.

One run builds all its digests with one :class:`~app.digests.content.SharedFigures`: what a
leader's or an admin's digest shows of the district, and a manager's of his parks, is computed
for the first recipient of that scope and reused for the others in the same run (so a run reads
each scope as it was when that scope's first digest was built). Each pass tells it the
recipients of the rows it found due, and the first officer's digest reads the sections of every
announced officer at once, each officer's part handed to his own digest (a retry of the same
officer in a later pass reads his part again). Nothing else is shared: every row is still
claimed, built, sent and recorded in transactions of its own, and a digest that fails to build
fails only its own row (figures that failed are computed again for the next recipient).

The one case this accepts: the SMTP server accepted a message and the process died before it
recorded "sent". When the lease expires the row is claimed again and that recipient gets the
digest a second time. Losing a digest silently is worse than a rare duplicate (see README).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import and_, false, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.core.db import UTCDateTime, utcnow
from app.core.i18n import in_language_of
from app.core.timeutil import today_local
from app.digests.models import DeliveryStatus, DigestDelivery, DigestPreference
from app.digests.weeks import IsoWeek

if TYPE_CHECKING:
    from app.digests.content import SharedFigures

log = logging.getLogger(__name__)

#: Everyone with a role receives a digest (the content differs by role).
RECIPIENT_ROLES = (Role.OFFICER, Role.MANAGER, Role.LEADER, Role.ADMIN)

Clock = Callable[[], dt.datetime]


@dataclass
class Summary:
    """What one run did, counted by outcome."""

    week: IsoWeek | None = None
    created: int = 0
    counts: Counter = field(default_factory=Counter)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def sent(self) -> int:
        return self.counts["sent"]

    @property
    def skipped(self) -> int:
        return self.counts["skipped"]

    @property
    def retrying(self) -> int:
        return self.counts["retry"]

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    @property
    def lost_claims(self) -> int:
        """Rows another sender claimed first (nothing to do for this one)."""
        return self.counts["taken"]

    def __str__(self) -> str:
        week = f"{self.week} " if self.week else ""
        return (
            f"{week}新建 {self.created}，已发送 {self.sent}，跳过 {self.skipped}，"
            f"待重试 {self.retrying}，失败 {self.failed}"
        )


# --- SMTP ----------------------------------------------------------------------------------


class Mailer:
    """One SMTP connection per run, opened on first use and reopened after an error."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
        timeout = float(cfg.get("MAIL_TIMEOUT", 30))
        if cfg.get("MAIL_USE_SSL"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            # The connection is still good; only this message was refused.
            self._reset()
            raise
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def build_message(config: Any, user: User, rendered: Any, week: IsoWeek) -> EmailMessage:
    """Return the e-mail for *user*: a plain-text part and an HTML alternative, UTF-8 subject."""
    sender = config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = formataddr((user.full_name or "", user.email or ""))
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(f"digest.{week}.{user.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-CRM-Digest-Week"] = str(week)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


# --- the delivery log ----------------------------------------------------------------------


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"unsupported database for the digest log: {name}")


def recipients_query(user_ids: Iterable[int] | None = None) -> Any:
    """Active users with an e-mail address and a role that receives digests."""
    stmt = select(User.id).where(
        User.active.is_(True),
        User.email.is_not(None),
        User.email != "",
        User.role.in_(RECIPIENT_ROLES),
    )
    if user_ids is not None:
        stmt = stmt.where(User.id.in_(list(user_ids)))
    return stmt


def ensure_rows(
    session: Session, week: IsoWeek, now: dt.datetime, user_ids: Iterable[int] | None = None
) -> int:
    """Create the pending row of every recipient of *week* that has none; commit; return how
    many were created. One statement, so concurrent runs create each row exactly once."""
    table = DigestDelivery.__table__
    source = recipients_query(user_ids).add_columns(
        literal(week.year).label("iso_year"),
        literal(week.week).label("iso_week"),
        literal(DeliveryStatus.PENDING.value).label("status"),
        literal(0).label("attempts"),
        literal(now, UTCDateTime).label("created_at"),
        literal(now, UTCDateTime).label("updated_at"),
    )
    columns = ["user_id", "iso_year", "iso_week", "status", "attempts", "created_at", "updated_at"]
    stmt = (
        _dialect_insert(session)(table)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["user_id", "iso_year", "iso_week"])
        # RETURNING lists the rows really inserted (the driver's rowcount is not reliable
        # for INSERT ... SELECT on every database).
        .returning(table.c.id)
    )
    created = len(session.execute(stmt).all())
    session.commit()
    return created


def claimable(now: dt.datetime, lease_seconds: float) -> Any:
    """The SQL condition of a row a sender may take now."""
    expired = now - dt.timedelta(seconds=lease_seconds)
    t = DigestDelivery
    return or_(
        and_(
            t.status == DeliveryStatus.PENDING,
            or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now),
        ),
        and_(t.status == DeliveryStatus.SENDING, t.claimed_at < expired),
    )


def claim(session: Session, row_id: int, now: dt.datetime, lease_seconds: float) -> str | None:
    """Take row *row_id* if it is still claimable; commit; return the claim token or None."""
    token = secrets.token_hex(16)
    result = session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == row_id, claimable(now, lease_seconds))
        .values(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=DigestDelivery.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return token if result.rowcount == 1 else None


def _finish(session: Session, row_id: int, token: str, **values: Any) -> bool:
    """Record the outcome of the claim *token* holds; False if the claim was lost meanwhile."""
    result = session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == row_id, DigestDelivery.claim_token == token)
        .values(claim_token=None, **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:
        log.warning("digest delivery %s: claim lost before recording %s", row_id, values)
        return False
    return True


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {text}"


def _error_text(exc: BaseException) -> str:
    """The error as an admin reads it, e.g. "SMTPDataError: 451 4.3.0 Try again later"."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(
            f"{rcpt}: {_reply(code, message)}" for rcpt, (code, message) in exc.recipients.items()
        )
    elif isinstance(exc, smtplib.SMTPResponseException):
        detail = _reply(exc.smtp_code, exc.smtp_error)
    else:
        detail = str(exc)
    return f"{type(exc).__name__}: {detail}"[:2000]


@dataclass
class _Settings:
    max_attempts: int
    retry_base: float
    lease: float

    @classmethod
    def of(cls, config: Any) -> _Settings:
        return cls(
            max_attempts=max(1, int(config["DIGEST_MAX_ATTEMPTS"])),
            retry_base=float(config["DIGEST_RETRY_BASE_SECONDS"]),
            lease=float(config["DIGEST_CLAIM_LEASE_SECONDS"]),
        )


def _failure(
    session: Session, row: Any, token: str, exc: BaseException, now: dt.datetime, s: _Settings
) -> str:
    """Back off and retry later, or give up after the last attempt; return the outcome."""
    error = _error_text(exc)
    if row.attempts >= s.max_attempts:
        _finish(
            session,
            row.id,
            token,
            status=DeliveryStatus.FAILED,
            last_error=error,
            next_attempt_at=None,
            updated_at=now,
        )
        return "failed"
    delay = s.retry_base * 2 ** max(row.attempts - 1, 0)
    _finish(
        session,
        row.id,
        token,
        status=DeliveryStatus.PENDING,
        last_error=error,
        next_attempt_at=now + dt.timedelta(seconds=delay),
        updated_at=now,
    )
    return "retry"


def _deliver_one(
    session: Session,
    row_id: int,
    token: str,
    mailer: Mailer,
    clock: Clock,
    s: _Settings,
    shared: SharedFigures | None = None,
) -> str:
    """Build, render and send one claimed row; record the outcome; return it. *shared* holds
    what the run's earlier digests computed (see the module docstring)."""
    from app.digests.content import build_digest
    from app.digests.render import render_digest

    config = current_app.config
    row = session.execute(
        select(
            DigestDelivery.id,
            DigestDelivery.user_id,
            DigestDelivery.attempts,
            DigestDelivery.iso_year,
            DigestDelivery.iso_week,
        ).where(DigestDelivery.id == row_id)
    ).one()
    week = IsoWeek(row.iso_year, row.iso_week)
    try:
        user = session.get(User, row.user_id)
        preference = session.get(DigestPreference, row.user_id)
        if user is None or not user.active or not user.email:
            session.commit()
            _finish(session, row.id, token, status=DeliveryStatus.SKIPPED, updated_at=clock())
            return "skipped"
        if preference is not None and not preference.enabled:
            session.commit()
            _finish(session, row.id, token, status=DeliveryStatus.SKIPPED, updated_at=clock())
            return "skipped"
        # In the recipient's language (the shared figures are kept per language).
        with in_language_of(user):
            digest = build_digest(
                session, user, week, config["BASE_URL"], today=today_local(clock()), shared=shared
            )
            unwanted = digest.is_empty and preference is not None and not preference.send_when_empty
            rendered = None if unwanted else render_digest(digest)
        if rendered is None:
            session.commit()
            _finish(session, row.id, token, status=DeliveryStatus.SKIPPED, updated_at=clock())
            return "skipped"
        message = build_message(config, user, rendered, week)
        # End the read transaction before talking to the mail server.
        session.commit()
    except Exception as exc:
        log.exception("digest for user %s, week %s could not be built", row.user_id, week)
        session.rollback()
        return _failure(session, row, token, exc, clock(), s)
    try:
        mailer.send(message)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("digest for user %s, week %s not sent: %s", row.user_id, week, exc)
        return _failure(session, row, token, exc, clock(), s)
    now = clock()
    _finish(
        session,
        row.id,
        token,
        status=DeliveryStatus.SENT,
        sent_at=now,
        last_error=None,
        next_attempt_at=None,
        updated_at=now,
    )
    return "sent"


def process_due(
    session: Session,
    *,
    week: IsoWeek | None = None,
    user_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Claim and send every due row (of *week*, or of any week), retrying within this run those
    whose back-off has already passed; return what happened."""
    from app.digests.content import SharedFigures

    config = current_app.config
    settings = _Settings.of(config)
    clock: Clock = (lambda: now) if now is not None else utcnow
    summary = summary or Summary(week=week)
    session.commit()  # each claim starts a transaction of its own (see the module docstring)
    ids = list(user_ids) if user_ids is not None else None
    shared = SharedFigures()  # one per run: what the digests of a scope have in common
    with Mailer(config) as mailer:
        # Each pass takes every row due at its start; a row whose back-off has passed comes
        # round again in the next pass. Every claim counts an attempt, so passes are bounded.
        for _pass in range(settings.max_attempts + 1):
            stmt = select(
                DigestDelivery.id,
                DigestDelivery.user_id,
                DigestDelivery.iso_year,
                DigestDelivery.iso_week,
            ).where(claimable(clock(), settings.lease))
            if week is not None:
                stmt = stmt.where(
                    DigestDelivery.iso_year == week.year, DigestDelivery.iso_week == week.week
                )
            if ids is not None:
                stmt = stmt.where(DigestDelivery.user_id.in_(ids) if ids else false())
            due = session.execute(stmt.order_by(DigestDelivery.id)).all()
            session.commit()
            if not due:
                break
            # The officers among them have their sections read together (see SharedFigures).
            for _, user_id, year, number in due:
                shared.expect((user_id,), IsoWeek(year, number))
            for row_id, *_ in due:
                token = claim(session, row_id, clock(), settings.lease)
                if token is None:
                    summary.add("taken")
                    continue
                summary.add(_deliver_one(session, row_id, token, mailer, clock, settings, shared))
    return summary


def send_week(
    session: Session,
    week: IsoWeek,
    *,
    now: dt.datetime | None = None,
    user_ids: Iterable[int] | None = None,
) -> Summary:
    """Send *week*'s digest to every recipient who has not had it yet; safe to run again and
    from several processes at once. Refuses a week that has not ended yet."""
    moment = now or utcnow()
    if week.end_utc() > moment:
        raise ValueError(f"{week} 尚未结束，不能发送该周的周报")
    ids = list(user_ids) if user_ids is not None else None
    summary = Summary(week=week)
    session.commit()  # the INSERT starts a transaction of its own
    summary.created = ensure_rows(session, week, moment, ids)
    return process_due(session, week=week, user_ids=ids, now=now, summary=summary)


def retry_failed(session: Session, row_id: int, now: dt.datetime | None = None) -> bool:
    """Put a failed row back to pending with fresh attempts (flushed, not committed)."""
    result = session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == row_id, DigestDelivery.status == DeliveryStatus.FAILED)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=None,
            claim_token=None,
            updated_at=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def week_status(session: Session, week: IsoWeek) -> dict[DeliveryStatus, int]:
    """Count *week*'s rows by status."""
    rows = session.execute(
        select(DigestDelivery.status, func.count())
        .where(DigestDelivery.iso_year == week.year, DigestDelivery.iso_week == week.week)
        .group_by(DigestDelivery.status)
    )
    counts = {status: count for status, count in rows}
    return {status: counts.get(status, 0) for status in DeliveryStatus}


def recent_weeks(session: Session, limit: int = 26) -> list[tuple[IsoWeek, dict]]:
    """Count the rows of the latest *limit* weeks by status, newest week first (one query)."""
    rows = session.execute(
        select(
            DigestDelivery.iso_year, DigestDelivery.iso_week, DigestDelivery.status, func.count()
        ).group_by(DigestDelivery.iso_year, DigestDelivery.iso_week, DigestDelivery.status)
    )
    weeks: dict[IsoWeek, dict[DeliveryStatus, int]] = {}
    for year, number, status, count in rows:
        counts = weeks.setdefault(IsoWeek(year, number), dict.fromkeys(DeliveryStatus, 0))
        counts[status] = count
    return sorted(weeks.items(), reverse=True)[:limit]


def unsent_rows(session: Session, week: IsoWeek) -> list[tuple[DigestDelivery, User]]:
    """Return *week*'s rows that were not sent, with their recipients."""
    return list(
        session.execute(
            select(DigestDelivery, User)
            .join(User, User.id == DigestDelivery.user_id)
            .where(
                DigestDelivery.iso_year == week.year,
                DigestDelivery.iso_week == week.week,
                DigestDelivery.status != DeliveryStatus.SENT,
            )
            .order_by(DigestDelivery.status, User.username)
        )
    )


def preference_of(session: Session, user_id: int) -> DigestPreference:
    """Return *user_id*'s preference, or the defaults (not added to the session)."""
    found = session.get(DigestPreference, user_id)
    return found or DigestPreference(user_id=user_id, enabled=True, send_when_empty=True)


def save_preference(
    session: Session, user_id: int, *, enabled: bool, send_when_empty: bool
) -> DigestPreference:
    """Store *user_id*'s choice (flushed by the caller's commit)."""
    preference = session.get(DigestPreference, user_id)
    if preference is None:
        preference = DigestPreference(user_id=user_id)
        session.add(preference)
    preference.enabled = enabled
    preference.send_when_empty = send_when_empty
    session.flush()
    return preference


__all__ = [
    "Mailer",
    "Summary",
    "build_message",
    "claim",
    "ensure_rows",
    "preference_of",
    "process_due",
    "recent_weeks",
    "retry_failed",
    "save_preference",
    "send_week",
    "unsent_rows",
    "week_status",
]
