"""The version counter moves on edits, not on side effects, and a stale UPDATE fails."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from app.pipeline.models import ContactType, Lead
from app.pipeline.services import log_contact
from tests.factories import LeadFactory


@pytest.fixture
def lead(world: Any) -> Lead:
    return LeadFactory(owner=world.officer, park=world.park_a)


def test_editing_a_field_moves_the_version(session: Any, lead: Lead) -> None:
    before = lead.version
    lead.title = "新的名称"
    session.flush()
    assert lead.version == before + 1


def test_logging_a_contact_leaves_the_version(
    app: Any, session: Any, world: Any, lead: Lead
) -> None:
    before = lead.version
    with app.test_request_context():
        log_contact(
            session,
            world.officer,
            lead,
            contact_type=ContactType.PHONE,
            contact_on=dt.date.today(),
            summary="电话沟通",
            next_step="发送资料",
            next_step_due=dt.date.today(),
        )
    assert lead.last_contact_on == dt.date.today()
    assert lead.version == before


def test_an_update_from_an_older_version_fails(session: Any, lead: Lead) -> None:
    # Someone else saves first: the row's version moves under this session's feet.
    session.execute(
        update(Lead).where(Lead.id == lead.id).values(version=lead.version + 1),
        execution_options={"synchronize_session": False},
    )
    lead.title = "覆盖别人的修改"
    with pytest.raises(StaleDataError):
        session.flush()
