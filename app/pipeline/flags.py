"""Investment flags: the tiers at 5亿元 and 50亿元 (admin-editable) and the fixed 1亿元 count.

The one place that decides which tier an amount falls into, in Python and in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import g
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.settings import get_settings, put_setting
from app.extensions import db

MAJOR_KEY = "threshold_major_yi"
BIG_KEY = "threshold_big_yi"
DEFAULT_MAJOR = Decimal("5")
DEFAULT_BIG = Decimal("50")
# Public reports also count "projects of 1亿元 and above"; that line is not configurable.
REPORTED_FLOOR = Decimal("1")

TIERS = ("big", "major", "yi")


@dataclass(frozen=True)
class Thresholds:
    """The current tier lines in 亿元."""

    major: Decimal = DEFAULT_MAJOR
    big: Decimal = DEFAULT_BIG

    def floor(self, tier: str) -> Decimal:
        """Return the lower bound of *tier* ("big", "major" or "yi")."""
        return {"big": self.big, "major": self.major, "yi": REPORTED_FLOOR}[tier]

    def tier_of(self, amount: Decimal | None) -> str | None:
        """Return "big", "major" or None for a badge (1亿元+ gets no badge)."""
        if amount is None:
            return None
        if amount >= self.big:
            return "big"
        if amount >= self.major:
            return "major"
        return None

    def label(self, tier: str) -> str:
        """Return the badge text of *tier* with the current line, e.g. "50亿元+"."""
        return _("%(amount)s亿元+", amount=f"{self.floor(tier).normalize():f}")

    def where(self, column: ColumnElement, tier: str) -> ColumnElement[bool]:
        """Return the SQL condition "at or above *tier*" on an amount column."""
        return column >= self.floor(tier)


def load_thresholds(session: Session) -> Thresholds:
    """Read the thresholds in one query, falling back to the defaults."""
    values = get_settings(session, [MAJOR_KEY, BIG_KEY])
    return Thresholds(
        major=Decimal(values.get(MAJOR_KEY, DEFAULT_MAJOR)),
        big=Decimal(values.get(BIG_KEY, DEFAULT_BIG)),
    )


def current_thresholds() -> Thresholds:
    """The thresholds read once per request or command (templates call ``thresholds()``)."""
    if "thresholds" not in g:
        g.thresholds = load_thresholds(db.session)
    return g.thresholds


class ThresholdError(UserError):
    """Thresholds that make no sense; the message is shown to the admin."""


def save_thresholds(session: Session, major: Decimal, big: Decimal) -> Thresholds:
    """Store new tier lines after checking 0 < major < big."""
    if major <= 0 or big <= 0:
        raise ThresholdError(str(_l("门槛必须大于0。")), "major" if major <= 0 else "big")
    if major >= big:
        raise ThresholdError(str(_l("重大项目门槛必须小于大项目门槛。")), "big")
    put_setting(session, MAJOR_KEY, format(major.normalize(), "f"))
    put_setting(session, BIG_KEY, format(big.normalize(), "f"))
    return Thresholds(major=major, big=big)
