"""The stage rules of leads and projects, as pure functions: no database, no request.

线索 → 接洽 → 洽谈 → 签约 → 开工 → 投产 → 达产, with the side exits 暂缓 and 终止.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.pipeline.lifecycle import (
    ACTIVE,
    MAIN_LINE,
    MILESTONE_FIELDS,
    TERMINAL,
    Move,
    Stage,
    Step,
    TransitionError,
    allowed_targets,
    needs_confirmation,
    plan_move,
    skipped_stages,
)

TODAY = dt.date(2026, 5, 20)
SINCE = dt.date(2026, 3, 1)

L, C, N, S, K, P, F, H, D = (
    Stage.LEAD,
    Stage.CONTACTED,
    Stage.NEGOTIATING,
    Stage.SIGNED,
    Stage.CONSTRUCTION,
    Stage.PRODUCTION,
    Stage.FULL_PRODUCTION,
    Stage.ON_HOLD,
    Stage.DROPPED,
)


def day(n: int) -> dt.date:
    """Return SINCE + n days."""
    return SINCE + dt.timedelta(days=n)


# --- the stages themselves ------------------------------------------------------------------


def test_stage_labels_are_chinese_and_main_line_is_ordered() -> None:
    assert [s.label for s in MAIN_LINE] == ["线索", "接洽", "洽谈", "签约", "开工", "投产", "达产"]
    assert H.label == "暂缓" and D.label == "终止"
    assert [s.rank for s in MAIN_LINE] == list(range(7))
    assert H.rank == D.rank == len(MAIN_LINE)
    assert all(s.is_main for s in MAIN_LINE) and not H.is_main and not D.is_main


def test_terminal_and_active_sets() -> None:
    assert frozenset({F, D}) == TERMINAL
    assert frozenset({L, C, N, S, K, P}) == ACTIVE
    assert {S: "signed_on", K: "construction_on", P: "production_on"}.items() <= (
        MILESTONE_FIELDS.items()
    )
    assert MILESTONE_FIELDS[F] == "full_production_on"


@pytest.mark.parametrize(
    ("target", "expected"),
    [(L, False), (C, False), (N, False), (H, False), (S, True), (K, True), (P, True), (F, True)]
    + [(D, True)],
)
def test_needs_confirmation_for_milestones_and_dropping(target: Stage, expected: bool) -> None:
    assert needs_confirmation(target) is expected


# --- allowed targets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (L, [C, N, S, K, P, F, H, D]),
        (C, [N, S, K, P, F, H, D]),
        (N, [S, K, P, F, H, D]),
        (S, [K, P, F, H, D]),
        (K, [P, F, H, D]),
        (P, [F, H, D]),
        (F, []),
        (D, []),
    ],
)
def test_allowed_targets_of_every_stage(current: Stage, expected: list[Stage]) -> None:
    assert allowed_targets(current) == expected


@pytest.mark.parametrize("current", [L, C, N, S, K, P])
def test_no_way_back_on_the_main_line(current: Stage) -> None:
    targets = allowed_targets(current)
    assert current not in targets
    assert not [t for t in targets if t.is_main and t.rank <= current.rank]


@pytest.mark.parametrize("held_from", [L, C, N, S, K, P])
def test_on_hold_resumes_only_to_the_stage_it_was_held_from(held_from: Stage) -> None:
    assert allowed_targets(H, held_from) == [held_from, D]


def test_on_hold_without_a_known_stage_may_only_be_dropped() -> None:
    assert allowed_targets(H) == [D]


@pytest.mark.parametrize("current", [F, D])
@pytest.mark.parametrize("held_from", [None, N])
def test_terminal_stages_have_no_targets(current: Stage, held_from: Stage | None) -> None:
    assert allowed_targets(current, held_from) == []


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (L, C, []),
        (L, N, [C]),
        (L, S, [C, N]),
        (L, F, [C, N, S, K, P]),
        (N, K, [S]),
        (S, F, [K, P]),
        (C, H, []),
        (N, D, []),
        (H, N, []),
    ],
)
def test_skipped_stages(current: Stage, target: Stage, expected: list[Stage]) -> None:
    assert skipped_stages(current, target) == expected


# --- plan_move: the happy paths -------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), list(itertools.pairwise(MAIN_LINE)))
def test_one_step_forward(current: Stage, target: Stage) -> None:
    steps = plan_move(current, SINCE, Move(target, day(10)), TODAY)
    assert steps == [Step(current, target, day(10), SINCE)]


def test_move_on_the_day_of_the_previous_change_and_today_are_allowed() -> None:
    assert plan_move(L, SINCE, Move(C, SINCE), TODAY) == [Step(L, C, SINCE, SINCE)]
    assert plan_move(L, SINCE, Move(C, TODAY), TODAY) == [Step(L, C, TODAY, SINCE)]


def test_back_dating_is_allowed() -> None:
    """The signing happened last Tuesday: the move is recorded with last Tuesday's date."""
    last_tuesday = dt.date(2026, 5, 12)
    steps = plan_move(N, dt.date(2026, 1, 10), Move(S, last_tuesday), TODAY)
    assert steps == [Step(N, S, last_tuesday, dt.date(2026, 1, 10))]


def test_record_without_a_previous_date_accepts_any_past_date() -> None:
    assert plan_move(L, None, Move(C, dt.date(2001, 1, 1)), TODAY) == [
        Step(L, C, dt.date(2001, 1, 1))
    ]


def test_skipping_writes_one_step_per_stage_in_order() -> None:
    move = Move(K, day(40), skipped_dates={C: day(5), N: day(10), S: day(30)})
    steps = plan_move(L, SINCE, move, TODAY)
    assert steps == [
        Step(L, C, day(5), SINCE),
        Step(C, N, day(10), day(5)),
        Step(N, S, day(30), day(10)),
        Step(S, K, day(40), day(30)),
    ]


def test_skipped_dates_may_equal_each_other_and_the_bounds() -> None:
    move = Move(S, day(3), skipped_dates={C: SINCE, N: day(3)})
    steps = plan_move(L, SINCE, move, TODAY)
    assert [s.effective_on for s in steps] == [SINCE, day(3), day(3)]


def test_dates_of_stages_not_skipped_are_ignored() -> None:
    move = Move(C, day(2), skipped_dates={N: day(1), S: day(9)})
    assert plan_move(L, SINCE, move, TODAY) == [Step(L, C, day(2), SINCE)]


@pytest.mark.parametrize("current", [L, C, N, S, K, P])
def test_put_on_hold_from_any_active_stage(current: Stage) -> None:
    assert plan_move(current, SINCE, Move(H, day(1)), TODAY) == [Step(current, H, day(1), SINCE)]


@pytest.mark.parametrize("current", [L, C, N, S, K, P, H])
def test_drop_with_a_reason_from_any_open_stage(current: Stage) -> None:
    move = Move(D, day(1), reason="企业战略调整，项目取消")
    steps = plan_move(current, SINCE, move, TODAY, held_from=N if current is H else None)
    assert steps == [Step(current, D, day(1), SINCE)]


@pytest.mark.parametrize("held_from", [L, C, N, S, K, P])
def test_resume_from_hold(held_from: Stage) -> None:
    steps = plan_move(H, SINCE, Move(held_from, day(1)), TODAY, held_from=held_from)
    assert steps == [Step(H, held_from, day(1), SINCE)]


# --- plan_move: refusals --------------------------------------------------------------------


def _refusal(current: Stage, move: Move, since: dt.date | None = SINCE, **kw) -> TransitionError:
    with pytest.raises(TransitionError) as info:
        plan_move(current, since, move, TODAY, **kw)
    return info.value


@pytest.mark.parametrize(
    ("current", "target", "missing"),
    [(L, N, C), (L, S, C), (C, S, N), (N, K, S), (S, P, K), (K, F, P), (L, F, C)],
)
def test_skipping_without_the_date_of_a_skipped_stage_is_refused(
    current: Stage, target: Stage, missing: Stage
) -> None:
    error = _refusal(current, Move(target, day(20)))
    assert error.message == f"跳过“{missing.label}”阶段时须填写其日期。"
    assert error.field == f"skip_{missing.value}"
    assert str(error) == error.message


def test_each_skipped_stage_needs_its_date_message_names_the_one_missing() -> None:
    # 接洽 is given, 洽谈 is not.
    error = _refusal(L, Move(S, day(20), skipped_dates={C: day(5)}))
    assert "洽谈" in error.message and error.field == "skip_negotiating"
    # 接洽 and 洽谈 are given, 签约 is not.
    error = _refusal(L, Move(K, day(20), skipped_dates={C: day(5), N: day(6)}))
    assert "签约" in error.message and error.field == "skip_signed"


def test_skipped_dates_out_of_order_are_refused() -> None:
    error = _refusal(L, Move(S, day(20), skipped_dates={C: day(10), N: day(5)}))
    assert error.field == "skip_negotiating"
    assert "洽谈" in error.message and "按阶段先后排列" in error.message


def test_skipped_date_after_the_effective_date_is_refused() -> None:
    error = _refusal(L, Move(N, day(10), skipped_dates={C: day(11)}))
    assert error.field == "skip_contacted"
    assert "不晚于生效日期" in error.message


def test_skipped_date_before_the_previous_change_is_refused() -> None:
    error = _refusal(L, Move(N, day(10), skipped_dates={C: SINCE - dt.timedelta(days=1)}))
    assert error.field == "skip_contacted"
    assert "接洽" in error.message


def test_future_effective_date_is_refused() -> None:
    error = _refusal(L, Move(C, TODAY + dt.timedelta(days=1)))
    assert error.message == "生效日期不能晚于今天。"
    assert error.field == "effective_on"


def test_effective_date_before_the_previous_change_is_refused() -> None:
    error = _refusal(N, Move(S, SINCE - dt.timedelta(days=1)))
    assert error.message == f"生效日期不能早于上一次阶段变更（{SINCE.isoformat()}）。"
    assert error.field == "effective_on"


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_dropping_requires_a_reason(reason: str) -> None:
    error = _refusal(N, Move(D, day(1), reason=reason))
    assert error.message == "终止须填写原因。"
    assert error.field == "reason"


def test_moving_to_the_current_stage_is_refused() -> None:
    error = _refusal(N, Move(N, day(1)))
    assert error.message == "已处于“洽谈”阶段。"
    assert error.field == "target"


@pytest.mark.parametrize(
    ("current", "target"),
    [(C, L), (S, N), (K, S), (F, P), (P, L)],
)
def test_moving_backwards_is_refused(current: Stage, target: Stage) -> None:
    error = _refusal(current, Move(target, day(1)))
    assert error.message == f"不能从“{current.label}”变更为“{target.label}”。"
    assert error.field == "target"


@pytest.mark.parametrize("current", [F, D])
@pytest.mark.parametrize("target", [L, C, N, S, K, P, H])
def test_terminal_stages_cannot_move(current: Stage, target: Stage) -> None:
    error = _refusal(current, Move(target, day(1), reason="x"))
    assert error.field == "target"
    assert "不能从" in error.message


@pytest.mark.parametrize(("held_from", "target"), [(N, S), (N, C), (N, L), (S, K), (C, N), (S, F)])
def test_on_hold_resumes_to_no_other_stage(held_from: Stage, target: Stage) -> None:
    error = _refusal(H, Move(target, day(1)), held_from=held_from)
    assert error.message == f"不能从“暂缓”变更为“{target.label}”。"


def test_hold_cannot_be_held_again() -> None:
    error = _refusal(H, Move(H, day(1)), held_from=N)
    assert error.message == "已处于“暂缓”阶段。"


def test_the_target_is_checked_before_the_dates() -> None:
    """An illegal target is reported as such even when its date is also wrong."""
    error = _refusal(S, Move(L, TODAY + dt.timedelta(days=5)))
    assert error.field == "target"
