"""API lists and reads run a fixed number of SQL statements, whatever the amount of data
(measured with 3 and then 30 records, as the pages' own test does)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from app.core.paging import encode_position
from app.pipeline.models import Lead
from tests.api.helpers import ApiClient, make_token
from tests.factories import ChainFactory, ChainLinkFactory
from tests.pipeline.test_query_counts import LARGE, SMALL, add_records


@pytest.fixture
def refs(session: Any, world: Any) -> SimpleNamespace:
    screen = ChainFactory(code="SCREEN", name="屏")
    links = [world.link] + [
        ChainLinkFactory(chain=screen, name=name, position=i)
        for i, name in enumerate(("玻璃基板", "偏光片", "驱动芯片"))
    ]
    return SimpleNamespace(
        links=links,
        owners=[world.officer, world.other_officer, world.manager],
        authors=[world.officer, world.other_officer, world.manager, world.admin],
        park=world.park_a,
    )


def measure(session: Any, api: ApiClient, count_queries: Any, url: str) -> int:
    session.commit()  # expires every loaded object
    for key in ("_login_user", "api_thresholds", "api_user", "_flask_babel"):
        g.pop(key, None)
    with count_queries() as counter:
        response = api.get(url)
    assert response.status_code == 200, (url, response.get_json())
    body = response.get_json()
    assert not isinstance(body, dict) or body.get("items", True), url  # lists show rows
    return counter.count


def lead_id(session: Any) -> int:
    return session.scalar(select(Lead.id).order_by(Lead.id))


URLS = [
    "/api/v1/leads",
    "/api/v1/projects?per_page=100",
    "/api/v1/leads?stale=1&tier=yi&q=测试&sort=-investment",
    "/api/v1/leads?per_page=5&sort=-investment&after={after}",
    "/api/v1/enterprises?q=科技&per_page=5&after={enterprise_after}",
    "/api/v1/enterprises",
    "/api/v1/pipeline/board",
    "/api/v1/pipeline/board?kind=projects",
    "/api/v1/leads/{lead}/contacts",
    "/api/v1/leads/{lead}/stage-changes",
    "/api/v1/leads/{lead}",
]


# Officers have no board (their board call is a 403, checked by the access table).
CASES = [
    (role, url)
    for role in ("officer", "manager", "admin")
    for url in URLS
    if not (role == "officer" and "board" in url)
]


@pytest.mark.parametrize(("role", "url"), CASES)
def test_fixed_number_of_statements(
    client: Any,
    world: Any,
    session: Any,
    count_queries: Any,
    refs: SimpleNamespace,
    role: str,
    url: str,
) -> None:
    user = getattr(world, role)
    api = ApiClient(client, make_token(session, user))
    add_records(session, refs, 0, SMALL)
    url = url.format(
        lead=lead_id(session),
        # Positions in the middle of the list: a large amount, and the name-ordered search.
        after=encode_position("-investment", [Decimal("100"), 10**6]),
        enterprise_after=encode_position("relevance", [1, "测试", 10**6]),
    )
    api.get("/api/v1/parks")  # the token's first use writes its "last used" stamp
    small = measure(session, api, count_queries, url)
    add_records(session, refs, SMALL, LARGE)
    large = measure(session, api, count_queries, url)
    assert small == large, url
    assert large <= 12, url
