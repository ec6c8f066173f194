"""The stored ``stale_on`` and ``too_long_on`` agree with the rules in Python.

The lists' "stale" and "too long in stage" filters, the digests and the cockpit compare them
with today. These tests check, over every stage and the days around each limit, that the SQL
conditions select exactly the records :func:`is_stale` and :func:`too_long_in_stage` flag, and
that the session hook, the services and the migration keep them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from app.core.timeutil import today_local
from app.extensions import db
from app.pipeline import lifecycle, services
from app.pipeline.lifecycle import (
    ACTIVE,
    ALL_STAGES,
    MAX_DAYS_IN_STAGE,
    NEVER_CONTACTED_STALE_ON,
    STALE_DAYS,
    Stage,
    standing_days,
)
from app.pipeline.models import Lead, Project
from app.pipeline.queries import (
    is_stale,
    stale_condition,
    too_long_condition,
    too_long_in_stage,
)
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory
from tests.pipeline.test_history_facts import one_lead_with_history
from tests.test_migrations import MIGRATIONS, migrated_scratch

TODAY = dt.date(2026, 11, 27)
MODELS = [Lead, Project]


def _days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def _records(model: type[Lead] | type[Project], world: Any) -> list[Any]:
    """One record per stage and per last contact and stage day on either side of each limit."""
    factory = LeadFactory if model is Lead else ProjectFactory
    contacts = [None, *(_days_ago(STALE_DAYS + d) for d in (2, 1, 0)), TODAY]
    records = []
    for stage in ALL_STAGES:
        limit = MAX_DAYS_IN_STAGE.get(stage, 30)
        for contact, since in itertools.product(contacts, (limit + 2, limit + 1, limit, 0)):
            extra = {"lead__park": world.park_a} if model is Project else {}
            records.append(
                factory(
                    park=world.park_a,
                    stage=stage,
                    stage_since=_days_ago(since),
                    last_contact_on=contact,
                    **extra,
                )
            )
    return records


def _selected(session: Any, model: Any, condition: Any, records: list[Any]) -> set[int]:
    ids = [r.id for r in records]
    return set(session.scalars(select(model.id).where(model.id.in_(ids), condition)))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("day", [TODAY, TODAY + dt.timedelta(days=1), _days_ago(1)])
def test_conditions_select_what_the_rules_flag(
    session: Any, world: Any, model: Any, day: dt.date
) -> None:
    records = _records(model, world)
    session.flush()
    stale = {r.id for r in records if is_stale(r, day)}
    too_long = {r.id for r in records if too_long_in_stage(r, day)}
    assert stale and too_long and len(stale) < len(records) and len(too_long) < len(records)
    assert _selected(session, model, stale_condition(model, day), records) == stale
    assert _selected(session, model, too_long_condition(model, day), records) == too_long


@pytest.mark.parametrize("model", MODELS)
def test_stored_days(session: Any, world: Any, model: Any) -> None:
    """The first day each flag holds, or none where the stage never has it."""
    records = _records(model, world)
    session.flush()
    stored = {
        row.id: row
        for row in session.execute(
            select(model.id, model.stale_on, model.too_long_on).where(
                model.id.in_([r.id for r in records])
            )
        )
    }
    for record in records:
        row = stored[record.id]
        if record.stage not in ACTIVE:
            assert row.stale_on is None
        elif record.last_contact_on is None:
            assert row.stale_on == NEVER_CONTACTED_STALE_ON
        else:
            assert row.stale_on == record.last_contact_on + dt.timedelta(STALE_DAYS + 1)
        limit = MAX_DAYS_IN_STAGE.get(record.stage)
        expected = None if limit is None else record.stage_since + dt.timedelta(limit + 1)
        assert row.too_long_on == expected


@pytest.mark.parametrize("model", MODELS)
def test_changes_through_the_orm(session: Any, world: Any, model: Any) -> None:
    """The session hook keeps both days when the stage, its day or the last contact change."""
    factory = LeadFactory if model is Lead else ProjectFactory
    record = factory(park=world.park_a, stage=Stage.NEGOTIATING, last_contact_on=_days_ago(90))
    record.stage_since = _days_ago(200)
    session.flush()

    def flags() -> tuple[bool, bool]:
        found = (
            _selected(session, model, condition(model, TODAY), [record])
            for condition in (stale_condition, too_long_condition)
        )
        return tuple(bool(ids) for ids in found)  # type: ignore[return-value]

    assert flags() == (True, True)
    record.last_contact_on = TODAY
    record.stage_since = TODAY
    session.flush()
    assert flags() == (False, False)
    record.stage = Stage.ON_HOLD  # neither stale nor too long, whatever the dates
    record.last_contact_on = None
    record.stage_since = _days_ago(999)
    session.flush()
    assert flags() == (False, False)
    record.stage = Stage.LEAD
    session.flush()
    assert flags() == (True, True)
    record.description = "其他字段的修改不重新计算"
    session.flush()
    assert flags() == (True, True)


def test_a_record_left_to_the_stage_default(session: Any, world: Any) -> None:
    """A record added without a stage gets the column's default (线索) and its days."""
    lead = Lead(
        title="未写阶段的线索",
        enterprise=EnterpriseFactory(),
        park=world.park_a,
        owner=world.officer,
        stage_since=_days_ago(61),
    )
    session.add(lead)
    session.flush()
    assert lead.stage is Stage.LEAD
    assert (lead.stale_on, lead.too_long_on) == (NEVER_CONTACTED_STALE_ON, TODAY)


def test_the_services_keep_them(session: Any, world: Any) -> None:
    """A lead created as users create it gets both days."""
    lead = services.create_lead(
        session,
        world.manager,
        enterprise=EnterpriseFactory(),
        title="久未跟进测试",
        park=world.park_a,
        started_on=_days_ago(100),
    )
    session.flush()
    stored = session.execute(select(Lead.stale_on, Lead.too_long_on).where(Lead.id == lead.id))
    assert tuple(stored.one()) == (
        NEVER_CONTACTED_STALE_ON,
        lifecycle.too_long_on(Stage.LEAD, _days_ago(100)),
    )
    assert is_stale(lead) and too_long_in_stage(lead, today_local())


def test_the_migration_fills_them(app: Flask, tmp_path: Path) -> None:
    stages = [Stage.LEAD, Stage.NEGOTIATING, Stage.PRODUCTION, Stage.ON_HOLD, Stage.DROPPED]
    contacts = [None, dt.date(2026, 3, 1)]
    cases = list(itertools.product(stages, contacts))
    with migrated_scratch(app, tmp_path, revision="f3a9c1d7e2b6"):
        with db.engine.begin() as connection:
            for stage, contact in cases:
                one_lead_with_history(
                    connection,
                    [Stage.LEAD],  # a history row refers to the lead
                    stage=stage.value,
                    stage_since=dt.date(2025, 12, 31),
                    last_contact_on=contact,
                )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT stale_on, too_long_on FROM lead ORDER BY id")
            ).all()
        # And back, with the rows kept (SQLite drops the columns in place).
        downgrade(directory=MIGRATIONS, revision="f3a9c1d7e2b6")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM lead")) == len(cases)
            assert "stale_on" not in {c["name"] for c in inspect(connection).get_columns("lead")}
    # Dates as text: SQLite returns them so to a plain SELECT.
    assert [tuple(str(d) if d else None for d in row) for row in rows] == [
        tuple(
            str(day) if day else None
            for day in standing_days(stage, dt.date(2025, 12, 31), contact).values()
        )
        for stage, contact in cases
    ]
