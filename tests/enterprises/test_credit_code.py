"""Tests for app.enterprises.credit_code: the Unified Social Credit Code (GB 32100-2015)."""

from __future__ import annotations

import pytest

from app.enterprises.credit_code import (
    CHARSET,
    CODE_LENGTH,
    WEIGHTS,
    CreditCodeError,
    check_character,
    is_valid_credit_code,
    normalize_credit_code,
    validate_credit_code,
)

# Commonly cited public codes; each is checked against the algorithm below.
PUBLIC_CODES = ["91350100M000100Y43", "91110108551385082Q"]

# Codes built with the algorithm (first 17 characters chosen by hand, check computed once and
# written down here so that a change to the algorithm shows up).
COMPUTED_CODES = [
    "91370211MA3C7Y5B2E",
    "91370200718034343L",
    "11100000000000000J",
    "52370200MJD123456A",
]


def _independent_check(first17: str) -> str:
    """The check character computed straight from the standard, as a cross-check."""
    total = sum(CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CHARSET[(31 - total % 31) % 31]


def test_constants_follow_the_standard() -> None:
    assert len(CHARSET) == 31
    assert set("IOZSV").isdisjoint(CHARSET)
    assert CODE_LENGTH == 18
    assert tuple(pow(3, i, 31) for i in range(17)) == WEIGHTS


@pytest.mark.parametrize("code", PUBLIC_CODES + COMPUTED_CODES)
def test_valid_codes(code: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)
    assert check_character(code[:17]) == code[17]
    assert _independent_check(code[:17]) == code[17]


@pytest.mark.parametrize(
    "code",
    [
        "91370211MA3C7Y5B2E",
        "91350100M000100Y43",
        "52370200MJD123456A",
        "11100000000000000J",
    ],
)
def test_check_character_with_known_results(code: str) -> None:
    assert check_character(code[:17]) == code[17]


def test_check_value_31_maps_to_zero() -> None:
    # All zeros: sum is 0, 31 - 0 = 31, which the standard maps to "0".
    assert check_character("0" * 17) == "0"


@pytest.mark.parametrize(
    "first17",
    ["91370200MA3C7Y5B2", "12100000400010000", "Y1370200MA0000000", "93370211MAC0XX123"],
)
def test_check_character_matches_independent_computation(first17: str) -> None:
    assert check_character(first17) == _independent_check(first17)
    assert is_valid_credit_code(first17 + check_character(first17))


def test_every_check_value_is_reachable() -> None:
    seen = {check_character(f"9137020{n:010d}") for n in range(400)}
    assert seen == set(CHARSET)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91350100m000100y43", "91350100M000100Y43"),
        (" 91350100M000100Y43 ", "91350100M000100Y43"),
        ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),
        ("９１３５０１００ｍ０００１００ｙ４３", "91350100M000100Y43"),
        ("\u300091350100M000100Y43\t\n", "91350100M000100Y43"),
        ("abc", "ABC"),
        (None, None),
        ("", None),
        ("   ", None),
        ("\u3000", None),
    ],
)
def test_normalize_credit_code(text: str | None, expected: str | None) -> None:
    assert normalize_credit_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "91350100m000100y43",
        "  91350100M000100Y43",
        "９１３５０１００Ｍ０００１００Ｙ４３",
        "9135 0100 M000 100Y 43",
    ],
)
def test_validate_returns_normalized_code(text: str) -> None:
    assert validate_credit_code(text) == "91350100M000100Y43"
    assert is_valid_credit_code(text)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("91350100M000100Y4", 17),
        ("91350100M000100Y433", 19),
        ("1", 1),
        ("91350100M000100Y43X" * 2, 38),
    ],
)
def test_wrong_length(text: str, length: int) -> None:
    with pytest.raises(CreditCodeError) as excinfo:
        validate_credit_code(text)
    assert excinfo.value.message == f"统一社会信用代码应为18位，当前为{length}位"
    assert not is_valid_credit_code(text)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_empty_code(text: str | None) -> None:
    with pytest.raises(CreditCodeError, match="不能为空"):
        validate_credit_code(text)
    assert not is_valid_credit_code(text)


@pytest.mark.parametrize(
    ("text", "position", "char"),
    [
        ("I1350100M000100Y43", 1, "I"),
        ("91350100O000100Y43", 9, "O"),
        ("91350100M000100Z43", 16, "Z"),
        ("91350100M000100S43", 16, "S"),
        ("9135010OM000100Y4V", 8, "O"),
        ("91350100M000100Y4V", 18, "V"),
        ("91350100M-00100Y43", 10, "-"),
        ("91350100M0001中0Y43", 14, "中"),
    ],
)
def test_illegal_character(text: str, position: int, char: str) -> None:
    with pytest.raises(CreditCodeError) as excinfo:
        validate_credit_code(text)
    message = excinfo.value.message
    assert message.startswith(f"第{position}位字符“{char}”不合法")
    for letter in "IOZSV":
        assert letter in message
    assert not is_valid_credit_code(text)


@pytest.mark.parametrize(
    ("text", "expected", "actual"),
    [
        ("91350100M000100Y44", "3", "4"),
        ("91350100M000100Y4A", "3", "A"),
        ("91370211MA3C7Y5B2L", "E", "L"),
        ("91350100M000101Y43", None, "3"),
    ],
)
def test_wrong_check_character(text: str, expected: str | None, actual: str) -> None:
    expected = expected or check_character(text[:17])
    with pytest.raises(CreditCodeError) as excinfo:
        validate_credit_code(text)
    assert excinfo.value.message == f"校验位错误：第18位应为{expected}，当前为{actual}"
    assert not is_valid_credit_code(text)


@pytest.mark.parametrize("position", range(17))
def test_single_character_change_is_detected(position: int) -> None:
    code = "91350100M000100Y43"
    for replacement in CHARSET:
        if replacement == code[position]:
            continue
        changed = code[:position] + replacement + code[position + 1 :]
        assert not is_valid_credit_code(changed), changed


def test_adjacent_swap_is_detected() -> None:
    code = "91370211MA3C7Y5B2E"
    for i in range(16):
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        assert not is_valid_credit_code(swapped), swapped


@pytest.mark.parametrize("first17", ["9137021", "91350100M000100Y43", "", "   "])
def test_check_character_needs_seventeen_characters(first17: str) -> None:
    with pytest.raises(CreditCodeError, match="前17位"):
        check_character(first17)


@pytest.mark.parametrize("first17", ["91350100M000100I4", "9135010OM000100Y4"])
def test_check_character_refuses_illegal_characters(first17: str) -> None:
    with pytest.raises(CreditCodeError, match="不合法"):
        check_character(first17)


def test_check_character_normalizes_input() -> None:
    assert check_character(" ９１３５０１００ｍ０００１００ｙ４ ") == "3"


def test_credit_code_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        validate_credit_code("123")
