"""Tests for app.enterprises.names: forgiving enterprise-name matching."""

from __future__ import annotations

import pytest

from app.enterprises.names import is_similar, normalize_name, similarity


@pytest.mark.parametrize(
    ("name", "key"),
    [
        # legal forms and generic suffixes
        ("京东方科技集团股份有限公司", "京东方科技"),
        ("京东方科技(青岛)有限公司", "京东方科技"),
        ("京东方科技（青岛）有限公司", "京东方科技"),
        ("京东方科技【青岛】有限公司", "京东方科技"),
        ("京东方科技 ( 青岛 ) 有限公司", "京东方科技"),
        ("京东方科技有限责任公司", "京东方科技"),
        ("京东方科技股份公司", "京东方科技"),
        ("京东方科技集团有限公司", "京东方科技"),
        ("京东方科技集团", "京东方科技"),
        ("京东方科技控股", "京东方科技"),
        ("京东方科技股份", "京东方科技"),
        ("京东方科技公司", "京东方科技"),
        ("海尔集团公司", "海尔"),
        ("芯恩控股集团有限公司", "芯恩"),
        ("某某投资中心(有限合伙)", "某某投资中心"),
        # generic words and places in brackets
        ("中国平安保险(集团)股份有限公司", "中国平安保险"),
        ("西门子(中国)有限公司", "西门子"),
        ("三星电子（山东）有限公司", "三星电子"),
        ("芯恩(青岛)集成电路有限公司", "芯恩集成电路"),
        ("芯恩(青岛市)集成电路有限公司", "芯恩集成电路"),
        ("芯恩(山东省)集成电路有限公司", "芯恩集成电路"),
        ("芯恩(西海岸新区)集成电路有限公司", "芯恩集成电路"),
        ("芯恩(黄岛区)集成电路有限公司", "芯恩集成电路"),
        ("海尔(Haier)智家股份有限公司", "海尔haier智家"),
        # leading provinces and cities
        ("青岛海尔智家股份有限公司", "海尔智家"),
        ("青岛市海尔智家股份有限公司", "海尔智家"),
        ("山东省青岛市芯恩集成电路有限公司", "芯恩集成电路"),
        ("山东芯恩集成电路有限公司", "芯恩集成电路"),
        ("北京同仁堂股份有限公司", "同仁堂"),
        ("上海华虹宏力半导体制造有限公司", "华虹宏力半导体制造"),
        ("深圳市华星光电半导体显示技术有限公司", "华星光电半导体显示技术"),
        ("内蒙古伊利实业集团股份有限公司", "伊利实业"),
        # a place that is part of the brand stays (fewer than three characters would remain)
        ("青岛啤酒股份有限公司", "青岛啤酒"),
        ("北京银行股份有限公司", "北京银行"),
        ("上海电气集团股份有限公司", "上海电气"),
        ("青岛控股集团有限公司", "青岛"),
        # "中国" at the start is part of the name
        ("中国石油化工股份有限公司", "中国石油化工"),
        ("中国银行股份有限公司", "中国银行"),
        # branch offices
        ("京东方科技集团股份有限公司青岛分公司", "京东方科技"),
        ("京东方科技集团股份有限公司分公司", "京东方科技"),
        ("京东方科技集团股份有限公司北京办事处", "京东方科技"),
        # Latin names
        ("BOE Technology Group Co., Ltd.", "boetechnology"),
        ("BOE TECHNOLOGY GROUP CO.,LTD.", "boetechnology"),
        ("ＢＯＥ　Ｔｅｃｈｎｏｌｏｇｙ　Ｇｒｏｕｐ　Ｃｏ．，Ｌｔｄ．", "boetechnology"),
        ("Haier (China) Co., Ltd", "haier"),
        ("Siemens Ltd., China", "siemenschina"),
        ("Apple Inc.", "apple"),
        ("Microsoft Corporation", "microsoft"),
        ("General Motors Company", "generalmotors"),
        ("Foo Holdings Limited", "foo"),
        ("Bosch GmbH", "bosch"),
        ("Coca-Cola Corp", "cocacola"),
        ("Cobalt Co", "cobalt"),
        ("Johnson & Johnson", "johnsonjohnson"),
        # whitespace, punctuation and width
        ("京东方 科技\t集团", "京东方科技"),
        ("京东方·科技", "京东方科技"),
        ("ＴＣＬ科技集团股份有限公司", "tcl科技"),
        # nothing would remain: keep what there is
        ("有限公司", "有限公司"),
        ("集团有限公司", "集团有限公司"),
        ("控股集团", "控股集团"),
        ("Group Co., Ltd.", "groupcoltd"),
        ("青岛", "青岛"),
        ("", ""),
        ("   ", ""),
        ("()", ""),
    ],
)
def test_normalize_name(name: str, key: str) -> None:
    assert normalize_name(name) == key


@pytest.mark.parametrize(
    "name",
    [
        "京东方科技集团股份有限公司",
        "BOE Technology Group Co., Ltd.",
        "青岛啤酒股份有限公司",
        "有限公司",
    ],
)
def test_normalize_name_is_idempotent(name: str) -> None:
    key = normalize_name(name)
    assert normalize_name(key) == key


@pytest.mark.parametrize(
    "name",
    ["京东方科技集团股份有限公司", "京东方科技(青岛)有限公司", "BOE Technology Group Co., Ltd."],
)
def test_key_is_never_longer_than_name(name: str) -> None:
    assert len(normalize_name(name)) <= len(name)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("京东方科技集团股份有限公司", "京东方科技(青岛)有限公司"),
        ("京东方科技集团股份有限公司", "京东方科技集团"),
        ("京东方科技集团股份有限公司", "京东方科技集团股份有限公司青岛分公司"),
        ("海尔集团公司", "海尔集团"),
        ("芯恩(青岛)集成电路有限公司", "芯恩集成电路有限公司"),
        ("青岛芯恩集成电路有限公司", "芯恩集成电路"),
        ("BOE Technology Group Co., Ltd.", "boe technology group"),
    ],
)
def test_same_enterprise_written_differently_is_identical(a: str, b: str) -> None:
    assert similarity(a, b) == 1.0
    assert similarity(b, a) == 1.0
    assert is_similar(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # one key contained in the other, the shorter with at least four characters
        ("京东方科技集团股份有限公司", "京东方科技创新研究院有限公司"),
        ("芯恩集成电路", "芯恩集成电路制造"),
        ("haier", "haier smart home"),
    ],
)
def test_containment_counts_as_full_match(a: str, b: str) -> None:
    assert similarity(a, b) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # containment of a short key is not enough
        ("海尔集团公司", "海尔智家股份有限公司"),
        ("华为", "华为终端"),
        ("abc", "abcdef"),
    ],
)
def test_short_containment_is_not_a_full_match(a: str, b: str) -> None:
    assert similarity(a, b) < 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("京东方科技集团股份有限公司", "TCL科技集团股份有限公司"),
        ("青岛啤酒股份有限公司", "上海啤酒有限公司"),
        ("北京银行股份有限公司", "青岛银行股份有限公司"),
        ("海尔集团公司", "海信集团有限公司"),
        ("芯恩(青岛)集成电路有限公司", "中芯国际集成电路制造有限公司"),
        ("BOE Technology Group Co., Ltd.", "TCL Technology Group Corporation"),
        ("京东方科技集团股份有限公司", ""),
        ("", ""),
    ],
)
def test_different_enterprises_are_not_similar(a: str, b: str) -> None:
    assert not is_similar(a, b)


def test_similarity_uses_sequence_ratio_on_keys() -> None:
    # keys "京东方科技" and "京东方光电科技": 2 * 5 / 12
    assert similarity("京东方科技集团", "京东方光电科技有限公司") == pytest.approx(10 / 12)
    # keys "海尔" and "海信": 2 * 1 / 4
    assert similarity("海尔集团", "海信集团") == pytest.approx(0.5)


def test_similarity_is_symmetric_and_bounded() -> None:
    names = [
        "京东方科技集团股份有限公司",
        "京东方光电科技有限公司",
        "BOE Technology Group Co., Ltd.",
        "海尔集团公司",
        "青岛啤酒",
        "",
    ]
    for a in names:
        for b in names:
            value = similarity(a, b)
            assert 0.0 <= value <= 1.0
            assert value == pytest.approx(similarity(b, a))


def test_empty_names_match_nothing() -> None:
    assert similarity("", "") == 0.0
    assert similarity("有限公司", "") == 0.0


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(0.8, True), (10 / 12, True), (0.85, False), (0.95, False)],
)
def test_is_similar_threshold(threshold: float, expected: bool) -> None:
    assert is_similar("京东方科技集团", "京东方光电科技有限公司", threshold) is expected


def test_default_threshold() -> None:
    # key ratio 10/12 is just below the default threshold of 0.85
    assert not is_similar("京东方科技集团", "京东方光电科技有限公司")
    # keys "京东方科技" and "京东方科技园": the shorter (5 characters) is contained
    assert is_similar("京东方科技", "京东方科技园")
    # keys "芯恩集成电路" and "芯思集成电路": 2 * 5 / 12
    assert not is_similar("芯恩集成电路", "芯思集成电路")
    assert is_similar("芯恩集成电路", "芯思集成电路", threshold=0.8)
