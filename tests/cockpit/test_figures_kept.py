"""The cockpit's figures are computed once per state of the data: a second view reads only the
data's stamp, any change of a record shows at once, and users who see different records never
share figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.core.timeutil import today_local
from app.pipeline import services, visibility
from app.pipeline.lifecycle import Move, Stage
from app.pipeline.models import ContactType
from tests.cockpit.test_views import numbers
from tests.factories import LeadFactory, ProjectFactory, UserFactory
from tests.pipeline.helpers import measure


@pytest.fixture
def records(session: Any, world: Any) -> Any:
    today = today_local()
    # Too long in its stage (a stalled lead), until it moves on.
    lead = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        stage=Stage.NEGOTIATING,
        stage_since=today - dt.timedelta(days=400),
    )
    ProjectFactory(lead=lead, signed_on=today, total_investment=60)
    other = LeadFactory(owner=world.other_officer, park=world.park_b)
    ProjectFactory(lead=other, signed_on=today, total_investment=8)
    session.commit()
    return lead


def page(client: Any) -> list[tuple[str, int]]:
    response = client.get("/cockpit/")
    assert response.status_code == 200
    return numbers(response.get_data(as_text=True))


def test_a_second_view_reads_only_the_stamp(
    session: Any, world: Any, login_as: Any, count_queries: Any, records: Any
) -> None:
    client = login_as(world.leader)
    first = measure(session, client, count_queries, "/cockpit/")
    again = measure(session, client, count_queries, "/cockpit/")
    assert again < first - 5  # the aggregates (a dozen statements) are not run again
    assert page(client) == page(client)


@pytest.mark.parametrize("change", ["contact", "stage", "new_project", "amount"])
def test_a_change_of_the_data_shows_at_once(
    session: Any, world: Any, login_as: Any, records: Any, change: str
) -> None:
    client = login_as(world.leader)
    before = page(client)
    lead = records
    if change == "contact":  # the lead stops being stale
        lead.last_contact_on = today_local() - dt.timedelta(days=90)
        session.commit()
        before = page(client)
        services.log_contact(
            session,
            world.officer,
            lead,
            contact_type=ContactType.VISIT,
            contact_on=today_local(),
            summary="走访",
        )
    elif change == "stage":
        services.move_stage(
            session,
            world.manager,
            lead,
            Move(Stage.ON_HOLD, today_local(), reason="暂缓"),
            version=lead.version,
        )
    elif change == "new_project":
        ProjectFactory(lead=lead, signed_on=today_local(), total_investment=70)
    else:
        lead.projects[0].total_investment = 1
    session.commit()
    after = page(client)
    assert after != before


def test_users_who_see_other_records_do_not_share_figures(
    session: Any, world: Any, login_as: Any, records: Any
) -> None:
    leader = page(login_as(world.leader))
    manager = page(login_as(world.manager))
    assert leader != manager
    assert page(login_as(world.leader)) == leader


def test_sight() -> None:
    leader = UserFactory.build(role="leader", active=True)
    admin = UserFactory.build(role="admin", active=True)
    assert visibility.sight(leader) == visibility.sight(admin)
    officer = UserFactory.build(id=7, role="officer", active=True)
    assert visibility.sight(officer) == ("owner", 7)
    inactive = UserFactory.build(role="leader", active=False)
    assert visibility.sight(inactive) == ("nothing",)
