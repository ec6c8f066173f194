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
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.digests.content import Digest

ROLE_TITLES = {
    Role.OFFICER: _l("我的工作周报"),
    Role.MANAGER: _l("园区招商周报"),
    Role.LEADER: _l("全区招商周报"),
    Role.ADMIN: _l("全区招商周报"),
}


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def subject_for(digest: Digest) -> str:
    """The subject line in the current language, e.g. "招商周报 2026年第48周"."""
    return _("招商周报 %(week)s", week=digest.week.label)


def render_digest(digest: Digest) -> RenderedDigest:
    """Render *digest* as a subject, a plain-text part and an HTML part, in the current language
    (the recipient's: see :func:`app.core.i18n.in_language_of`)."""
    context = {
        "digest": digest,
        "subject": subject_for(digest),
        "title": str(ROLE_TITLES[digest.role]),
    }
    return RenderedDigest(
        subject=context["subject"],
        text=render_template("digests/digest.txt", **context),
        html=render_template("digests/digest.html", **context),
    )
