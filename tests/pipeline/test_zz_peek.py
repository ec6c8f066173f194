from typing import Any
from tests.factories import LeadFactory, EnterpriseFactory
from app.pipeline.lifecycle import Stage
from tests.pipeline.test_views import errors, _lead_form, _stage_form


def test_peek(login_as: Any, world: Any, session: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a, stage=Stage.CONTACTED)
    e = EnterpriseFactory()
    session.commit()
    c = login_as(world.manager)
    for t in ("lead", "nonsense"):
        r = c.post(f"/leads/{lead.id}/stage", data=_stage_form(lead, t))
        print(t, r.status_code, errors(r.get_data(as_text=True)))
    r = c.post(f"/leads/{lead.id}/stage", data=_stage_form(lead, "negotiating", effective_on="  "))
    print("blank", r.status_code, errors(r.get_data(as_text=True)))
    r = c.post("/leads/new", data=_lead_form(e, world, title="长" * 121))
    print(errors(r.get_data(as_text=True)))
    r = c.post("/admin/thresholds", data={"major": " ", "big": "5"})
    print(r.status_code)
    assert 0
