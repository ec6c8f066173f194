"""Parks, industry chains and their links: reference data an admin maintains."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, VersionedMixin, intpk


class Park(VersionedMixin, Base):
    """An industrial park with its own pipeline (e.g. IC 集成电路产业园)."""

    __tablename__ = "park"
    __audited__ = True

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class Chain(VersionedMixin, Base):
    """An industry chain (产业链) such as 芯 (IC) or 屏 (display)."""

    __tablename__ = "chain"
    __audited__ = True

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    links: Mapped[list[ChainLink]] = relationship(
        back_populates="chain", order_by="ChainLink.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class ChainLink(VersionedMixin, Base):
    """A link (环节) of a chain, ordered upstream (small position) to downstream."""

    __tablename__ = "chain_link"
    __audited__ = True
    __table_args__ = (UniqueConstraint("chain_id", "name", name="uq_chain_link_chain_name"),)

    id: Mapped[intpk]
    chain_id: Mapped[int] = mapped_column(ForeignKey("chain.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)

    chain: Mapped[Chain] = relationship(back_populates="links")

    @property
    def full_name(self) -> str:
        return link_name(self.chain.name, self.name)

    def __str__(self) -> str:
        return self.full_name


def link_name(chain: str, link: str) -> str:
    """How a chain link is named wherever it is shown with its chain: "芯 · 芯片设计"."""
    return f"{chain} · {link}"
