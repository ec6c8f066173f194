"""Time rules: store UTC, show Asia/Shanghai; "today" and "this week" are local (ISO weeks)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def to_local(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to Asia/Shanghai."""
    return value.astimezone(LOCAL_TZ)


def today_local(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in Asia/Shanghai."""
    return to_local(now or now_utc()).date()


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """Return Monday and Sunday of the ISO week containing *day*."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def format_date(value: dt.date | dt.datetime | None) -> str:
    """Format a date as YYYY-MM-DD (a datetime is first shown in local time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value).date()
    return value.isoformat()


def format_datetime(value: dt.datetime | None) -> str:
    """Format an aware datetime as YYYY-MM-DD HH:MM in Asia/Shanghai."""
    if value is None:
        return ""
    return to_local(value).strftime("%Y-%m-%d %H:%M")
