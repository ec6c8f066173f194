"""An annual target: a number the district means to reach in a year, per metric and scope."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Money, VersionedMixin, intpk
from app.core.i18n import lazy_gettext as _l
from app.parks.models import Chain, Park
from app.pipeline.lifecycle import Stage


class Metric(enum.StrEnum):
    """What a target counts: projects reaching a milestone in the year, or their investment."""

    SIGNED = "signed"
    CONSTRUCTION = "construction"
    PRODUCTION = "production"
    FULL_PRODUCTION = "full_production"
    SIGNED_INVESTMENT = "signed_investment"

    @property
    def event(self) -> Stage:
        """The milestone whose date decides whether a project counts in a year."""
        return Stage.SIGNED if self is Metric.SIGNED_INVESTMENT else Stage(self.value)

    @property
    def is_amount(self) -> bool:
        """Whether the target is an 亿元 sum rather than a number of projects."""
        return self is Metric.SIGNED_INVESTMENT

    @property
    def label(self) -> str:
        return str(METRIC_LABELS[self])


METRIC_LABELS = {
    Metric.SIGNED: _l("签约项目数"),
    Metric.CONSTRUCTION: _l("开工项目数"),
    Metric.PRODUCTION: _l("投产项目数"),
    Metric.FULL_PRODUCTION: _l("达产项目数"),
    Metric.SIGNED_INVESTMENT: _l("签约项目总投资（亿元）"),
}


class AnnualTarget(VersionedMixin, Base):
    """ "50亿元+ projects signed in 2026: 16", optionally for one park or one chain."""

    __tablename__ = "annual_target"
    __audited__ = True
    __table_args__ = (
        CheckConstraint("(goal_count IS NULL) <> (goal_amount IS NULL)", name="one_goal"),
        CheckConstraint("goal_count IS NULL OR goal_count > 0", name="goal_count_positive"),
        CheckConstraint("goal_amount IS NULL OR goal_amount > 0", name="goal_amount_positive"),
        Index("ix_annual_target_year", "year"),
        # A deleted target's id is never given to another (SQLite would reuse the highest).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[Metric] = mapped_column(
        Enum(
            Metric,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    # "yi", "major" or "big" (app.pipeline.flags.TIERS); None counts projects of any size.
    tier: Mapped[str | None] = mapped_column(String(10))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"))
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chain.id"))
    goal_count: Mapped[int | None] = mapped_column(Integer)
    goal_amount: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200))

    park: Mapped[Park | None] = relationship()
    chain: Mapped[Chain | None] = relationship()

    @property
    def goal(self) -> Decimal:
        """The target in its unit: a number of projects or 亿元."""
        if self.metric.is_amount:
            return self.goal_amount or Decimal(0)
        return Decimal(self.goal_count or 0)
