"""Enterprises and their contact people: the rules for creating, changing, finding and showing them.

Every function takes the database session and the acting user, flushes and never commits.
``user=None`` means a system action (a command or an import) and is always allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import func

from app.auth.models import EDITOR_ROLES, User
from app.core.db import escape_like
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.paging import OrderKey
from app.enterprises.credit_code import CreditCodeError, normalize_credit_code, validate_credit_code
from app.enterprises.models import TAGS, Enterprise, EnterpriseContact, Ownership
from app.enterprises.names import CONTAINMENT_MIN_LENGTH, is_similar, normalize_name

#: At most this many rows are read (and compared in Python) when looking for duplicates.
DUPLICATE_CANDIDATE_LIMIT = 50
#: Names that share this many leading characters of their key are compared.
DUPLICATE_PREFIX_LENGTH = 2

NAME_MAX = 120
TEXT_LIMITS = {"industry": 60, "region": 60, "address": 200, "website": 200, "description": 2000}
ENTERPRISE_FIELDS = frozenset({"name", "credit_code", "ownership", *TAGS, *TEXT_LIMITS})
PERSON_LIMITS = {"name": 40, "title": 60, "phone": 40, "email": 120, "note": 2000}


class EnterpriseError(UserError):
    """A user-facing problem with enterprise data; ``field`` names the form field it concerns."""


class EnterprisePermissionError(EnterpriseError):
    """The acting user may only read enterprises."""


class PossibleDuplicatesError(EnterpriseError):
    """Enterprises with a similar name are registered; creating another needs a confirmation."""

    def __init__(self, duplicates: list[Enterprise]) -> None:
        super().__init__(_("系统中已有名称相近的企业，请确认是否为同一家企业。"), "name")
        self.duplicates = duplicates


# --- permissions ------------------------------------------------------------------------------


def can_edit_enterprises(user: User | None) -> bool:
    """Return whether *user* may create and change enterprises and their contact people."""
    return bool(user is not None and user.is_authenticated and user.role in EDITOR_ROLES)


def _check_editor(user: User | None) -> None:
    if user is not None and not can_edit_enterprises(user):
        raise EnterprisePermissionError(_("您没有修改企业信息的权限。"))


# --- cleaning ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Strip a text value; empty text is ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _check_length(value: str | None, limit: int, name: str) -> None:
    if value is not None and len(value) > limit:
        raise EnterpriseError(_("不能超过%(n)d个字。", n=limit), name)


def _ownership(value: Any) -> Ownership | None:
    if value is None or value == "":
        return None
    try:
        return Ownership(value)
    except ValueError:
        raise EnterpriseError(_("请选择有效的企业性质。"), "ownership") from None


def _clean_credit_code(value: Any) -> str | None:
    text = None if value is None else str(value)
    if normalize_credit_code(text) is None:
        return None
    try:
        return validate_credit_code(text)
    except CreditCodeError as exc:
        raise EnterpriseError(exc.message, "credit_code") from None


def _code_taken_message(code: str, holder: str) -> str:
    return _(
        "统一社会信用代码 %(code)s 已登记为“%(name)s”，同一家企业不能重复登记。",
        code=code,
        name=holder,
    )


def _clean_enterprise(session: Session, fields: Mapping[str, Any], exclude_id: int | None) -> dict:
    """Check and normalise enterprise fields; raise :class:`EnterpriseError` before any change."""
    cleaned = _clean_fields(fields)
    code = cleaned["credit_code"]
    if code is not None:
        stmt = select(Enterprise.name).where(Enterprise.credit_code == code)
        if exclude_id is not None:
            stmt = stmt.where(Enterprise.id != exclude_id)
        holder = session.scalar(stmt.limit(1))
        if holder is not None:
            raise EnterpriseError(_code_taken_message(code, holder), "credit_code")
    return cleaned


def clean_new_enterprises(
    session: Session, user: User | None, items: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Bulk form of :func:`create_enterprise`'s checks, for writers that insert in bulk.

    Returns the cleaned column values of each new enterprise, checked as one at a time would be:
    a credit code already registered, or given twice in *items*, raises :class:`EnterpriseError`
    (one query per 500 codes).
    """
    _check_editor(user)
    cleaned = [_clean_fields(fields) for fields in items]
    codes = [c["credit_code"] for c in cleaned if c["credit_code"] is not None]
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise EnterpriseError(_code_taken_message(code, code), "credit_code")
        seen.add(code)
    for start in range(0, len(codes), 500):
        stmt = select(Enterprise.credit_code, Enterprise.name).where(
            Enterprise.credit_code.in_(codes[start : start + 500])
        )
        for code, holder in session.execute(stmt.limit(1)):
            raise EnterpriseError(_code_taken_message(code, holder), "credit_code")
    return cleaned


def _clean_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise enterprise fields that need no database lookup."""
    unknown = set(fields) - ENTERPRISE_FIELDS
    if unknown:
        raise TypeError(f"unknown enterprise fields: {', '.join(sorted(unknown))}")
    name = _text(fields.get("name"))
    if name is None:
        raise EnterpriseError(_("请填写企业名称。"), "name")
    _check_length(name, NAME_MAX, "name")
    key = normalize_name(name)[:NAME_MAX]
    if not key:
        raise EnterpriseError(_("企业名称须包含文字或字母数字。"), "name")
    cleaned: dict[str, Any] = {"name": name, "name_key": key}
    cleaned["credit_code"] = _clean_credit_code(fields.get("credit_code"))
    cleaned["ownership"] = _ownership(fields.get("ownership"))
    for tag in TAGS:
        cleaned[tag] = bool(fields.get(tag, False))
    for name_, limit in TEXT_LIMITS.items():
        cleaned[name_] = _text(fields.get(name_))
        _check_length(cleaned[name_], limit, name_)
    return cleaned


def _flush_guarding_code(session: Session, apply: Callable[[], None], code: str | None) -> None:
    """Apply changes and flush in a savepoint; a concurrently registered code becomes an error.

    The check in :func:`_clean_enterprise` covers the normal case; the unique constraint catches two
    users registering the same code at the same moment, and the savepoint keeps the session usable.
    """
    try:
        with session.begin_nested():
            apply()
    except IntegrityError:
        if code is None:
            raise
        message = _("统一社会信用代码 %(code)s 刚刚已被登记，同一家企业不能重复登记。", code=code)
        raise EnterpriseError(message, "credit_code") from None


# --- enterprises ------------------------------------------------------------------------------


def find_duplicates(
    session: Session, name: str | None, credit_code: str | None, exclude_id: int | None = None
) -> list[Enterprise]:
    """Return the enterprises that are probably the one described: same code or a similar name.

    One bounded query reads the candidates (same code, same name key, a key containing or contained
    in this one, or sharing its first characters); :func:`~app.enterprises.names.is_similar` then
    keeps the likely ones. Enterprises with the same code come first.
    """
    code = normalize_credit_code(credit_code)
    key = normalize_name(name or "")[:NAME_MAX]
    # (condition, rank): candidates are read best first, so the LIMIT drops only the weakest.
    tiers: list[tuple[Any, int]] = []
    if code is not None:
        tiers.append((Enterprise.credit_code == code, 0))
    if key:
        tiers.append((Enterprise.name_key == key, 1))
        if len(key) >= CONTAINMENT_MIN_LENGTH:
            tiers.append((Enterprise.name_key.contains(key, autoescape=True), 2))
        # Name keys hold letters and digits only, so they cannot carry LIKE wildcards.
        contained = (func.length(Enterprise.name_key) >= CONTAINMENT_MIN_LENGTH) & literal(
            key
        ).contains(Enterprise.name_key)
        tiers.append((contained, 2))
        prefix = key[:DUPLICATE_PREFIX_LENGTH]
        tiers.append((Enterprise.name_key.startswith(prefix, autoescape=True), 3))
    if not tiers:
        return []
    stmt = select(Enterprise).where(or_(*(condition for condition, _rank in tiers)))
    if exclude_id is not None:
        stmt = stmt.where(Enterprise.id != exclude_id)
    rank = case(*tiers, else_=len(tiers))
    stmt = stmt.order_by(rank, Enterprise.id).limit(DUPLICATE_CANDIDATE_LIMIT)
    return [
        enterprise
        for enterprise in session.scalars(stmt)
        if (code is not None and enterprise.credit_code == code)
        or (key and is_similar(name or "", enterprise.name))
    ]


def create_enterprise(
    session: Session, user: User | None, *, check_similar: bool = False, **fields: Any
) -> Enterprise:
    """Register an enterprise; a credit code must be valid and not yet registered.

    With ``check_similar`` a :class:`PossibleDuplicatesError` listing the enterprises with a similar
    name is raised instead of creating (the form asks the user to confirm, then calls again
    without it).
    """
    _check_editor(user)
    cleaned = _clean_enterprise(session, fields, exclude_id=None)
    if check_similar:
        duplicates = find_duplicates(session, cleaned["name"], None)
        if duplicates:
            raise PossibleDuplicatesError(duplicates)
    enterprise = Enterprise(**cleaned)
    _flush_guarding_code(session, lambda: session.add(enterprise), cleaned["credit_code"])
    return enterprise


def update_enterprise(
    session: Session, user: User | None, enterprise: Enterprise, **fields: Any
) -> Enterprise:
    """Change an enterprise; the name key follows the name, a credit code stays unique."""
    _check_editor(user)
    cleaned = _clean_enterprise(session, fields, exclude_id=enterprise.id)

    def apply() -> None:
        for attr, value in cleaned.items():
            setattr(enterprise, attr, value)

    _flush_guarding_code(session, apply, cleaned["credit_code"])
    return enterprise


@dataclass(frozen=True)
class EnterpriseFilters:
    """What the enterprise list may be narrowed to besides the search text."""

    ownership: Ownership | None = None
    tags: frozenset[str] = frozenset()


def search_enterprises(
    session: Session, q: str | None, filters: EnterpriseFilters | None = None
) -> Select:
    """Return a ``select()`` of enterprises matching *q* (name, normalised name or credit code),
    in :func:`relevance_order`. Unknown tags are ignored.
    """
    filters = filters or EnterpriseFilters()
    stmt = select(Enterprise)
    text = _text(q)
    if text is not None:
        key = normalize_name(text)
        code = normalize_credit_code(text)
        matches = [Enterprise.name.like(f"%{escape_like(text)}%", escape="\\")]
        if key:
            matches.append(Enterprise.name_key.contains(key, autoescape=True))
        if code is not None and code.isascii() and code.isalnum():
            matches.append(Enterprise.credit_code.startswith(code, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if filters.ownership is not None:
        stmt = stmt.where(Enterprise.ownership == filters.ownership)
    for tag in sorted(set(filters.tags) & set(TAGS)):
        stmt = stmt.where(getattr(Enterprise, tag).is_(True))
    return stmt.order_by(*(k.clause() for k in relevance_order(q)))


def relevance_order(q: str | None) -> list[OrderKey]:
    """The order of a search for *q*: exact name-key matches first, then the rest by name."""
    text = _text(q)
    key = normalize_name(text) if text is not None else ""
    first = [OrderKey(case((Enterprise.name_key == key, 0), else_=1))] if key else []
    return [*first, OrderKey(Enterprise.name), OrderKey(Enterprise.id)]


# --- contact people ---------------------------------------------------------------------------


def _clean_person(fields: Mapping[str, Any]) -> dict[str, str | None]:
    unknown = set(fields) - set(PERSON_LIMITS)
    if unknown:
        raise TypeError(f"unknown contact person fields: {', '.join(sorted(unknown))}")
    cleaned = {name: _text(fields.get(name)) for name in PERSON_LIMITS}
    if cleaned["name"] is None:
        raise EnterpriseError(_("请填写联系人姓名。"), "name")
    for name, limit in PERSON_LIMITS.items():
        _check_length(cleaned[name], limit, name)
    return cleaned


def contact_person(
    session: Session, enterprise_id: int, person_id: int
) -> EnterpriseContact | None:
    """The contact person *person_id* if he belongs to enterprise *enterprise_id*, else None."""
    person = session.get(EnterpriseContact, person_id)
    return person if person is not None and person.enterprise_id == enterprise_id else None


def add_contact_person(
    session: Session, user: User | None, enterprise: Enterprise, **fields: Any
) -> EnterpriseContact:
    """Add a contact person to *enterprise*."""
    _check_editor(user)
    person = EnterpriseContact(enterprise=enterprise, **_clean_person(fields))
    session.add(person)
    session.flush()
    return person


def update_contact_person(
    session: Session, user: User | None, person: EnterpriseContact, **fields: Any
) -> EnterpriseContact:
    """Change a contact person."""
    _check_editor(user)
    for attr, value in _clean_person(fields).items():
        setattr(person, attr, value)
    session.flush()
    return person


def delete_contact_person(session: Session, user: User | None, person: EnterpriseContact) -> None:
    """Remove a contact person."""
    _check_editor(user)
    if person in person.enterprise.people:
        person.enterprise.people.remove(person)
    session.delete(person)
    session.flush()


# --- sections other features add to the enterprise page ---------------------------------------


@dataclass(frozen=True)
class RelatedSection:
    """A block of the enterprise page: a template rendered with ``enterprise`` and *context*."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


#: provider(session, user, enterprise) -> RelatedSection, a mapping with "template" (and
#: optionally "context"), any object with those attributes, or None to show nothing.
RelatedProvider = Callable[[Session, User, Enterprise], Any]

_related_providers: dict[str, RelatedProvider] = {}


def _provider_key(provider: RelatedProvider) -> str:
    module = getattr(provider, "__module__", "")
    name = getattr(provider, "__qualname__", repr(provider))
    return f"{module}.{name}"


def register_related(provider: RelatedProvider, key: str | None = None) -> RelatedProvider:
    """Add a section provider to the enterprise page; usable as a decorator.

    Registering again under the same key (by default the provider's module and name) replaces the
    earlier one, so an app factory that runs twice does not show a section twice. Sections appear
    in the order their providers were first registered.
    """
    _related_providers[key or _provider_key(provider)] = provider
    return provider


def unregister_related(provider_or_key: RelatedProvider | str) -> None:
    """Remove a section provider (mainly for tests)."""
    key = provider_or_key if isinstance(provider_or_key, str) else _provider_key(provider_or_key)
    _related_providers.pop(key, None)


def _as_section(value: Any) -> RelatedSection | None:
    if value is None or isinstance(value, RelatedSection):
        return value
    if isinstance(value, Mapping):
        return RelatedSection(value["template"], value.get("context") or {})
    return RelatedSection(value.template, getattr(value, "context", None) or {})


def related_sections(session: Session, user: User, enterprise: Enterprise) -> list[RelatedSection]:
    """Ask every registered provider for its section of *enterprise*'s page, for *user*."""
    sections = (_as_section(p(session, user, enterprise)) for p in _related_providers.values())
    return [section for section in sections if section is not None]


def registered_related() -> Iterable[str]:
    """Return the keys of the registered providers, in display order."""
    return tuple(_related_providers)
