"""`flask digests ...`: send the weekly digests, show the delivery log, run the scheduler.

The scheduler is APScheduler 3.x with one cron job (``DIGEST_SCHEDULE``, default Monday 08:00
Asia/Shanghai) and a short-interval job that retries rows whose back-off has passed. On start it
catches up: started after this week's send time, it sends the last completed week at once (the
delivery log makes that harmless when it was already sent), so a late start still sends the
same day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from typing import Any

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth.models import User
from app.core.i18n import in_language_of
from app.core.timeutil import LOCAL_TZ, now_utc, today_local
from app.digests.models import DeliveryStatus, DigestDelivery
from app.digests.weeks import IsoWeek
from app.extensions import db

log = logging.getLogger(__name__)

digests_cli = AppGroup("digests", help="发送每周周报、查看发送记录、运行定时任务。")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKLY_JOB_ID = "weekly-digest"
RETRY_JOB_ID = "digest-retries"
#: A weekly run missed by up to this long (machine asleep, scheduler blocked) still runs.
MISFIRE_GRACE_SECONDS = 20 * 3600


def parse_schedule(text: str) -> tuple[int, dt.time]:
    """Read "mon 08:00" as (weekday 0-6, local time); raise ValueError otherwise."""
    try:
        day_text, time_text = text.strip().lower().split()
        weekday = WEEKDAYS.index(day_text[:3])
        hour_text, minute_text = time_text.split(":")
        at = dt.time(int(hour_text), int(minute_text))
    except ValueError:
        raise ValueError(f"无法识别的发送时间：{text!r}，请按 “mon 08:00” 的格式填写") from None
    return weekday, at


def scheduled_time(now: dt.datetime, schedule: str) -> dt.datetime:
    """This week's send time (Asia/Shanghai) for the week containing *now*."""
    weekday, at = parse_schedule(schedule)
    local = now.astimezone(LOCAL_TZ)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday + dt.timedelta(days=weekday), at, LOCAL_TZ)


def catch_up_due(now: dt.datetime | None = None, schedule: str = "mon 08:00") -> IsoWeek | None:
    """The week to send right away when the scheduler starts at *now*, or None.

    Started after this week's send time, the last completed week is due now (already sent is
    harmless: the delivery log sends nothing twice); started before it, the cron job will send.
    """
    now = now or now_utc()
    if now.astimezone(LOCAL_TZ) < scheduled_time(now, schedule):
        return None
    return IsoWeek.last_completed(today_local(now))


def send_last_week(app: Flask, now: dt.datetime | None = None) -> Any:
    """The weekly job: send the last completed week's digests."""
    from app.digests.delivery import send_week

    with app.app_context():
        week = IsoWeek.last_completed(today_local(now))
        summary = send_week(db.session, week, now=now)
        log.info("weekly digest %s", summary)
        return summary


def retry_due(app: Flask) -> Any:
    """The retry job: send rows of any week whose back-off has passed (creates no rows)."""
    from app.digests.delivery import process_due

    with app.app_context():
        summary = process_due(db.session)
        if summary.counts:
            log.info("digest retries: %s", summary)
        return summary


def build_scheduler(app: Flask, blocking: bool = True) -> BaseScheduler:
    """Return a configured (not started) scheduler: the weekly cron job and the retry job."""
    weekday, at = parse_schedule(app.config["DIGEST_SCHEDULE"])
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(timezone=LOCAL_TZ)
    scheduler.add_job(
        send_last_week,
        CronTrigger(
            day_of_week=WEEKDAYS[weekday], hour=at.hour, minute=at.minute, timezone=LOCAL_TZ
        ),
        args=[app],
        id=WEEKLY_JOB_ID,
        name="每周周报",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        replace_existing=True,
    )
    scheduler.add_job(
        retry_due,
        IntervalTrigger(seconds=max(30.0, float(app.config["DIGEST_RETRY_POLL_SECONDS"]))),
        args=[app],
        id=RETRY_JOB_ID,
        name="周报重试",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return scheduler


def catch_up(app: Flask, now: dt.datetime | None = None) -> Any:
    """Send the last completed week now if this week's send time has passed; else None."""
    week = catch_up_due(now, app.config["DIGEST_SCHEDULE"])
    if week is None:
        return None
    return send_last_week(app, now)


_web_scheduler_lock = threading.Lock()
_web_scheduler: BaseScheduler | None = None


def start_web_scheduler(app: Flask) -> BaseScheduler | None:
    """Development only: run the scheduler inside the web process when DIGEST_SCHEDULER_IN_WEB is
    set. Started only in the serving process of `flask run --debug` (the reloader's child, whose
    WERKZEUG_RUN_MAIN is "true"), never in the reloader's watcher, in tests or in production."""
    global _web_scheduler
    if not app.config.get("DIGEST_SCHEDULER_IN_WEB") or app.testing or not app.debug:
        return None
    if os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    with _web_scheduler_lock:
        if _web_scheduler is not None:
            return None
        scheduler = build_scheduler(app, blocking=False)
        scheduler.start()
        _web_scheduler = scheduler
    threading.Thread(target=catch_up, args=(app,), name="digest-catch-up", daemon=True).start()
    return scheduler


# --- commands ------------------------------------------------------------------------------


def _week_option(value: str | None) -> IsoWeek:
    if not value:
        return IsoWeek.last_completed()
    try:
        return IsoWeek.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _users(names: tuple[str, ...]) -> list[User]:
    users = []
    for name in names:
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None:
            raise click.ClickException(f"没有用户 {name}")
        users.append(user)
    return users


@digests_cli.command("send")
@click.option("--week", "week_text", default=None, help="ISO 周，如 2026-W48（默认：上一周）")
@click.option("--user", "usernames", multiple=True, help="只发给该用户（可多次指定）")
@click.option("--dry-run", is_flag=True, help="只生成并列出，不发送也不记录")
def send_command(week_text: str | None, usernames: tuple[str, ...], dry_run: bool) -> None:
    """Send a week's digests to everyone who has not had it yet."""
    from app.digests.delivery import preference_of, recipients_query, send_week

    week = _week_option(week_text)
    users = _users(usernames) if usernames else None
    ids = [u.id for u in users] if users is not None else None
    if dry_run:
        from app.digests.content import SharedFigures, build_digest
        from app.digests.render import render_digest

        recipients = list(db.session.scalars(recipients_query(ids).order_by(User.id)))
        # The overseers' figures once per scope, the officers' sections once for all of them.
        shared = SharedFigures(recipients)
        base_url = current_app.config["BASE_URL"]
        for user_id in recipients:
            user = db.session.get(User, user_id)
            preference = preference_of(db.session, user_id)
            with in_language_of(user):
                digest = build_digest(db.session, user, week, base_url, shared=shared)
                skipped = not preference.enabled or (
                    digest.is_empty and not preference.send_when_empty
                )
                subject = None if skipped else render_digest(digest).subject
            if subject is None:
                click.echo(f"跳过 {user.username} <{user.email}>")
                continue
            click.echo(f"{user.username} <{user.email}>: {subject}")
        db.session.commit()  # nothing was written: ends the read transaction
        return
    try:
        summary = send_week(db.session, week, user_ids=ids)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(summary))
    if summary.failed:
        raise SystemExit(1)


@digests_cli.command("status")
@click.option("--week", "week_text", default=None, help="ISO 周，如 2026-W48（默认：上一周）")
def status_command(week_text: str | None) -> None:
    """Show a week's delivery log: counts by status and the failed rows."""
    from app.digests.delivery import week_status

    week = _week_option(week_text)
    counts = week_status(db.session, week)
    click.echo(f"{week}（{week.label}）")
    for status, count in counts.items():
        click.echo(f"  {status.value:8} {count}")
    failed = db.session.execute(
        select(User.username, DigestDelivery.attempts, DigestDelivery.last_error)
        .join(User, User.id == DigestDelivery.user_id)
        .where(
            DigestDelivery.iso_year == week.year,
            DigestDelivery.iso_week == week.week,
            DigestDelivery.status == DeliveryStatus.FAILED,
        )
        .order_by(User.username)
    )
    for username, attempts, error in failed:
        click.echo(f"  失败 {username}（{attempts} 次）：{error}")


@digests_cli.command("preview")
@click.argument("username")
@click.option("--week", "week_text", default=None, help="ISO 周，如 2026-W48（默认：上一周）")
def preview_command(username: str, week_text: str | None) -> None:
    """Print the text version of a user's digest (nothing is sent or recorded)."""
    from app.digests.content import build_digest
    from app.digests.render import render_digest

    week = _week_option(week_text)
    (user,) = _users((username,))
    with in_language_of(user):
        rendered = render_digest(
            build_digest(db.session, user, week, current_app.config["BASE_URL"])
        )
    click.echo(f"主题：{rendered.subject}\n")
    click.echo(rendered.text)
    db.session.commit()  # nothing was written: ends the read transaction


@digests_cli.command("scheduler")
def scheduler_command() -> None:
    """Run the weekly digest scheduler in this process (until stopped)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scheduler = build_scheduler(app)
    click.echo(f"周报定时任务：{app.config['DIGEST_SCHEDULE']}（Asia/Shanghai）")
    summary = catch_up(app)
    if summary is not None:
        click.echo(f"补发：{summary}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
