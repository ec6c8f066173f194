"""The badges that mark a record wherever it is shown: its stage, its investment tier at the
current thresholds (重大项目, 大项目) and "久未联系".

Functions returning markup rather than Jinja macros: lists and boards show them on every row
and card, and a macro call costs several times what these functions do. They build the markup
with f-strings, every interpolated value escaped (three times faster than ``Markup.format``).
Registered as template globals by :mod:`app.pipeline.views`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from markupsafe import Markup, escape

from app.core.i18n import gettext as _
from app.pipeline.flags import current_thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import is_stale


def stage_badge(stage: Stage) -> Markup:
    return Markup(f'<span class="badge stage stage-{stage.value}">{escape(stage.label)}</span>')  # noqa: S704


def _tier(css: str, title: str, label: str) -> Markup:
    return Markup(f'<span class="badge {css}" title="{escape(title)}">{escape(label)}</span>')  # noqa: S704


def tier_badge(amount: Decimal | None) -> Markup:
    """The tier badge of an amount in 亿元, or nothing below the 重大项目 line."""
    thresholds = current_thresholds()
    tier = thresholds.tier_of(amount)
    if tier == "big":
        return _tier("text-bg-danger", _("大项目"), thresholds.label("big"))
    if tier == "major":
        return _tier("text-bg-warning", _("重大项目"), thresholds.label("major"))
    return Markup()


def stale_badge(record: Lead | Project, today: dt.date | None = None) -> Markup:
    if not is_stale(record, today):
        return Markup()
    return Markup(  # noqa: S704
        f'<span class="badge text-bg-secondary" title="{escape(_("30天以上未联系"))}">'
        f'<i class="bi bi-hourglass-split"></i> {escape(_("久未联系"))}</span>'
    )
