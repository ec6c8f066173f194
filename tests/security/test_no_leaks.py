"""Rows that must not appear: a confidential lead and project, walked through every surface that
shows records (lists, board, exports, cockpit, chain map, report workbook, digests, API lists),
as every role, owner and stranger, against one declared table.

The record belongs to `officer` in park A (run by `manager`); `officer2` and `manager2` must never
see its name anywhere, while the owner, the park's manager, the leader and the admin see it where
their role gives them that surface at all.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from app.api.tokens import create_token
from app.digests.content import build_digest
from app.digests.render import render_digest
from app.digests.weeks import IsoWeek
from app.pipeline.lifecycle import Stage
from tests.factories import LeadFactory, ProjectFactory

SECRET_LEAD = "保密洽谈甲项目"
SECRET_PROJECT = "保密乙基地"
SEES, HIDDEN, NO_ACCESS = "sees", "hidden", "no access"
# The surface lists no single records for this role (a leader's digest shows counts and the
# 50亿元+ projects that moved).
NOT_LISTED = "not listed"
USERS = ("officer", "officer2", "manager", "manager2", "leader", "admin")


def row(**cases: str) -> dict[str, str]:
    """Everyone who may use the surface sees the record unless stated otherwise."""
    out = {u: SEES for u in USERS}
    out.update(officer2=HIDDEN, manager2=HIDDEN)
    out.update(cases)
    return out


# surface -> (how to read it, who sees what)
SURFACES: dict[str, tuple[str, dict[str, str]]] = {
    "lead list": ("/leads", row()),
    # The search box repeats the query: search by a part of the name, look for all of it.
    "lead search": (f"/leads?q={SECRET_LEAD[:4]}", row()),
    "project list": ("/projects", row()),
    "park board": ("/board?kind=projects", row(officer=NO_ACCESS, officer2=NO_ACCESS)),
    "lead export xlsx": ("/ledger/export/leads.xlsx", row()),
    "project export csv": ("/ledger/export/projects.csv", row()),
    "cockpit": ("/cockpit/", row(officer=NO_ACCESS, officer2=NO_ACCESS)),
    "chain map": ("/cockpit/chains", row(officer=NO_ACCESS, officer2=NO_ACCESS)),
    "API lead list": ("api:/api/v1/leads?per_page=100", row()),
    "API project list": ("api:/api/v1/projects?per_page=100", row()),
    "digest": ("digest", row(leader=NOT_LISTED, admin=NOT_LISTED)),
}


def text_of(body: bytes, content_type: str) -> str:
    """What a reader sees in a response: HTML, CSV, JSON, or every sheet of a workbook."""
    if body[:2] == b"PK":  # .xlsx: the shared strings and inline strings of every sheet
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(
                archive.read(name).decode("utf-8")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    return body.decode("utf-8-sig")


@pytest.fixture
def secret(session: Any, world: Any) -> Any:
    lead = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        title=SECRET_LEAD,
        stage=Stage.NEGOTIATING,
        estimated_investment=Decimal("80"),
        last_contact_on=dt.date.today() - dt.timedelta(days=40),
    )
    ProjectFactory(
        lead=lead,
        name=SECRET_PROJECT,
        chain_link=world.link,
        total_investment=Decimal("80"),
        signed_on=dt.date.today(),
    )
    session.commit()
    return world


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("surface", SURFACES)
def test_confidential_rows_appear_only_where_allowed(
    session: Any, secret: Any, login_as: Any, client: Any, surface: str, user: str
) -> None:
    account = {
        "officer": secret.officer,
        "officer2": secret.other_officer,
        "manager": secret.manager,
        "manager2": secret.other_manager,
        "leader": secret.leader,
        "admin": secret.admin,
    }[user]
    address, rules = SURFACES[surface]
    expected = rules[user]
    if expected == NOT_LISTED:
        pytest.skip(f"{surface} lists no single records for {user}")
    if address == "digest":
        # The week that holds today's stalled and new records.
        digest = build_digest(session, account, IsoWeek.of(dt.date.today()), "http://crm.test")
        shown = render_digest(digest)
        found = shown.html + shown.text
        status = 200
    elif address.startswith("api:"):
        _token, token_text = create_token(session, account, name="泄露检查")
        session.commit()
        response = client.get(
            address.removeprefix("api:"), headers={"Authorization": f"Bearer {token_text}"}
        )
        status = response.status_code
        found = json.dumps(response.get_json(), ensure_ascii=False)
    else:
        response = login_as(account).get(address)
        status = response.status_code
        found = text_of(response.get_data(), response.content_type or "")
    if expected == NO_ACCESS:
        assert status == 403, (surface, user, status)
        return
    assert status == 200, (surface, user, status)
    names_seen = SECRET_LEAD in found or SECRET_PROJECT in found
    if expected == SEES:
        assert names_seen, f"{surface}: {user} should see the record"
    else:
        assert not names_seen, f"{surface}: {user} must not see the record"
