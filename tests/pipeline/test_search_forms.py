"""The list search's three forms (any, walk, few) select the same records: by title, by the
enterprise's name or credit code, as the officer may see them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.core import search
from app.enterprises.models import Enterprise
from app.pipeline import queries
from app.pipeline.flags import load_thresholds
from app.pipeline.models import Lead, Project
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory, credit_code

FORMS = ("any", "walk", "few")


@pytest.fixture
def records(session: Any, world: Any) -> dict[str, Any]:
    hydrogen = EnterpriseFactory(name="氢能储能科技有限公司", credit_code=credit_code(9_000_007))
    display = EnterpriseFactory(name="京东方显示")
    mine = [
        LeadFactory(title="芯片封装线索", enterprise=display, owner=world.officer),
        LeadFactory(title="储能电站", enterprise=display, owner=world.officer),
        LeadFactory(title="面板扩产", enterprise=hydrogen, owner=world.officer),
    ]
    # The other officer's: never in the officer's results.
    LeadFactory(title="芯片设计线索", enterprise=hydrogen, owner=world.other_officer)
    for lead in mine:
        ProjectFactory(lead=lead, name=f"{lead.title}项目", owner=world.officer)
    session.flush()
    return {"code": hydrogen.credit_code}


WORDS = ["芯片", "储能", "氢能储能", "京东方显示", "显", "线索", "项目", "不存在", "%", "方显示x"]


@pytest.mark.parametrize("common", [False, True], ids=["pairs", "common-pairs"])
@pytest.mark.parametrize("model", [Lead, Project])
@pytest.mark.parametrize("word", [*WORDS, "CODE"])
def test_the_forms_select_the_same_records(
    session: Any,
    world: Any,
    records: dict[str, Any],
    model: Any,
    word: str,
    common: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """*common*: every pair any name holds counts as common, so the names of each kind that
    holds all of a word's pairs are tested by ``LIKE`` alone (app.core.search.Word)."""
    if common:
        monkeypatch.setattr(search, "COUNT_CAP", 1)
        monkeypatch.setattr(search, "COMMON_HOLDERS", 1)
    word = records["code"] if word == "CODE" else word
    # As the list puts it: the pairs chosen once for the record's and the enterprise's names.
    filters = queries.ListFilters(q=queries.search_word(session, model, word))
    thresholds = load_thresholds(session)
    found = {
        form: set(
            session.scalars(
                queries.filtered(world.officer, model, filters, thresholds, search_form=form)
                .with_only_columns(model.id)
                .order_by(None)
            )
        )
        for form in FORMS
    }
    name = model.title if model is Lead else model.name
    visible = session.execute(
        queries.filtered(world.officer, model, queries.ListFilters(), thresholds)
        .with_only_columns(model.id, name, model.enterprise_id)
        .order_by(None)
    ).all()
    enterprises = {e.id: (e.name, e.credit_code) for e in session.scalars(select(Enterprise))}
    expected = {
        record_id
        for record_id, title, enterprise_id in visible
        if word in title
        or word in enterprises[enterprise_id][0]
        or word == enterprises[enterprise_id][1]
    }
    assert found == {form: expected for form in FORMS}


def test_a_rare_word_is_told_from_a_common_one(
    session: Any, world: Any, records: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upper bound of the matches, whoever may see them: 芯片 names two leads (one the
    officer may not see); 储能 names one and is in the name of an enterprise with two more."""
    monkeypatch.setattr(queries, "FEW_MATCHES", 2)
    assert queries.search_is_rare(session, Lead, "芯片")
    assert queries.search_is_rare(session, Lead, "不存在")
    assert not queries.search_is_rare(session, Lead, "储能")
    assert not queries.search_is_rare(session, Lead, "显")  # one character: no pairs to read
