"""Helpers shared by the pipeline tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.factories import ContactLogFactory


def count(session: Any, model: Any, *where: Any) -> int:
    """Return the number of rows of *model* matching *where*."""
    return session.scalar(select(func.count()).select_from(model).where(*where))


class ContactFactory(ContactLogFactory):
    """ContactLogFactory without passing ``lead`` to ContactLog, which has no such attribute."""

    class Meta:
        exclude = ("lead",)
