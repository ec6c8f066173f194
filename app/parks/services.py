"""Parks, chains and links: reading and maintaining the reference data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core.db import SAME_PLAN
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.parks.models import Chain, ChainLink, Park, link_name


class ReferenceDataError(UserError):
    """A user-facing problem with reference data."""


def list_parks(session: Session, active_only: bool = False) -> list[Park]:
    """Return the parks in display order."""
    stmt = select(Park).order_by(Park.sort_order, Park.id).execution_options(**SAME_PLAN)
    if active_only:
        stmt = stmt.where(Park.active.is_(True))
    return list(session.scalars(stmt))


def list_chains(session: Session) -> list[Chain]:
    """Return the chains with their links loaded, in display order (one statement)."""
    stmt = select(Chain).options(joinedload(Chain.links)).order_by(Chain.sort_order, Chain.id)
    return list(session.scalars(stmt.execution_options(**SAME_PLAN)).unique())


def link_choices(session: Session) -> list[tuple[int, str]]:
    """Return (id, "chain · link") pairs ordered by chain, then upstream to downstream."""
    rows = session.execute(
        select(ChainLink.id, Chain.name, ChainLink.name)
        .join(Chain)
        .order_by(Chain.sort_order, Chain.id, ChainLink.position, ChainLink.id)
    )
    return [(link_id, link_name(chain, link)) for link_id, chain, link in rows]


def _unique(session: Session, model: Any, column: Any, value: str, exclude_id: int | None) -> bool:
    stmt = select(model.id).where(func.lower(column) == value.lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return session.scalar(stmt) is None


def save_park(session: Session, park: Park | None, **fields: Any) -> Park:
    """Create or change a park; codes and names are unique."""
    code = fields["code"].strip().upper()
    name = fields["name"].strip()
    exclude = park.id if park else None
    if not _unique(session, Park, Park.code, code, exclude):
        raise ReferenceDataError(_("园区代码“%(code)s”已存在。", code=code), "code")
    if not _unique(session, Park, Park.name, name, exclude):
        raise ReferenceDataError(_("园区名称“%(name)s”已存在。", name=name), "name")
    if park is None:
        park = Park()
        session.add(park)
    park.code, park.name = code, name
    park.description = fields.get("description") or None
    park.sort_order = fields.get("sort_order") or 0
    park.active = bool(fields.get("active", True))
    session.flush()
    return park


def save_chain(session: Session, chain: Chain | None, **fields: Any) -> Chain:
    """Create or change a chain; codes and names are unique."""
    code = fields["code"].strip().upper()
    name = fields["name"].strip()
    exclude = chain.id if chain else None
    if not _unique(session, Chain, Chain.code, code, exclude):
        raise ReferenceDataError(_("产业链代码“%(code)s”已存在。", code=code), "code")
    if not _unique(session, Chain, Chain.name, name, exclude):
        raise ReferenceDataError(_("产业链名称“%(name)s”已存在。", name=name), "name")
    if chain is None:
        chain = Chain()
        session.add(chain)
    chain.code, chain.name = code, name
    chain.description = fields.get("description") or None
    chain.sort_order = fields.get("sort_order") or 0
    session.flush()
    return chain


def save_link(session: Session, chain: Chain, link: ChainLink | None, **fields: Any) -> ChainLink:
    """Create or change a link of *chain*; names are unique within the chain."""
    name = fields["name"].strip()
    stmt = select(ChainLink.id).where(ChainLink.chain_id == chain.id, ChainLink.name == name)
    if link is not None:
        stmt = stmt.where(ChainLink.id != link.id)
    if session.scalar(stmt) is not None:
        raise ReferenceDataError(_("该产业链中已有环节“%(name)s”。", name=name), "name")
    if link is None:
        link = ChainLink(chain=chain)
        session.add(link)
    link.name = name
    link.position = fields.get("position") or 0
    link.description = fields.get("description") or None
    session.flush()
    return link
