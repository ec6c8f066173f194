"""ISO weeks in Asia/Shanghai: the unit a digest covers and the key of its delivery log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.i18n import gettext as _
from app.core.timeutil import LOCAL_TZ, today_local


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week, e.g. 2026-W48 (Monday to Sunday, local calendar)."""

    year: int
    week: int

    @classmethod
    def of(cls, day: dt.date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Read "2026-W48" (or "2026W48"); raise ValueError with a Chinese message otherwise."""
        cleaned = text.strip().upper().replace("-", "")
        try:
            year_text, week_text = cleaned.split("W")
            week = cls(int(year_text), int(week_text))
            week.monday  # noqa: B018 - validates the week number
        except ValueError:
            raise ValueError(f"无法识别的周：{text}，请按 2026-W48 的格式填写") from None
        return week

    @classmethod
    def last_completed(cls, today: dt.date | None = None) -> IsoWeek:
        """Return the week that ended before *today*'s week (what Monday's digest covers)."""
        return cls.of((today or today_local()) - dt.timedelta(days=7))

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    def start_utc(self) -> dt.datetime:
        """Monday 00:00 Asia/Shanghai, as an aware datetime."""
        return dt.datetime.combine(self.monday, dt.time(), LOCAL_TZ)

    def end_utc(self) -> dt.datetime:
        """The following Monday 00:00 Asia/Shanghai (exclusive end)."""
        return self.start_utc() + dt.timedelta(days=7)

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.monday + dt.timedelta(days=7))

    @property
    def label(self) -> str:
        """ "2026年第48周", in the current language."""
        return _("%(year)d年第%(week)d周", year=self.year, week=self.week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
