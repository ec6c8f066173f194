"""Tests for app.core.money: exact amounts in 亿元."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from app.core.money import (
    MAX_AMOUNT_YI,
    UNITS,
    WAN,
    YI,
    YUAN,
    AmountError,
    format_yi,
    from_wan,
    parse_amount,
    to_wan,
    yi_to_yuan,
    yuan_to_yi,
)

D = Decimal


def test_unit_constants() -> None:
    assert YI == 1
    assert WAN * 10_000 == YI
    assert YUAN * 100_000_000 == YI
    assert UNITS == ("亿元", "万元", "元")
    assert MAX_AMOUNT_YI == 100_000


def test_amount_error_is_value_error_with_message() -> None:
    error = AmountError("金额不能为负数：-1")
    assert isinstance(error, ValueError)
    assert error.message == "金额不能为负数：-1"
    assert str(error) == "金额不能为负数：-1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.5亿", "3.5"),
        ("3.5亿元", "3.5"),
        ("35000万", "3.5"),
        ("35000万元", "3.5"),
        ("3,500万元", "0.35"),
        ("35,000万元", "3.5"),
        ("1,500亿元", "1500"),
        ("1,234,567.5万", "123.45675"),
        ("350000000元", "3.5"),
        ("350,000,000元", "3.5"),
        ("1元", "0.00000001"),
        ("12345.67元", None),  # finer than one yuan: see test_precision
        ("３.５亿", "3.5"),
        ("３５０００万元", "3.5"),
        ("３，５００万元", "0.35"),
        ("３．５亿元", "3.5"),
        ("3。5亿", "3.5"),
        ("  3.5亿  ", "3.5"),
        ("\u30003.5亿\u3000", "3.5"),
        ("\t3.5 亿元\n", "3.5"),
        ("3.5 万", "0.00035"),
        ("0", "0"),
        ("0亿", "0"),
        ("0.0万元", "0"),
        ("-0", "0"),
        (".5亿", "0.5"),
        ("5.亿", "5"),
        ("007", "7"),
        ("50", "50"),
        ("100000亿", "100000"),
        ("1000000000万", "100000"),
    ],
)
def test_parse_text_with_or_without_unit(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(AmountError):
            parse_amount(text)
        return
    result = parse_amount(text)
    assert isinstance(result, Decimal)
    assert result == D(expected)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("3.5", "亿元", "3.5"),
        ("3.5", "万元", "0.00035"),
        ("35000", "万元", "3.5"),
        ("350000000", "元", "3.5"),
        ("3,500", "万元", "0.35"),
        (35000, "万元", "3.5"),
        (3, "亿元", "3"),
        (350000000, "元", "3.5"),
        (D("35000.00"), "万元", "3.5"),
        (D("3.5"), "亿元", "3.5"),
        (D("3.5E+4"), "万元", "3.5"),
        (3.5, "亿元", "3.5"),
        (35000.0, "万元", "3.5"),
        (0.1, "亿元", "0.1"),
        # A unit written in the text wins over the unit of the column.
        ("3.5亿", "万元", "3.5"),
        ("35000万", "元", "3.5"),
        ("350000000元", "亿元", "3.5"),
        # Short forms of the units are accepted for the column too.
        ("35000", "万", "3.5"),
        ("3.5", "亿", "3.5"),
    ],
)
def test_parse_in_field_unit(value: str | int | float | Decimal, unit: str, expected: str) -> None:
    assert parse_amount(value, unit) == D(expected)


def test_default_unit_is_yi() -> None:
    assert parse_amount("2") == D(2)
    assert parse_amount(2) == D(2)


@pytest.mark.parametrize("text", [None, "", " ", "   ", "\t\n", "\u3000"])
def test_nothing_written_gives_none(text: str | None) -> None:
    assert parse_amount(text) is None
    assert parse_amount(text, "万元") is None


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        ("3.5亿", "亿元", "3.500000"),
        ("35000万", "亿元", "3.500000"),
        ("1万元", "亿元", "0.000100"),
        ("0", "亿元", "0.000000"),
        ("-0", "亿元", "0.000000"),
        ("1元", "亿元", "1E-8"),
        ("123元", "亿元", "0.00000123"),
        ("1.5", "万元", "0.000150"),
        (D("3.50000000000000"), "亿元", "3.500000"),
    ],
)
def test_result_has_six_decimals_when_exact_else_eight(value: object, unit: str, text: str) -> None:
    result = parse_amount(value, unit)  # type: ignore[arg-type]
    assert str(result) == text
    assert result == D(text)


def test_result_never_negative_zero() -> None:
    result = parse_amount("-0")
    assert result is not None
    assert not result.is_signed()


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ("0.123456789亿", "亿元"),
        ("0.000000001", "亿元"),
        ("1.5元", "元"),
        ("0.00001万", "万元"),
        ("12345.67元", "亿元"),
        ("1.23456", "元"),
        (D("0.000000001"), "亿元"),
        (D("1E-30"), "亿元"),
        (D("1.0000000000000000000000000000000000001"), "亿元"),
        ("1.0000000000000000000000000001万", "亿元"),
        (0.000000001, "亿元"),
    ],
)
def test_precision_finer_than_one_yuan_is_refused(value: object, unit: str) -> None:
    with pytest.raises(AmountError, match="金额精度不能小于1元"):
        parse_amount(value, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["0.12345678亿", "1.00000000000000000000", D("2.000000000000000000000000000000000000")],
)
def test_trailing_zeros_do_not_count_as_precision(value: str | Decimal) -> None:
    result = parse_amount(value)
    assert result is not None
    assert yi_to_yuan(result) * YUAN == result


@pytest.mark.parametrize(
    "text",
    [
        "约3亿",
        "3亿左右",
        "abc",
        "三亿",
        "3.5亿美元",
        "3.5千万",
        "3.5万亿",
        "1e400",
        "1E5",
        "1e-5",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "-Infinity",
        "+3",
        "3.5.1",
        "3,5",
        "35,00",
        "3,5000万",
        ",350",
        "3 5",
        "3.5亿亿",
        "亿",
        "万元",
        ".",
        "-",
        "0x10",
        "1_000",
        "٣",  # an Arabic-Indic digit
        "3" * 80,
        "3.5亿元。",
    ],
)
def test_unparseable_text_is_refused(text: str) -> None:
    with pytest.raises(AmountError) as excinfo:
        parse_amount(text)
    message = excinfo.value.message
    assert message.startswith("无法识别的金额：")
    assert "请填写如 3.5亿、35000万 或数字" in message


def test_unparseable_message_quotes_the_input() -> None:
    with pytest.raises(AmountError) as excinfo:
        parse_amount("  约3亿 ")
    assert excinfo.value.message == "无法识别的金额：约3亿，请填写如 3.5亿、35000万 或数字"


@pytest.mark.parametrize(
    "value",
    ["-1", "-3.5亿", "－３.５亿", "−3.5亿", "- 3亿", "-35000万元", -1, D("-0.5"), -2.5],
)
def test_negative_amounts_are_refused(value: object) -> None:
    with pytest.raises(AmountError, match="金额不能为负数"):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ("100000.00000001亿", "亿元"),
        ("100001", "亿元"),
        ("1000000001万", "亿元"),
        ("3500000000000000元", "亿元"),
        ("12345678901234567890", "亿元"),
        (D("1E+400"), "亿元"),
        (10**30, "元"),
        (1e300, "亿元"),
    ],
)
def test_unreasonably_large_amounts_are_refused(value: object, unit: str) -> None:
    with pytest.raises(AmountError, match=r"金额过大.*100000亿元"):
        parse_amount(value, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), float("nan"), float("inf"), True]
)
def test_non_finite_and_bool_values_are_refused(value: object) -> None:
    with pytest.raises(AmountError, match="无法识别的金额"):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [[3], object(), b"3.5"])
def test_other_types_are_a_programming_error(value: object) -> None:
    with pytest.raises(TypeError):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["美元", "千元", "", "yuan"])
def test_unknown_unit_is_refused(unit: str) -> None:
    with pytest.raises(ValueError, match="未知的金额单位"):
        parse_amount("3", unit)


def test_parsing_does_not_depend_on_context_precision() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        assert parse_amount("12345.6789万") == D("1.23456789")
        assert parse_amount("99999.99999999") == D("99999.99999999")
        assert yi_to_yuan(D("99999.99999999")) == 9_999_999_999_999
        assert yuan_to_yi(9_999_999_999_999) == D("99999.99999999")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, "—"),
        (D("3.5"), "3.50"),
        (D("3.500000"), "3.50"),
        (D("0"), "0.00"),
        (D("0.000000"), "0.00"),
        (D("1500"), "1,500.00"),
        (D("1500.000000"), "1,500.00"),
        (D("100000"), "100,000.00"),
        (D("1234567.891"), "1,234,567.89"),
        (D("0.005"), "0.01"),
        (D("0.015"), "0.02"),
        (D("0.025"), "0.03"),
        (D("2.675"), "2.68"),
        (D("0.004999"), "0.00"),
        (D("0.00000001"), "0.00"),
        (D("999.995"), "1,000.00"),
        (D("-3.5"), "-3.50"),
        (D("-0.001"), "0.00"),
        (D("-1234.5"), "-1,234.50"),
        (D("1E+30"), "1,000,000,000,000,000,000,000,000,000,000.00"),
    ],
)
def test_format_yi(amount: Decimal | None, expected: str) -> None:
    assert format_yi(amount) == expected


@pytest.mark.parametrize("amount", [D("NaN"), D("Infinity")])
def test_format_yi_refuses_non_finite(amount: Decimal) -> None:
    with pytest.raises(AmountError):
        format_yi(amount)


@pytest.mark.parametrize(
    ("yi", "wan"),
    [
        ("3.5", "35000"),
        ("0", "0"),
        ("0.0001", "1"),
        ("0.00000001", "0.0001"),
        ("1500", "15000000"),
        ("-2", "-20000"),
        ("123.456789", "1234567.89"),
    ],
)
def test_wan_conversions(yi: str, wan: str) -> None:
    assert to_wan(D(yi)) == D(wan)
    assert from_wan(D(wan)) == D(yi)
    assert from_wan(to_wan(D(yi))) == D(yi)


def test_wan_conversions_are_exact_beyond_context_precision() -> None:
    many_digits = D("1." + "1" * 40)
    assert from_wan(to_wan(many_digits)) == many_digits
    assert to_wan(many_digits) == D("11111." + "1" * 36)


@pytest.mark.parametrize(
    ("yi", "yuan"),
    [
        ("3.5", 350_000_000),
        ("3.500000", 350_000_000),
        ("0", 0),
        ("0.00000001", 1),
        ("0.00000123", 123),
        ("1", 100_000_000),
        ("1500", 150_000_000_000),
        ("100000", 10_000_000_000_000),
        ("1E+5", 10_000_000_000_000),
        ("1.00000000000000", 100_000_000),
        ("-3.5", -350_000_000),
        ("12345678.12345678", 1_234_567_812_345_678),
    ],
)
def test_yuan_conversions(yi: str, yuan: int) -> None:
    assert yi_to_yuan(D(yi)) == yuan
    assert isinstance(yi_to_yuan(D(yi)), int)
    assert yuan_to_yi(yuan) == D(yi)


@pytest.mark.parametrize("yi", ["0.000000001", "3.123456789", "1E-9", "-0.000000005"])
def test_yi_to_yuan_refuses_fractions_of_a_yuan(yi: str) -> None:
    with pytest.raises(AmountError, match="金额精度不能小于1元"):
        yi_to_yuan(D(yi))


@pytest.mark.parametrize("yi", [D("NaN"), D("Infinity")])
def test_yi_to_yuan_refuses_non_finite(yi: Decimal) -> None:
    with pytest.raises(AmountError):
        yi_to_yuan(yi)


@pytest.mark.parametrize("value", [3.5, 3, "3.5"])
def test_yi_to_yuan_needs_a_decimal(value: object) -> None:
    with pytest.raises(TypeError):
        yi_to_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("yuan", "text"),
    [
        (350_000_000, "3.500000"),
        (1, "1E-8"),
        (0, "0.000000"),
        (10_000, "0.000100"),
        (123, "0.00000123"),
    ],
)
def test_yuan_to_yi_canonical_form(yuan: int, text: str) -> None:
    assert str(yuan_to_yi(yuan)) == text


@pytest.mark.parametrize("value", [3.5, "350000000", D(1), True])
def test_yuan_to_yi_needs_an_int(value: object) -> None:
    with pytest.raises(TypeError):
        yuan_to_yi(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["3.5亿", "35000万", "1元", "0.12345678亿", "99999.99999999亿", "1,234万元"]
)
def test_round_trip_through_whole_yuan(text: str) -> None:
    amount = parse_amount(text)
    assert amount is not None
    assert yuan_to_yi(yi_to_yuan(amount)) == amount
    assert str(yuan_to_yi(yi_to_yuan(amount))) == str(amount)


def test_sums_are_exact() -> None:
    amounts = [parse_amount("0.1亿"), parse_amount("0.2亿"), parse_amount("1000万")]
    total = sum((a for a in amounts if a is not None), D(0))
    assert total == D("0.4")
    assert format_yi(total) == "0.40"
