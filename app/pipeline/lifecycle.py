"""The lifecycle of a lead or project: stage order, allowed transitions, what a move records.

This is the one place that knows the stages. Everything else (forms, lists, the board, imports,
reports) imports :class:`Stage` and the helpers below instead of re-stating the rules.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from app.core.i18n import gettext
from app.core.i18n import lazy_pgettext as _p


class Stage(enum.StrEnum):
    """线索 → 接洽 → 洽谈 → 签约 → 开工 → 投产 → 达产, with side exits 暂缓 and 终止."""

    LEAD = "lead"
    CONTACTED = "contacted"
    NEGOTIATING = "negotiating"
    SIGNED = "signed"
    CONSTRUCTION = "construction"
    PRODUCTION = "production"
    FULL_PRODUCTION = "full_production"
    ON_HOLD = "on_hold"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return str(STAGE_LABELS[self])

    @property
    def is_main(self) -> bool:
        return self in MAIN_LINE

    @property
    def rank(self) -> int:
        """Position on the main line (side exits rank after it)."""
        return MAIN_LINE.index(self) if self in MAIN_LINE else len(MAIN_LINE)


STAGE_LABELS = {
    Stage.LEAD: _p("stage", "线索"),
    Stage.CONTACTED: _p("stage", "接洽"),
    Stage.NEGOTIATING: _p("stage", "洽谈"),
    Stage.SIGNED: _p("stage", "签约"),
    Stage.CONSTRUCTION: _p("stage", "开工"),
    Stage.PRODUCTION: _p("stage", "投产"),
    Stage.FULL_PRODUCTION: _p("stage", "达产"),
    Stage.ON_HOLD: _p("stage", "暂缓"),
    Stage.DROPPED: _p("stage", "终止"),
}

# How ledgers and people write each stage in Chinese (the labels above, and the usual variants).
STAGE_WORDS: dict[str, Stage] = {
    "线索": Stage.LEAD,
    "接洽": Stage.CONTACTED,
    "已接洽": Stage.CONTACTED,
    "洽谈": Stage.NEGOTIATING,
    "在谈": Stage.NEGOTIATING,
    "签约": Stage.SIGNED,
    "已签约": Stage.SIGNED,
    "开工": Stage.CONSTRUCTION,
    "在建": Stage.CONSTRUCTION,
    "已开工": Stage.CONSTRUCTION,
    "投产": Stage.PRODUCTION,
    "已投产": Stage.PRODUCTION,
    "达产": Stage.FULL_PRODUCTION,
    "已达产": Stage.FULL_PRODUCTION,
    "暂缓": Stage.ON_HOLD,
    "终止": Stage.DROPPED,
    **{s.value: s for s in Stage},
}


def stage_from_word(word: str) -> Stage | None:
    """Return the stage a Chinese stage word (or a stage code) names, or None."""
    return STAGE_WORDS.get(word.strip())


MAIN_LINE: tuple[Stage, ...] = (
    Stage.LEAD,
    Stage.CONTACTED,
    Stage.NEGOTIATING,
    Stage.SIGNED,
    Stage.CONSTRUCTION,
    Stage.PRODUCTION,
    Stage.FULL_PRODUCTION,
)
SIDE_EXITS: tuple[Stage, ...] = (Stage.ON_HOLD, Stage.DROPPED)
ALL_STAGES: tuple[Stage, ...] = MAIN_LINE + SIDE_EXITS
TERMINAL: frozenset[Stage] = frozenset({Stage.FULL_PRODUCTION, Stage.DROPPED})
# Stages whose record is still being worked on (counted as "active" and checked for staleness).
ACTIVE: frozenset[Stage] = frozenset(MAIN_LINE[:-1])
# Milestones: entering one of these sets the matching date on the record.
MILESTONE_FIELDS: dict[Stage, str] = {
    Stage.SIGNED: "signed_on",
    Stage.CONSTRUCTION: "construction_on",
    Stage.PRODUCTION: "production_on",
    Stage.FULL_PRODUCTION: "full_production_on",
}
# A move into one of these stages by an officer waits for a park manager's confirmation.
NEEDS_CONFIRMATION: frozenset[Stage] = frozenset(MILESTONE_FIELDS) | {Stage.DROPPED}
# An active record with no contact for this many days is stale (久未跟进).
STALE_DAYS = 30
# How long a record may sit in a stage before it counts as stalled (days).
MAX_DAYS_IN_STAGE: dict[Stage, int] = {
    Stage.LEAD: 60,
    Stage.CONTACTED: 90,
    Stage.NEGOTIATING: 180,
    Stage.SIGNED: 180,
    Stage.CONSTRUCTION: 540,
    Stage.PRODUCTION: 720,
}


# The stale day of an active record never contacted: it is stale from the start.
NEVER_CONTACTED_STALE_ON = dt.date.min


def stale_on(stage: Stage, last_contact_on: dt.date | None) -> dt.date | None:
    """The first day a record in *stage* last contacted on *last_contact_on* counts as stale
    (STALE_DAYS days without contact while active); None in a stage that is never stale."""
    if stage not in ACTIVE:
        return None
    if last_contact_on is None:
        return NEVER_CONTACTED_STALE_ON
    return last_contact_on + dt.timedelta(days=STALE_DAYS + 1)


def too_long_on(stage: Stage, stage_since: dt.date | None) -> dt.date | None:
    """The first day a record in *stage* since *stage_since* has been there longer than the
    stage allows; None in a stage without a limit (or without its day)."""
    limit = MAX_DAYS_IN_STAGE.get(stage)
    if limit is None or stage_since is None:
        return None
    return stage_since + dt.timedelta(days=limit + 1)


def standing_days(
    stage: Stage, stage_since: dt.date | None, last_contact_on: dt.date | None
) -> dict[str, dt.date | None]:
    """A record's stored ``stale_on`` and ``too_long_on``, from the columns they depend on."""
    return {
        "stale_on": stale_on(stage, last_contact_on),
        "too_long_on": too_long_on(stage, stage_since),
    }


def is_opening(from_stage: Stage | None, to_stage: Stage) -> bool:
    """Whether a stage change opens its record: into 线索 from no stage (its day is the day
    the record was opened)."""
    return from_stage is None and to_stage is Stage.LEAD


def further(furthest: Stage | None, entered: Stage) -> Stage | None:
    """The furthest stage of the main line a record got to, after it entered *entered*: a
    record's ``furthest_stage`` is this folded over its history (side exits leave it)."""
    if not entered.is_main:
        return furthest
    return entered if furthest is None or entered.rank > furthest.rank else furthest


class TransitionError(ValueError):
    """A stage move that the rules forbid; the message is shown to the user."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Step:
    """One row of stage history that a move will write."""

    from_stage: Stage | None
    to_stage: Stage
    effective_on: dt.date
    # The day the record entered from_stage: the stay this row ends ran from_since..effective_on.
    from_since: dt.date | None = None


@dataclass
class Move:
    """What the user asks for: a target stage, its date, dates of skipped stages, a reason."""

    target: Stage
    effective_on: dt.date
    skipped_dates: dict[Stage, dt.date] = field(default_factory=dict)
    reason: str = ""
    note: str = ""


def allowed_targets(current: Stage, held_from: Stage | None = None) -> list[Stage]:
    """Return every stage a record in *current* may move to (skips need their dates)."""
    if current in TERMINAL:
        return []
    if current is Stage.ON_HOLD:
        return [s for s in (held_from, Stage.DROPPED) if s is not None]
    later = list(MAIN_LINE[current.rank + 1 :])
    return later + [Stage.ON_HOLD, Stage.DROPPED]


def skipped_stages(current: Stage, target: Stage) -> list[Stage]:
    """Return the main-line stages passed over by moving from *current* to *target*."""
    if not (current.is_main and target.is_main) or target.rank <= current.rank + 1:
        return []
    return list(MAIN_LINE[current.rank + 1 : target.rank])


def plan_move(
    current: Stage,
    since: dt.date | None,
    move: Move,
    today: dt.date,
    held_from: Stage | None = None,
) -> list[Step]:
    """Check *move* against the rules and return the history rows it will write, oldest first.

    Raises :class:`TransitionError` with a Chinese message when the move is not allowed.
    """
    target = move.target
    if target == current:
        raise TransitionError(gettext("已处于“%(stage)s”阶段。", stage=current.label), "target")
    if target not in allowed_targets(current, held_from):
        raise TransitionError(
            gettext("不能从“%(a)s”变更为“%(b)s”。", a=current.label, b=target.label), "target"
        )
    if move.effective_on > today:
        raise TransitionError(gettext("生效日期不能晚于今天。"), "effective_on")
    if since is not None and move.effective_on < since:
        raise TransitionError(
            gettext("生效日期不能早于上一次阶段变更（%(d)s）。", d=since.isoformat()),
            "effective_on",
        )
    if target is Stage.DROPPED and not move.reason.strip():
        raise TransitionError(gettext("终止须填写原因。"), "reason")

    steps: list[Step] = []
    previous_stage, previous_date = current, since
    for stage in skipped_stages(current, target):
        day = move.skipped_dates.get(stage)
        if day is None:
            raise TransitionError(
                gettext("跳过“%(stage)s”阶段时须填写其日期。", stage=stage.label),
                f"skip_{stage.value}",
            )
        if day > move.effective_on or (previous_date is not None and day < previous_date):
            raise TransitionError(
                gettext("“%(stage)s”的日期须按阶段先后排列，且不晚于生效日期。", stage=stage.label),
                f"skip_{stage.value}",
            )
        steps.append(Step(previous_stage, stage, day, previous_date))
        previous_stage, previous_date = stage, day
    steps.append(Step(previous_stage, target, move.effective_on, previous_date))
    return steps


def fields_after(steps: list[Step]) -> dict[str, object]:
    """Return the record's columns once *steps* (from :func:`plan_move`) are applied.

    The stage and its date, the milestone date of every milestone entered, and ``held_from``
    (set on entering 暂缓, cleared on leaving it): what ``services._apply`` sets on the record, in
    the form a bulk import writes it.
    """
    out: dict[str, object] = {}
    for step in steps:
        if step.to_stage in MILESTONE_FIELDS:
            out[MILESTONE_FIELDS[step.to_stage]] = step.effective_on
        if step.to_stage is Stage.ON_HOLD:
            out["held_from"] = step.from_stage
        elif step.from_stage is Stage.ON_HOLD:
            out["held_from"] = None
    out["stage"] = steps[-1].to_stage
    out["stage_since"] = steps[-1].effective_on
    return out


def needs_confirmation(target: Stage) -> bool:
    """Return whether an officer's move to *target* waits for a park manager."""
    return target in NEEDS_CONFIRMATION
