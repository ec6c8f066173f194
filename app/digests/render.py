"""Turn a :class:`~app.digests.content.Digest` into a mail: subject, plain text and HTML.

The HTML is made for mail clients: table layout, inline styles only, no images, fonts, scripts
or anything fetched from elsewhere. Both parts come from Jinja templates in
``app/templates/digests/``; the HTML one is autoescaped (summaries and names are user text).
Callers need an application context (no request context).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template

from app.auth.models import Role
from app.digests.content import Digest

SUBJECT_PREFIX = "招商周报"
ROLE_TITLES = {
    Role.OFFICER: "我的工作周报",
    Role.MANAGER: "园区招商周报",
    Role.LEADER: "全区招商周报",
    Role.ADMIN: "全区招商周报",
}


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def subject_for(digest: Digest) -> str:
    """The subject line, e.g. "招商周报 2026年第48周"."""
    return f"{SUBJECT_PREFIX} {digest.week.label}"


def render_digest(digest: Digest) -> RenderedDigest:
    """Render *digest* as a subject, a plain-text part and an HTML part."""
    context = {
        "digest": digest,
        "subject": subject_for(digest),
        "title": ROLE_TITLES[digest.role],
    }
    return RenderedDigest(
        subject=context["subject"],
        text=render_template("digests/digest.txt", **context),
        html=render_template("digests/digest.html", **context),
    )
