"""Text that attacks: stored exactly as written, shown escaped on pages and in the digest mail,
and exported as text (never a formula) in workbooks and CSV.

Everything is entered through the real forms, as an officer would type it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from app.core.timeutil import today_local
from app.digests.content import build_digest
from app.digests.render import render_digest
from app.digests.weeks import IsoWeek
from app.enterprises.models import Enterprise
from app.pipeline.models import ContactLog, Lead
from tests.factories import credit_code

PAYLOADS = {
    "script": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "template": "{{ 7*7 }} {% if true %}yes{% endif %} ${7*7} #{7*7}",
    "sql": "'; DROP TABLE lead; -- \" OR 1=1 --",
    "zero_width": "中\u200b芯\u200c国\u200d际\u2060\ufeff\u202e反转文字",
    "formula": '=HYPERLINK("http://evil.example/","点我")',
    "formula_plus": "+1+cmd|' /C calc'!A0",
}


def shown(page: str, text: str, where: str = "") -> None:
    """*text* is on *page* escaped, never as raw markup."""
    assert str(escape(text)) in page, where
    if str(escape(text)) != text:
        assert text not in page, where


@pytest.fixture
def entered(login_as: Any, session: Any, world: Any, request: Any) -> dict[str, Any]:
    """One payload entered through the forms: enterprise name, lead title, a contact."""
    payload = PAYLOADS[request.param]
    client = login_as(world.officer)
    code = credit_code(900 + list(PAYLOADS).index(request.param))
    response = client.post(
        "/enterprises/new",
        data={"name": "企业" + payload, "credit_code": code, "description": payload,
              "confirm_duplicate": "y"},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    response = client.post(
        "/leads/new",
        data={"title": "线索" + payload, "enterprise": code, "source": "visit",
              "park_id": world.park_a.id, "description": payload},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    lead = session.query(Lead).filter_by(title="线索" + payload).one()
    today = today_local().isoformat()
    response = client.post(
        f"/leads/{lead.id}/contacts",
        data={"contact-contact_type": "visit", "contact-contact_on": today,
              "contact-participants": payload, "contact-summary": payload,
              "contact-next_step": payload},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    return {"payload": payload, "client": client, "lead": lead, "code": code}


ALL = pytest.mark.parametrize("entered", list(PAYLOADS), indirect=True)


@ALL
def test_stored_exactly_as_written(session: Any, entered: dict[str, Any]) -> None:
    payload = entered["payload"]
    session.expire_all()
    enterprise = session.query(Enterprise).filter_by(credit_code=entered["code"]).one()
    assert enterprise.name == "企业" + payload
    assert enterprise.description == payload
    lead = session.get(Lead, entered["lead"].id)
    assert lead.title == "线索" + payload
    assert lead.description == payload
    contact = session.query(ContactLog).filter_by(lead_id=lead.id).one()
    assert (contact.summary, contact.participants, contact.next_step) == (payload,) * 3
    # The tables are all still there.
    assert session.query(Lead).count() >= 1


@ALL
def test_shown_escaped_on_every_page(entered: dict[str, Any], world: Any, login_as: Any) -> None:
    payload, lead = entered["payload"], entered["lead"]
    client = entered["client"]
    enterprise_id = lead.enterprise_id
    pages = {
        "lead": client.get(f"/leads/{lead.id}"),
        "leads": client.get("/leads"),
        "my": client.get("/my"),
        "enterprise": client.get(f"/enterprises/{enterprise_id}"),
        "enterprises": client.get("/enterprises/"),
        "edit": client.get(f"/leads/{lead.id}/edit"),
    }
    manager = login_as(world.manager)
    pages["board"] = manager.get("/board")
    for name, response in pages.items():
        assert response.status_code == 200, name
        page = response.get_data(as_text=True)
        if name in ("enterprise", "enterprises"):
            shown(page, "企业" + payload, name)
        if name != "enterprises":
            shown(page, "线索" + payload, name)
        if name in ("lead", "enterprise"):
            shown(page, payload, name)
        # Template syntax is text, not evaluated.
        if "{{ 7*7 }}" in payload:
            assert "{{ 7*7 }}" in page


@ALL
def test_shown_escaped_in_the_digest_mail(
    entered: dict[str, Any], session: Any, world: Any
) -> None:
    payload = entered["payload"]
    week = IsoWeek.of(today_local())
    for user in (world.officer, world.manager, world.leader):
        mail = render_digest(build_digest(session, user, week, "http://crm.test"))
        shown(mail.html, "线索" + payload)
        assert "<script" not in mail.html
        assert "线索" + payload in mail.text


@ALL
def test_exported_as_text_never_a_formula(entered: dict[str, Any]) -> None:
    payload, client = entered["payload"], entered["client"]
    title = "线索" + payload

    response = client.get("/ledger/export/leads.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert title in cells
    # Formula-like cells of the payload (the description is not exported) start with a quote.
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@")), cell

    response = client.get("/ledger/export/leads.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    found = [c for row in sheet.iter_rows() for c in row if c.value == title]
    assert found and all(c.data_type == "s" for c in found)
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_formula_text_at_the_start_of_a_cell_is_neutralised(
    login_as: Any, session: Any, world: Any
) -> None:
    from tests.factories import LeadFactory

    formula = PAYLOADS["formula"]
    LeadFactory(owner=world.officer, park=world.park_a, title=formula)
    client = login_as(world.officer)

    rows = list(
        csv.reader(
            io.StringIO(client.get("/ledger/export/leads.csv").get_data().decode("utf-8-sig"))
        )
    )
    assert "'" + formula in [cell for row in rows for cell in row]
    sheet = load_workbook(io.BytesIO(client.get("/ledger/export/leads.xlsx").get_data())).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == formula]
    assert cells and cells[0].data_type == "s"


# --- very long strings ----------------------------------------------------------------------


def test_very_long_text_is_stored_up_to_the_limit_and_refused_beyond(
    login_as: Any, session: Any, world: Any
) -> None:
    client = login_as(world.officer)
    code = credit_code(990)
    name = "长" * 120
    assert (
        client.post(
            "/enterprises/new", data={"name": name, "credit_code": code, "confirm_duplicate": "y"}
        ).status_code
        == 302
    )
    assert session.query(Enterprise).filter_by(name=name).one().credit_code == code

    refused = client.post("/enterprises/new", data={"name": "长" * 121, "confirm_duplicate": "y"})
    assert refused.status_code == 200
    assert session.query(Enterprise).filter_by(name="长" * 121).count() == 0

    for title, stored in (("题" * 120, True), ("题" * 121, False)):
        response = client.post(
            "/leads/new",
            data={"title": title, "enterprise": code, "source": "visit",
                  "park_id": world.park_a.id, "confirm_duplicate": "y"},
        )  # fmt: skip
        assert response.status_code == (302 if stored else 200)
        assert session.query(Lead).filter_by(title=title).count() == int(stored)

    lead = session.query(Lead).filter_by(title="题" * 120).one()
    for summary, ok in (("记" * 5000, True), ("记" * 5001, False)):
        response = client.post(
            f"/leads/{lead.id}/contacts",
            data={"contact-contact_type": "phone",
                  "contact-contact_on": today_local().isoformat(), "contact-summary": summary},
        )  # fmt: skip
        assert response.status_code == (302 if ok else 422)
        assert session.query(ContactLog).filter_by(summary=summary).count() == int(ok)
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "记" * 5000 in page


@pytest.mark.parametrize("url", ["/leads?q={}", "/enterprises/?q={}", "/projects?q={}"])
def test_a_huge_search_is_answered_not_crashed(login_as: Any, world: Any, url: str) -> None:
    client = login_as(world.officer)
    response = client.get(url.format("%27%3Cscript%3E" + "x" * 20000))
    assert response.status_code in (200, 400)
    assert "<script>" not in response.get_data(as_text=True).replace('<script src="', "")


# --- uploads --------------------------------------------------------------------------------


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(
    app: Any, login_as: Any, session: Any, world: Any
) -> None:
    """MAX_CONTENT_LENGTH stops a huge body at the door (413, in Chinese); the importer's own
    size, type, row and uncompressed-size checks are in tests/ledger/test_import.py."""
    client = login_as(world.manager)
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        response = client.post(
            "/ledger/import",
            data={"file": (io.BytesIO(b"x" * 20_000), "台账.csv")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert response.status_code == 413
    assert "上传的文件太大。" in response.get_data(as_text=True)
