"""The weekly schedule: a Monday 08:00 Asia/Shanghai cron job, a catch-up for late starts, and
the `flask digests` commands."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger

from app.auth.models import User
from app.core.timeutil import LOCAL_TZ
from app.digests.cli import (
    MISFIRE_GRACE_SECONDS,
    RETRY_JOB_ID,
    WEEKLY_JOB_ID,
    build_scheduler,
    catch_up,
    catch_up_due,
    parse_schedule,
    start_web_scheduler,
)
from app.digests.models import DeliveryStatus
from app.digests.weeks import IsoWeek

# A Monday, and the week before it.
MONDAY = dt.date.fromisocalendar(*IsoWeek.last_completed().next().monday.isocalendar()[:2], 1)
PREVIOUS = IsoWeek.of(MONDAY - dt.timedelta(days=7))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), LOCAL_TZ)


@pytest.fixture
def people(world: Any, session: Any) -> list[User]:
    users = [world.officer, world.manager, world.leader]
    for user in users:
        user.email = f"{user.username}@crm.test"
    session.flush()
    return users


def test_parse_schedule() -> None:
    assert parse_schedule("mon 08:00") == (0, dt.time(8, 0))
    assert parse_schedule(" Tue 9:30 ") == (1, dt.time(9, 30))
    for bad in ("monday", "xyz 08:00", "mon 25:00", ""):
        with pytest.raises(ValueError, match="无法识别"):
            parse_schedule(bad)


def test_catch_up_after_a_missed_send_time() -> None:
    # Started at 10:00 on Monday, after the missed 08:00: the week that just ended is due.
    assert catch_up_due(local(MONDAY, 10)) == PREVIOUS
    assert catch_up_due(local(MONDAY, 8)) == PREVIOUS
    # Later in the week as well (harmless when already sent: the log sends nothing twice).
    assert catch_up_due(local(MONDAY + dt.timedelta(days=6), 23, 59)) == PREVIOUS
    # Before the send time the cron job will do it.
    assert catch_up_due(local(MONDAY, 7, 59)) is None
    assert catch_up_due(local(MONDAY, 10), "tue 09:30") is None
    assert catch_up_due(local(MONDAY + dt.timedelta(days=1), 9, 30), "tue 09:30") == PREVIOUS


def test_catch_up_uses_local_time_not_utc() -> None:
    # Monday 07:00 in Shanghai is Sunday 23:00 UTC: not yet due. 09:00 local is 01:00 UTC.
    assert catch_up_due(local(MONDAY, 7).astimezone(dt.UTC)) is None
    assert catch_up_due(local(MONDAY, 9).astimezone(dt.UTC)) == PREVIOUS


def test_the_weekly_job_is_a_monday_0800_shanghai_cron_with_coalescing(app: Any) -> None:
    scheduler = build_scheduler(app)
    job = scheduler.get_job(WEEKLY_JOB_ID)
    assert isinstance(job.trigger, CronTrigger)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "8", "0")
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 12 * 3600
    fire = job.trigger.get_next_fire_time(None, local(MONDAY - dt.timedelta(days=2), 12))
    assert fire == local(MONDAY, 8)
    assert fire.utcoffset() == dt.timedelta(hours=8)
    assert scheduler.get_job(RETRY_JOB_ID) is not None


def test_the_schedule_is_configurable(app: Any, set_config: Any) -> None:
    set_config(DIGEST_SCHEDULE="fri 17:30")
    job = build_scheduler(app).get_job(WEEKLY_JOB_ID)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("fri", "17", "30")


def test_a_late_start_still_sends_the_same_day(
    app: Any, session: Any, people: list[User], inbox: Any
) -> None:
    late = local(MONDAY, 10)
    if late > dt.datetime.now(dt.UTC) + dt.timedelta(days=7):
        pytest.skip("clock far behind")
    summary = catch_up(app, now=late)

    assert summary is not None and summary.week == PREVIOUS
    assert summary.sent == 3
    assert inbox.recipients == sorted(u.email for u in people)
    assert inbox.messages[0]["Subject"] == f"招商周报 {PREVIOUS.label}"
    # Started again that day: nothing is sent twice.
    assert catch_up(app, now=late + dt.timedelta(hours=1)).sent == 0
    # Started early the next Monday: the cron job will send, nothing happens now.
    assert catch_up(app, now=local(MONDAY + dt.timedelta(days=7), 7)) is None
    assert len(inbox.messages) == 3


def test_the_scheduler_is_not_started_inside_the_web_app_in_tests(app: Any) -> None:
    assert start_web_scheduler(app) is None


def test_send_and_status_commands(
    runner: Any, session: Any, people: list[User], inbox: Any
) -> None:
    week = PREVIOUS
    result = runner.invoke(args=["digests", "send", "--week", str(week), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"招商周报 {week.label}" in result.output
    assert inbox.messages == []

    result = runner.invoke(args=["digests", "send", "--week", str(week), "--user", "leader"])
    assert result.exit_code == 0, result.output
    assert inbox.recipients == ["leader@crm.test"]

    result = runner.invoke(args=["digests", "send", "--week", str(week)])
    assert result.exit_code == 0, result.output
    assert "已发送 2" in result.output
    assert len(inbox.messages) == 3

    result = runner.invoke(args=["digests", "status", "--week", str(week)])
    assert result.exit_code == 0, result.output
    assert f"{DeliveryStatus.SENT.value:8} 3" in result.output

    result = runner.invoke(args=["digests", "send", "--week", "2026-W99"])
    assert result.exit_code != 0
    assert "无法识别的周" in result.output

    result = runner.invoke(args=["digests", "preview", "leader", "--week", str(week)])
    assert result.exit_code == 0, result.output
    assert f"招商周报 {week.label}" in result.output


def test_the_web_scheduler_starts_once_in_the_reloaders_serving_process(
    app: Any, set_config: Any, monkeypatch: Any
) -> None:
    import app.digests.cli as cli

    started: list[Any] = []
    monkeypatch.setattr(cli, "catch_up", lambda app, now=None: started.append(app))
    monkeypatch.setattr(cli, "_web_scheduler", None)
    set_config(DIGEST_SCHEDULER_IN_WEB=True, TESTING=False, DEBUG=True)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert cli.start_web_scheduler(app) is None  # the reloader's watcher process

    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    scheduler = cli.start_web_scheduler(app)
    try:
        assert scheduler is not None and scheduler.running
        assert scheduler.get_job(WEEKLY_JOB_ID) is not None
        assert cli.start_web_scheduler(app) is None  # never a second one
    finally:
        scheduler.shutdown(wait=False)
