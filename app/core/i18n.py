"""Language choice: Chinese first, English available (per user, per session, or by ?lang=),
and the translation functions the application uses.

``gettext``, ``pgettext`` and their lazy forms here behave as Flask-Babel's and read the same
catalogues, but look the catalogue up once per request (or command) instead of on every call:
Flask-Babel 4 looks up the context, the domain, the locale and the catalogue again for each
string, about 18 µs a call against 1 µs for the lookup itself, and a list page translates a
hundred strings (stage labels, headings, the menu). The catalogue is kept where Flask-Babel
keeps its own per-request state (``g._flask_babel.babel_translations``), which ``refresh()`` and
``force_locale()`` reset, so both keep working.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import flask_babel
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel.speaklater import LazyString
from flask_login import current_user

DEFAULT_LOCALE = "zh_Hans_CN"


def select_locale() -> str:
    """Return the locale for this request."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return DEFAULT_LOCALE
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return DEFAULT_LOCALE


def _translations() -> NullTranslations:
    """The catalogue of the current locale, looked up once per request or command."""
    try:
        state = g._flask_babel
    except (AttributeError, RuntimeError):  # first call, or no application context
        return flask_babel.get_translations()
    found = getattr(state, "babel_translations", None)
    if found is None:
        found = state.babel_translations = flask_babel.get_translations()
    return found


def gettext(string: str, **variables: Any) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables: Any) -> str:
    text = _translations().upgettext(context, string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    return LazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables: Any) -> LazyString:
    return LazyString(pgettext, context, string, **variables)


def in_chinese() -> AbstractContextManager[None]:
    """Speak the default language (Chinese) within the block, whatever the request's: for files
    that are Chinese documents (the ledgers an export writes, which must import again, and the
    statistical report) and for commands, which have no user to choose a language."""
    return flask_babel.force_locale(DEFAULT_LOCALE)


def in_language_of(user: Any) -> AbstractContextManager[None]:
    """Speak *user*'s chosen language within the block (Chinese when he chose none): for what
    is made for one person outside his requests, as his weekly digest."""
    chosen = getattr(user, "locale", None)
    return flask_babel.force_locale(
        chosen if chosen in current_app.config["LANGUAGES"] else DEFAULT_LOCALE
    )


def init_i18n(app: Flask) -> None:
    """Templates' ``_()``, ``gettext``, ``ngettext`` and ``pgettext`` through the catalogue
    above (after Flask-Babel's ``init_app``, which installs its own); the locale chosen at the
    start of each request, while the user is loaded (chosen after a commit, it would read the
    user from the database again)."""

    @app.before_request
    def _choose_locale() -> None:
        flask_babel.get_locale()

    app.jinja_env.install_gettext_callables(
        gettext=lambda string: _translations().ugettext(string),
        ngettext=lambda singular, plural, num: _translations().ungettext(singular, plural, num),
        newstyle=True,
        pgettext=lambda context, string: _translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, num: _translations().unpgettext(
            context, singular, plural, num
        ),
    )
