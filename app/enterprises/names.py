"""Forgiving matching of enterprise names.

The same enterprise is written "京东方科技集团股份有限公司", "京东方科技(青岛)有限公司" or
"BOE Technology Group Co., Ltd.". :func:`normalize_name` reduces a name to a key without legal
forms, generic words, bracketed place names and leading place names, so that such spellings can be
compared; :func:`similarity` and :func:`is_similar` compare two names through their keys.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from difflib import SequenceMatcher

__all__ = [
    "CONTAINMENT_MIN_LENGTH",
    "PLACE_NAMES",
    "is_similar",
    "normalize_name",
    "similarity",
]

#: Provinces, municipalities and major cities, stripped when they lead a name or fill brackets.
# fmt: off
PLACE_NAMES: tuple[str, ...] = (
    # provinces, autonomous regions, municipalities, SARs
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门",
    # Shandong
    "青岛", "济南", "烟台", "潍坊", "威海", "日照", "淄博", "临沂", "济宁", "泰安", "德州",
    "聊城", "滨州", "菏泽", "枣庄", "东营",
    # other capitals and major cities
    "深圳", "广州", "珠海", "佛山", "东莞", "杭州", "宁波", "温州", "绍兴", "嘉兴", "南京",
    "苏州", "无锡", "常州", "南通", "合肥", "福州", "厦门", "泉州", "南昌", "武汉", "长沙",
    "成都", "西安", "郑州", "沈阳", "大连", "长春", "哈尔滨", "石家庄", "太原", "呼和浩特",
    "南宁", "贵阳", "昆明", "兰州", "西宁", "银川", "乌鲁木齐", "拉萨", "海口", "三亚",
)
# fmt: on

# Legal forms and generic words stripped from the end of a name, longest first.
_CJK_SUFFIXES = sorted(
    (
        "集团股份有限公司",
        "集团有限责任公司",
        "集团有限公司",
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "股份公司",
        "集团公司",
        "总公司",
        "有限合伙",
        "普通合伙",
        "合伙企业",
        "公司",
        "集团",
        "控股",
        "股份",
    ),
    key=len,
    reverse=True,
)
# Bracketed words dropped besides place names, e.g. "中国平安保险(集团)股份有限公司".
_GENERIC_BRACKET_WORDS = frozenset(
    {*_CJK_SUFFIXES, "中国", "中华", "国际", "亚洲", "亚太", "全球", "控股集团", "集团控股"}
)
# Latin words dropped anywhere, e.g. "BOE Technology Group Co., Ltd.".
_LATIN_GENERIC_WORDS = (
    "co",
    "company",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "group",
    "holding",
    "holdings",
    "llc",
    "plc",
    "gmbh",
)
_LATIN_BRACKET_WORDS = frozenset(
    {
        *_LATIN_GENERIC_WORDS,
        "china",
        "prc",
        "asia",
        "asiapacific",
        "international",
        "global",
        "hongkong",
        "qingdao",
        "shandong",
        "beijing",
        "shanghai",
        "shenzhen",
    }
)

_PLACE_LEVELS = ("特别行政区", "自治区", "省", "市")
_PLACE_PATTERN = "(?:{})(?:{})?".format(
    "|".join(sorted(PLACE_NAMES, key=len, reverse=True)), "|".join(_PLACE_LEVELS)
)
_LEADING_PLACE_RE = re.compile(rf"^{_PLACE_PATTERN}")
_ONLY_GENERIC_RE = re.compile("(?:{})+".format("|".join(_CJK_SUFFIXES)))
_BRANCH_RE = re.compile(rf"(?:{_PLACE_PATTERN})?(?:分公司|办事处)$")
_BRACKETED_PLACE_RE = re.compile(rf"{_PLACE_PATTERN}|.{{1,8}}(?:省|市|区|县|新区|开发区)")
_INNER_BRACKETS_RE = re.compile(r"\(([^()]*)\)")
_LATIN_GENERIC_RE = re.compile(
    r"(?<![a-z0-9])(?:{})(?![a-z0-9])".format("|".join(_LATIN_GENERIC_WORDS))
)
_NOT_WORD_RE = re.compile(r"[\W_]+")
_BRACKET_TRANSLATION = str.maketrans("【】〔〕〖〗[]{}", "()()()()()")

#: A leading place name is stripped only if at least this many characters remain, so that
#: "青岛啤酒" and "北京银行" keep the place that is part of their brand.
_MIN_REMAINDER_AFTER_PLACE = 3
#: With at least this many characters, a key contained in another counts as a full match.
CONTAINMENT_MIN_LENGTH = 4


def _is_droppable_bracket(content: str) -> bool:
    key = _NOT_WORD_RE.sub("", content)
    if not key:
        return True
    return (
        key in _GENERIC_BRACKET_WORDS
        or key in _LATIN_BRACKET_WORDS
        or _BRACKETED_PLACE_RE.fullmatch(key) is not None
    )


def _drop_brackets(text: str) -> str:
    """Drop bracketed place names and generic words; keep other bracketed text, unbracketed."""

    def replace(match: re.Match[str]) -> str:
        content = match[1]
        return "" if _is_droppable_bracket(content) else f" {content} "

    while True:
        replaced = _INNER_BRACKETS_RE.sub(replace, text)
        if replaced == text:
            return replaced.replace("(", " ").replace(")", " ")
        text = replaced


def _strip_latin_generic_words(text: str) -> str:
    stripped = _LATIN_GENERIC_RE.sub(" ", text)
    return stripped if _NOT_WORD_RE.sub("", stripped) else text


def _strip_cjk_affixes(key: str) -> str:
    if _ONLY_GENERIC_RE.fullmatch(key):
        return key
    while True:
        before = key
        branch = _BRANCH_RE.search(key)
        if branch is not None and branch.start() > 0:
            key = key[: branch.start()]
        for suffix in _CJK_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                break
        place = _LEADING_PLACE_RE.match(key)
        if place is not None and len(key) - place.end() >= _MIN_REMAINDER_AFTER_PLACE:
            key = key[place.end() :]
        if key == before:
            return key


@functools.lru_cache(maxsize=1 << 16)
def normalize_name(name: str) -> str:
    """Reduce an enterprise name to a key for comparison.

    NFKC, lower-case, no whitespace or punctuation; bracketed place names and generic words
    dropped ("(青岛)", "（中国）"); legal forms and generic suffixes stripped (有限公司, 集团,
    控股, "Co., Ltd.", "Group" …); a leading province or city stripped when at least three
    characters follow. Nothing is stripped that would leave the key empty.
    """
    text = unicodedata.normalize("NFKC", name).translate(_BRACKET_TRANSLATION).lower()
    text = _drop_brackets(text)
    text = _strip_latin_generic_words(text)
    key = _NOT_WORD_RE.sub("", text)
    return _strip_cjk_affixes(key)


def similarity(a: str, b: str) -> float:
    """Return how alike two enterprise names are, from 0.0 to 1.0, compared by their keys.

    Equal keys, or a key of at least four characters contained in the other, give 1.0; otherwise
    the ratio of :class:`difflib.SequenceMatcher`. An empty key matches nothing.
    """
    key_a, key_b = normalize_name(a), normalize_name(b)
    if not key_a or not key_b:
        return 0.0
    if key_a == key_b:
        return 1.0
    shorter, longer = sorted((key_a, key_b), key=len)
    if len(shorter) >= CONTAINMENT_MIN_LENGTH and shorter in longer:
        return 1.0
    return SequenceMatcher(None, key_a, key_b, autojunk=False).ratio()


def is_similar(a: str, b: str, threshold: float = 0.85) -> bool:
    """Tell whether two enterprise names probably denote the same enterprise."""
    return similarity(a, b) >= threshold
