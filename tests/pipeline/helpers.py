"""Helpers shared by the pipeline tests."""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import func, select

from tests.factories import ContactLogFactory


def count(session: Any, model: Any, *where: Any) -> int:
    """Return the number of rows of *model* matching *where*."""
    return session.scalar(select(func.count()).select_from(model).where(*where))


def measure(session: Any, client: Any, count_queries: Any, url: str) -> int:
    """The statements a GET of *url* runs, with nothing loaded beforehand."""
    session.commit()  # expires every loaded object
    for key in ("_login_user", "thresholds", "_flask_babel"):
        g.pop(key, None)
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


class ContactFactory(ContactLogFactory):
    """ContactLogFactory without passing ``lead`` to ContactLog, which has no such attribute."""

    class Meta:
        exclude = ("lead",)
