"""Exact money handling in 亿元 (100 million yuan).

Every amount in the application is a :class:`~decimal.Decimal` counted in 亿元, never a float.
Ledgers write amounts in many ways ("3.5亿", "35000万元", "３,５００万", plain numbers in a stated
column unit); :func:`parse_amount` takes them all and refuses anything it cannot read exactly.
Amounts are stored as whole yuan (see :func:`yi_to_yuan` / :func:`yuan_to_yi`).

All arithmetic here works on the digits and exponent of the decimal directly, so no result depends
on the precision of the current decimal context.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, localcontext

from app.core.i18n import gettext as _

__all__ = [
    "MAX_AMOUNT_YI",
    "UNITS",
    "UNIT_WAN",
    "UNIT_YI",
    "UNIT_YUAN",
    "WAN",
    "YI",
    "YUAN",
    "AmountError",
    "format_yi",
    "from_wan",
    "parse_amount",
    "to_wan",
    "yi_to_yuan",
    "yuan_to_yi",
]

#: One 亿元, the unit of every amount.
YI = Decimal(1)
#: One 万元 expressed in 亿元.
WAN = Decimal("0.0001")
#: One 元 expressed in 亿元 (the smallest amount that can be stored).
YUAN = Decimal("0.00000001")

UNIT_YI = "亿元"
UNIT_WAN = "万元"
UNIT_YUAN = "元"
#: The units a ledger column may be stated in.
UNITS = (UNIT_YI, UNIT_WAN, UNIT_YUAN)

#: Amounts above this (in 亿元) are refused as almost certainly a unit mistake.
MAX_AMOUNT_YI = Decimal(100000)

# Power of ten that turns an amount in the unit into 亿元.
_UNIT_SHIFT = {"亿元": 0, "亿": 0, "万元": -4, "万": -4, "元": -8}
# Amounts are returned with 6 decimals when exact, else with 8 (whole yuan).
_DISPLAY_PLACES = 6
_YUAN_PLACES = 8
# Longer input is certainly not an amount; refusing it early keeps parsing cheap.
_MAX_TEXT_LENGTH = 64

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_AMOUNT_RE = re.compile(
    rf"(?P<minus>-\s*)?(?P<number>{_NUMBER})\s*(?P<unit>亿元|亿|万元|万|元)?", re.ASCII
)
# Characters NFKC leaves alone but people type for "-" and ".".
_EXTRA_TRANSLATION = str.maketrans({"−": "-", "—": "-", "–": "-", "。": "."})


class AmountError(ValueError):
    """An amount that cannot be accepted; ``message`` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _unparseable(original: object) -> AmountError:
    return AmountError(_("无法识别的金额：%(text)s，请填写如 3.5亿、35000万 或数字", text=original))


def _shift(value: Decimal, places: int) -> Decimal:
    """Return ``value * 10**places`` exactly, whatever the context precision."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return Decimal((sign, digits, exponent + places))


def _exact_exponent(value: Decimal) -> int:
    """Return the exponent of ``value`` once trailing zeros of its coefficient are dropped."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + trailing


def _with_places(value: Decimal, places: int) -> Decimal:
    """Return ``value`` written with exactly ``places`` decimals; it must fit without loss."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return Decimal((0, (0,), -places))
    extra = exponent + places
    if extra >= 0:
        return Decimal((sign, tuple(digits) + (0,) * extra, -places))
    kept = tuple(digits)[: len(digits) + extra]
    return Decimal((sign, kept or (0,), -places))


def _canonical(value: Decimal) -> Decimal:
    """Write a whole-yuan amount in 亿元 with 6 decimals if exact, else with 8."""
    if _exact_exponent(value) >= -_DISPLAY_PLACES:
        return _with_places(value, _DISPLAY_PLACES)
    return _with_places(value, _YUAN_PLACES)


def _shift_for_unit(unit: str) -> int:
    try:
        return _UNIT_SHIFT[unit]
    except KeyError:
        raise ValueError(f"未知的金额单位：{unit}，应为 亿元、万元 或 元") from None


def _check_range(amount: Decimal, original: object) -> Decimal:
    """Apply the business rules to an amount in 亿元 and return it in canonical form."""
    if amount < 0:
        raise AmountError(_("金额不能为负数：%(text)s", text=original))
    if amount > MAX_AMOUNT_YI:
        raise AmountError(
            _("金额过大：%(text)s，超过100000亿元，请检查单位是否填错", text=original)
        )
    if _exact_exponent(amount) < -_YUAN_PLACES:
        raise AmountError(_("金额精度不能小于1元：%(text)s", text=original))
    return _canonical(amount)


def _parse_text(text: str, shift: int) -> Decimal | None:
    cleaned = unicodedata.normalize("NFKC", text).translate(_EXTRA_TRANSLATION)
    cleaned = cleaned.strip()
    if not cleaned:
        return None
    if len(cleaned) > _MAX_TEXT_LENGTH:
        raise _unparseable(text.strip())
    match = _AMOUNT_RE.fullmatch(cleaned)
    if match is None:
        raise _unparseable(text.strip())
    number = Decimal(match["number"].replace(",", ""))
    if match["unit"]:
        shift = _UNIT_SHIFT[match["unit"]]
    amount = _shift(number, shift)
    if match["minus"]:
        amount = -amount
    return _check_range(amount, text.strip())


def parse_amount(text: str | int | float | Decimal | None, unit: str = UNIT_YI) -> Decimal | None:
    """Read an amount and return it in 亿元, or ``None`` when nothing was written.

    Text may carry its own unit ("3.5亿", "35000万元", "350000000元"); otherwise, and for numbers,
    the value is taken in ``unit`` (the unit of the ledger column: 亿元, 万元 or 元). Full-width
    characters, spaces and thousands separators are accepted. The result has 6 decimals when that
    is exact, else 8 (one yuan is the smallest amount).

    A ``float`` (as spreadsheet libraries return for numeric cells) is read through its shortest
    decimal representation, so ``3.5`` means exactly 3.5.

    Raises :class:`AmountError` for text that is not an amount, negative amounts, amounts finer than
    one yuan and amounts above :data:`MAX_AMOUNT_YI`.
    """
    shift = _shift_for_unit(unit)
    if text is None:
        return None
    if isinstance(text, str):
        return _parse_text(text, shift)
    if isinstance(text, bool):
        raise _unparseable(text)
    if isinstance(text, int):
        return _check_range(_shift(Decimal(text), shift), text)
    if isinstance(text, float):
        text = Decimal(repr(text))
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise _unparseable(text)
        return _check_range(_shift(text, shift), text)
    raise TypeError(f"parse_amount() cannot read {type(text).__name__}")


def format_yi(amount: Decimal | None) -> str:
    """Show an amount in 亿元: two decimals (half up), thousands separators; ``None`` is "—"."""
    if amount is None:
        return "—"
    if not amount.is_finite():
        raise AmountError(_("无法显示的金额：%(text)s", text=amount))
    with localcontext() as ctx:
        ctx.prec = max(28, amount.adjusted() + 4)
        rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never show "-0.00"
    return f"{rounded:,.2f}"


def to_wan(amount: Decimal) -> Decimal:
    """Convert an amount from 亿元 to 万元 (exact)."""
    return _shift(amount, 4)


def from_wan(amount: Decimal) -> Decimal:
    """Convert an amount from 万元 to 亿元 (exact)."""
    return _shift(amount, -4)


def yi_to_yuan(amount: Decimal) -> int:
    """Convert an amount in 亿元 to whole yuan; raise :class:`AmountError` if it is finer."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"yi_to_yuan() needs a Decimal, got {type(amount).__name__}")
    if not amount.is_finite():
        raise AmountError(_("无法保存的金额：%(text)s", text=amount))
    if _exact_exponent(amount) < -_YUAN_PLACES:
        raise AmountError(_("金额精度不能小于1元：%(text)s亿元", text=amount))
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    exponent += _YUAN_PLACES
    value = int("".join(map(str, digits)))
    value = value * 10**exponent if exponent >= 0 else value // 10**-exponent
    return -value if sign else value


def yuan_to_yi(yuan: int) -> Decimal:
    """Convert whole yuan to 亿元, with 6 decimals when exact, else 8."""
    if isinstance(yuan, bool) or not isinstance(yuan, int):
        raise TypeError(f"yuan_to_yi() needs an int, got {type(yuan).__name__}")
    return _canonical(_shift(Decimal(yuan), -_YUAN_PLACES))
