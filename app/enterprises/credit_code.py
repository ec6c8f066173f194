"""The Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

The code has 18 characters drawn from the digits and the upper-case Latin letters without
I, O, Z, S and V. The 18th character is a check character computed from the first 17 with the
weights 3**(i-1) mod 31.
"""

from __future__ import annotations

import re
import unicodedata

from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l

__all__ = [
    "CHARSET",
    "CODE_LENGTH",
    "WEIGHTS",
    "CreditCodeError",
    "check_character",
    "is_valid_credit_code",
    "normalize_credit_code",
    "validate_credit_code",
]

#: The 31 characters a code may use, in the order of their values 0..30.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of positions 1..17.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CODE_LENGTH = 18

_VALUES = {char: value for value, char in enumerate(CHARSET)}
_MODULUS = len(CHARSET)
_WHITESPACE_RE = re.compile(r"\s+")
_CHARSET_HINT = _l("统一社会信用代码只使用数字和大写英文字母（不使用 I、O、Z、S、V）")


class CreditCodeError(ValueError):
    """A code that is not a valid Unified Social Credit Code; ``message`` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize_credit_code(text: str | None) -> str | None:
    """Remove all whitespace, turn full-width characters half-width and upper-case the code.

    Returns ``None`` for ``None`` or text that is empty once whitespace is removed. The result is
    not validated; see :func:`validate_credit_code`.
    """
    if text is None:
        return None
    code = _WHITESPACE_RE.sub("", unicodedata.normalize("NFKC", text)).upper()
    return code or None


def _first_illegal(code: str) -> tuple[int, str] | None:
    for position, char in enumerate(code, start=1):
        if char not in _VALUES:
            return position, char
    return None


def _illegal_message(position: int, char: str) -> str:
    return _(
        "第%(position)d位字符“%(char)s”不合法：%(hint)s",
        position=position,
        char=char,
        hint=_CHARSET_HINT,
    )


def check_character(first17: str) -> str:
    """Return the check character (18th) for the first 17 characters of a code.

    The input is normalised first; raises :class:`CreditCodeError` if it does not have exactly
    17 legal characters.
    """
    code = normalize_credit_code(first17) or ""
    if len(code) != CODE_LENGTH - 1:
        raise CreditCodeError(
            _("计算校验位需要统一社会信用代码的前17位，当前为%(n)d位", n=len(code))
        )
    illegal = _first_illegal(code)
    if illegal is not None:
        raise CreditCodeError(_illegal_message(*illegal))
    total = sum(_VALUES[char] * weight for char, weight in zip(code, WEIGHTS, strict=True))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def validate_credit_code(text: str | None) -> str:
    """Return the normalised code, or raise :class:`CreditCodeError` saying what is wrong."""
    code = normalize_credit_code(text)
    if code is None:
        raise CreditCodeError(_("统一社会信用代码不能为空"))
    if len(code) != CODE_LENGTH:
        raise CreditCodeError(_("统一社会信用代码应为18位，当前为%(n)d位", n=len(code)))
    illegal = _first_illegal(code)
    if illegal is not None:
        raise CreditCodeError(_illegal_message(*illegal))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            _(
                "校验位错误：第18位应为%(expected)s，当前为%(actual)s",
                expected=expected,
                actual=code[17],
            )
        )
    return code


def is_valid_credit_code(text: str | None) -> bool:
    """Tell whether ``text`` is a valid code once normalised."""
    try:
        validate_credit_code(text)
    except CreditCodeError:
        return False
    return True
