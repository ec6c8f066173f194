"""Search by any part of a name: the pairs are kept with the names, and narrow without changing
what the LIKE finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select, text

from app.core import search
from app.core.search import NameGram, grams
from app.enterprises.models import Enterprise
from app.extensions import db
from app.pipeline.models import Lead, Project
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory
from tests.test_migrations import MIGRATIONS, migrated_scratch


def stored(session: Any, model: Any, record_id: int) -> set[str]:
    kind = model.__search__[0]
    return set(
        session.scalars(
            select(NameGram.gram).where(NameGram.kind == kind, NameGram.ref_id == record_id)
        )
    )


def found(session: Any, model: Any, word: str) -> set[int]:
    return set(session.scalars(select(model.id).where(search.contains(model, word))))


def test_pairs_of_a_name() -> None:
    assert grams("芯片公司") == {"芯片", "片公", "公司"}
    assert grams("ABab") == {"ab", "ba"}  # case folded, each pair once
    assert grams("芯") == set()
    assert grams("") == grams(None) == set()


def test_new_records_get_their_pairs(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory(name="京东方科技")
    lead = LeadFactory(title="显示面板线索", enterprise=enterprise, park=world.park_a)
    project = ProjectFactory(name="氢能项目", lead=lead, park=world.park_a)
    session.flush()
    assert stored(session, Enterprise, enterprise.id) == grams("京东方科技")
    assert stored(session, Lead, lead.id) == grams("显示面板线索")
    assert stored(session, Project, project.id) == grams("氢能项目")


def test_a_rename_replaces_the_pairs(session: Any, world: Any) -> None:
    lead = LeadFactory(title="芯片封装", park=world.park_a)
    session.flush()
    session.expire(lead)  # the old title is read again before the change (active history)
    lead.title = "芯片测试"
    session.flush()
    assert stored(session, Lead, lead.id) == grams("芯片测试")
    assert found(session, Lead, "封装") == set()
    assert found(session, Lead, "片测") == {lead.id}


def test_a_deleted_record_leaves_no_pairs(session: Any) -> None:
    enterprise = EnterpriseFactory(name="待删除企业")
    session.flush()
    enterprise_id = enterprise.id
    session.delete(enterprise)
    session.flush()
    assert stored(session, Enterprise, enterprise_id) == set()


NAMES = [
    "芯片设计中心",
    "芯片设计片公司",  # holds the pairs of 片公司 and 芯片 but not 芯片公司
    "新型显示面板",
    "Hydrogen Storage",
    "hydrogen cells",
    "氢能储能",
    "100%_绿电",
    "绿电100",
]
WORDS = [
    "芯片",
    "芯片公司",
    "片公司",
    "设计",
    "芯",  # one character: every name tested
    "hydrogen",
    "HYDROGEN",  # SQLite's LIKE ignores ASCII case, PostgreSQL's does not: the same as LIKE
    "n s",
    "100%",  # LIKE wildcards are searched for themselves
    "%_",
    "0_",
    "不存在",
]


@pytest.mark.parametrize("word", WORDS)
def test_the_pairs_find_what_like_finds(session: Any, world: Any, word: str) -> None:
    leads = [LeadFactory(title=name, park=world.park_a) for name in NAMES]
    session.flush()
    ids = {lead.id for lead in leads}
    ignores_case = session.bind.dialect.name == "sqlite"
    expected = {
        lead.id
        for lead in leads
        if (word.lower() in lead.title.lower() if ignores_case else word in lead.title)
    }
    assert found(session, Lead, word) & ids == expected


def test_the_rarest_pairs_narrow(session: Any, world: Any, monkeypatch: Any) -> None:
    """A pair held by more names than the cap counts as common; the rarer ones are used."""
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    common = [LeadFactory(title=f"公司{i}号", park=world.park_a) for i in range(5)]
    wanted = LeadFactory(title="龙芯公司", park=world.park_a)
    other = LeadFactory(title="龙芯设计", park=world.park_a)
    session.flush()
    assert found(session, Lead, "龙芯公司") == {wanted.id}
    assert found(session, Lead, "公司") >= {wanted.id, *(lead.id for lead in common)}
    assert other.id not in found(session, Lead, "公司")


def test_two_chinese_characters_are_their_own_pair() -> None:
    """Holding the pair of two ideographs is containing them: no LIKE is needed (the test
    above checks the results); a pair with a cased letter only narrows."""
    assert search.is_its_own_pair("芯片")
    assert "LIKE" not in str(select(Lead.id).where(search.contains(Lead, "芯片")))
    for word in ("ab", "芯a", "芯片公", "芯", "1芯"):
        assert not search.is_its_own_pair(word)
    assert "LIKE" in str(select(Lead.id).where(search.contains(Lead, "ab")))


@pytest.mark.parametrize("word", WORDS)
def test_named_gives_the_ids_contains_selects(session: Any, world: Any, word: str) -> None:
    for name in NAMES:
        LeadFactory(title=name, park=world.park_a)
    session.flush()
    for text_ in (word, search.Word.read(session, word, (Lead,))):
        assert set(session.scalars(search.named(Lead, text_))) == found(session, Lead, word)


def test_named_reads_the_pair_index_alone_for_its_own_pair() -> None:
    """Two ideographs: the pair's holders are the ids, the records' table is not read."""
    own = str(search.named(Enterprise, "芯片"))
    assert "FROM name_gram" in own
    assert "enterprise" not in own.replace("name_gram", "")
    assert "FROM enterprise" in str(search.named(Enterprise, "芯片公司"))


@pytest.mark.parametrize("word", WORDS)
def test_a_word_read_once_finds_what_its_text_finds(session: Any, world: Any, word: str) -> None:
    for name in NAMES:
        LeadFactory(title=name, park=world.park_a)
    session.flush()
    read = search.Word.read(session, word, (Lead, Enterprise))
    assert read == word
    assert found(session, Lead, read) == found(session, Lead, word)


def test_a_word_chooses_its_rarest_pairs_once(
    session: Any, world: Any, monkeypatch: Any, count_queries: Any
) -> None:
    """The pairs chosen in one statement for every kind are those a statement would choose
    itself; the statements that then use the word choose nothing."""
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for i in range(5):
        LeadFactory(title=f"公司{i}号", park=world.park_a)
    wanted = LeadFactory(title="龙芯公司", park=world.park_a)
    EnterpriseFactory(name="芯公司")
    session.flush()
    with count_queries() as counter:
        word = search.Word.read(session, "龙芯公司", (Lead, Enterprise))
    assert counter.count == 1
    for model in (Lead, Enterprise):
        kind = model.__search__[0]
        chosen = session.scalars(search._rarest(kind, sorted(grams(word))))
        assert word.rarest[kind] == tuple(chosen)
    kind = Lead.__search__[0]
    assert word.rarest[kind] == ("芯公", "龙芯")  # one lead each; 公司 six
    assert word.rarest[Enterprise.__search__[0]] == ("龙芯", "芯公")  # none, one
    with count_queries() as counter:
        assert found(session, Lead, word) == {wanted.id}
    assert "LIMIT" not in counter.statements[0]  # no pair counted again
    # Two pairs or fewer: all are used, rarest first; one statement tells whether they are
    # common.
    with count_queries() as counter:
        short = search.Word.read(session, "芯公司", (Lead,))
    assert counter.count == 1
    assert short.rarest == {kind: ("芯公", "公司")}
    assert short.common == frozenset()
    # One character: no pairs, nothing to read.
    with count_queries() as counter:
        assert search.Word.read(session, "芯", (Lead,)).rarest == {kind: ()}
    assert counter.count == 0


def test_a_pair_as_common_as_the_count_reached_is_left_out(
    session: Any, world: Any, monkeypatch: Any, count_queries: Any
) -> None:
    """A word's rarer pair is held by one lead, the next by more than the count reached: the
    rarer one alone finds the candidates, and the LIKE decides."""
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for i in range(5):
        LeadFactory(title=f"公司号{i}", park=world.park_a)
    wanted = LeadFactory(title="龙公司号", park=world.park_a)
    session.flush()
    with count_queries() as counter:
        word = search.Word.read(session, "龙公司号", (Lead,))
    assert counter.count == 1
    assert word.rarest == {Lead.__search__[0]: ("龙公",)}
    assert word.common == frozenset()
    assert found(session, Lead, word) == {wanted.id}


def test_a_word_whose_pairs_are_all_common_is_found_by_like_alone(
    session: Any, world: Any, monkeypatch: Any, count_queries: Any
) -> None:
    """Every pair of 项目洽谈 is held by more leads than either count reaches: leads are tested
    by the LIKE, without the pairs; the enterprises, holding none, still through them."""
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    monkeypatch.setattr(search, "COMMON_HOLDERS", 4)
    matching = [LeadFactory(title=f"{i}号项目洽谈", park=world.park_a) for i in range(4)]
    LeadFactory(title="项目 洽谈", park=world.park_a)  # the pairs 项目 and 洽谈, not the word
    for i in range(3):
        LeadFactory(title=f"目洽{i}", park=world.park_a)
    session.flush()
    with count_queries() as counter:
        word = search.Word.read(session, "项目洽谈", (Lead, Enterprise))
    assert counter.count == 2  # the first count reached its cap for leads: counted again
    assert word.common == {Lead.__search__[0]}
    sql = str(select(Lead.id).where(search.contains(Lead, word)))
    assert "name_gram" not in sql and "LIKE" in sql
    assert "name_gram" in str(select(Enterprise.id).where(search.contains(Enterprise, word)))
    assert (
        found(session, Lead, word)
        == found(session, Lead, "项目洽谈")
        == {lead.id for lead in matching}
    )
    # A word of two ideographs held by that many: the LIKE too (a page stops early), but as a
    # set of ids it is still read from the pair index, which holds it whole more compactly.
    own = search.Word.read(session, "洽谈", (Lead,))
    assert own.common == {Lead.__search__[0]}
    assert "name_gram" not in str(select(Lead.id).where(search.contains(Lead, own)))
    assert "FROM name_gram" in str(search.named(Lead, own))
    assert set(session.scalars(search.named(Lead, own))) == found(session, Lead, "洽谈")


def test_rebuild_writes_the_pairs_the_hook_writes(session: Any, world: Any) -> None:
    for name in NAMES:
        LeadFactory(title=name, park=world.park_a)
    session.flush()

    def everything() -> list[tuple]:
        return sorted(session.execute(select(NameGram.kind, NameGram.gram, NameGram.ref_id)))

    kept = everything()
    written = search.rebuild(session, (Enterprise, Lead, Project))
    assert everything() == kept
    assert written == len(kept)


def test_the_migration_fills_the_pairs_of_existing_names(app: Flask, tmp_path: Path) -> None:
    with migrated_scratch(app, tmp_path, revision="29d2d5146ee9"):
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO enterprise (name, name_key, is_global500, is_china500,"
                    " is_listed, version, created_at, updated_at)"
                    " VALUES ('示例科技', '示例', false, false, false, 1,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT kind, gram FROM name_gram")).all()
        assert sorted(rows) == sorted((1, gram) for gram in grams("示例科技"))
