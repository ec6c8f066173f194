"""Each lead and project stores two facts of its stage history, the day it was opened and the
furthest stage of the main line it got to, kept with every stage change (services, rows added
directly, the ledger's bulk import, the migration); the funnel and the lists' "opened in" and
"got as far as" filters read them."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert, select, text

from app.auth.models import User
from app.core.timeutil import today_local
from app.enterprises.models import Enterprise
from app.extensions import db
from app.parks.models import Park
from app.pipeline import queries, services
from app.pipeline.lifecycle import MAIN_LINE, Move, Stage, further
from app.pipeline.models import Lead, Project, StageChange
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory
from tests.test_migrations import MIGRATIONS, migrated_scratch

TODAY = today_local()
S = Stage


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def test_further_keeps_the_furthest_of_the_main_line() -> None:
    assert further(None, S.LEAD) is S.LEAD
    assert further(S.LEAD, S.SIGNED) is S.SIGNED
    assert further(S.SIGNED, S.CONTACTED) is S.SIGNED
    assert further(S.SIGNED, S.ON_HOLD) is S.SIGNED  # side exits leave it
    assert further(None, S.DROPPED) is None


def test_the_services_keep_it(session: Any, world: Any) -> None:
    lead = services.create_lead(
        session,
        world.manager,
        enterprise=EnterpriseFactory(),
        title="最远阶段线索",
        park=world.park_a,
        started_on=ago(90),
    )
    assert (lead.opened_on, lead.furthest_stage) == (ago(90), S.LEAD)
    move = Move(S.NEGOTIATING, ago(30), skipped_dates={S.CONTACTED: ago(60)})
    services.move_stage(session, world.manager, lead, move, version=lead.version)
    assert lead.furthest_stage is S.NEGOTIATING
    services.move_stage(
        session, world.manager, lead, Move(S.ON_HOLD, ago(10)), version=lead.version
    )
    session.flush()
    session.expire(lead)
    assert (lead.stage, lead.furthest_stage) == (S.ON_HOLD, S.NEGOTIATING)
    assert lead.opened_on == ago(90)


def test_history_rows_added_directly_raise_it_and_never_lower_it(session: Any, world: Any) -> None:
    lead = LeadFactory(park=world.park_a)
    project = ProjectFactory(lead=lead, park=world.park_a)
    session.flush()
    assert (lead.opened_on, lead.furthest_stage) == (None, None)  # no history yet
    session.add_all(
        [
            StageChange(lead_id=lead.id, to_stage=S.LEAD, effective_on=ago(9)),
            StageChange(
                lead_id=lead.id, from_stage=S.CONTACTED, to_stage=S.LEAD, effective_on=ago(20)
            ),
            StageChange(lead_id=lead.id, to_stage=S.SIGNED, effective_on=ago(5)),
            StageChange(lead_id=lead.id, to_stage=S.CONTACTED, effective_on=ago(3)),
            StageChange(project_id=project.id, to_stage=S.DROPPED, effective_on=ago(2)),
        ]
    )
    session.flush()
    session.expire_all()
    assert lead.furthest_stage is S.SIGNED
    assert lead.opened_on == ago(9)  # the opening row's day: from no stage into 线索
    assert (project.opened_on, project.furthest_stage) == (None, None)


HISTORIES = [
    (),
    (S.LEAD,),
    (S.LEAD, S.CONTACTED),
    (S.LEAD, S.NEGOTIATING, S.ON_HOLD),
    (S.LEAD, S.SIGNED, S.CONSTRUCTION, S.PRODUCTION),
    (S.CONTACTED, S.FULL_PRODUCTION),  # a history without rows for the stages skipped
    (S.LEAD, S.DROPPED),
]


@pytest.mark.parametrize("model", [Lead, Project])
def test_the_filter_selects_what_the_history_shows(session: Any, world: Any, model: Any) -> None:
    """For every stage, the stored column selects exactly the records whose history has a row
    entering that stage or a later one on the main line (the filter's meaning)."""
    records = []
    for stages in HISTORIES:
        lead = LeadFactory(park=world.park_a)
        record = lead if model is Lead else ProjectFactory(lead=lead, park=world.park_a)
        session.flush()
        subject = {"lead_id": record.id} if model is Lead else {"project_id": record.id}
        previous = None
        for day, stage in enumerate(stages):
            session.add(
                StageChange(
                    **subject, from_stage=previous, to_stage=stage, effective_on=ago(30 - day)
                )
            )
            previous = stage
        records.append((record.id, stages))
    session.flush()
    ids = {record_id for record_id, _ in records}
    for stage in (*MAIN_LINE, S.ON_HOLD, S.DROPPED):
        stored = set(
            session.scalars(
                select(model.id).where(queries.reached_condition(model, stage), model.id.in_(ids))
            )
        )
        wanted = set(queries.reached_stages(stage))
        assert stored == {i for i, stages in records if wanted & set(stages)}, stage
    # Opened in a range: the opening row (the first, from no stage into 线索) is dated in it.
    for start, end in [(ago(30), ago(30)), (ago(29), None), (None, ago(31)), (None, None)]:
        opened = set(
            session.scalars(
                select(model.id).where(
                    queries.event_condition(model, S.LEAD, start, end), model.id.in_(ids)
                )
            )
        )
        assert opened == {
            i
            for i, stages in records
            if stages[:1] == (S.LEAD,)
            and (start is None or start <= ago(30))
            and (end is None or ago(30) <= end)
        }


def test_the_migration_fills_it_from_the_history(app: Flask, tmp_path: Path) -> None:
    with migrated_scratch(app, tmp_path, revision="b5d1f0c2a8e4"):
        with db.engine.begin() as connection:
            one_lead_with_history(connection, [S.LEAD, S.SIGNED, S.ON_HOLD])
            one_lead_with_history(connection, [])
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT opened_on, furthest_stage FROM lead ORDER BY id")
            ).all()
        # Dates as text: SQLite returns them so to a plain SELECT.
        assert [(str(on) if on else None, stage) for on, stage in rows] == [
            ("2026-01-01", "signed"),
            (None, None),
        ]


_serial = itertools.count(1)


def one_lead_with_history(connection: Any, stages: list[Stage], **lead: Any) -> None:
    """A lead (with its user, park and enterprise; *lead* overrides its columns) and its
    history, through the tables as they stand before a column (an INSERT names only the
    columns it is given)."""
    n = next(_serial)

    def add(table: Any, **values: Any) -> int:
        return connection.execute(insert(table).values(**values)).inserted_primary_key[0]

    user = add(
        User.__table__,
        username=f"u{n}",
        full_name=f"用户{n}",
        role="officer",
        password_hash="x",
        active=True,
        locale="zh_Hans_CN",
        session_version=1,
    )
    park = add(Park.__table__, code=f"P{n}", name=f"园区{n}", sort_order=n, active=True)
    enterprise = add(
        Enterprise.__table__,
        name=f"企业{n}",
        name_key=f"企业{n}",
        is_global500=False,
        is_china500=False,
        is_listed=False,
    )
    lead = add(
        Lead.__table__,
        **{
            "title": f"线索{n}",
            "source": "other",
            "stage": "lead",
            "stage_since": dt.date(2026, 1, 1),
            "owner_id": user,
            "park_id": park,
            "enterprise_id": enterprise,
            **lead,
        },
    )
    previous = None
    for day, stage in enumerate(stages, start=1):
        on = dt.date(2026, 1, day)
        add(
            StageChange.__table__,
            lead_id=lead,
            from_stage=previous,
            to_stage=stage,
            effective_on=on,
        )
        previous = stage
