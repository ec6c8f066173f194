"""HTTP security headers and the reverse proxy, set in one place for every response.

The policy: every script, style sheet, font and image comes from this site (app/static), no page
may be framed by another site, and nothing is sniffed or leaked in a Referer header.

- ``script-src 'self'``: no inline ``<script>`` and no ``on...=`` handlers; the pages' behaviour
  lives in app/static/js/app.js and vendored libraries (Bootstrap, ECharts on the cockpit).
- ``style-src 'self'`` for style sheets and ``<style>`` elements, but ``style-src-attr
  'unsafe-inline'``: a few templates (and the e-mail digest, whose inline styles mail readers
  need) use ``style="..."`` attributes. An attribute cannot run script, cannot load anything from
  elsewhere (``img-src``/``font-src``/``default-src`` stay 'self'), and text is escaped, so no user
  can add one. Browsers without CSP level 3 fall back to ``style-src 'self'`` and merely drop
  those attributes.
- ``img-src 'self' data:``: Bootstrap draws its form controls with ``data:`` SVG images.
- ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for older browsers): clickjacking.
  One page relaxes it to 'self': the digest preview, which its own preferences page shows in a
  sandboxed ``<iframe>`` (see :func:`allow_framing_by_self`).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

BASE_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

STATIC_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

_FRAMEABLE_KEY = "security_frameable_endpoints"


def render_policy(policy: dict[str, str]) -> str:
    """Return the Content-Security-Policy header value for *policy*."""
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def allow_framing_by_self(app: Flask, endpoint: str) -> None:
    """Let pages of this site show *endpoint* in an ``<iframe>`` (``frame-ancestors 'self'``)."""
    app.extensions.setdefault(_FRAMEABLE_KEY, set()).add(endpoint)


def init_security(app: Flask) -> None:
    """Trust the configured number of proxies and add the security headers to every response."""
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:
        # Only the client's address and the scheme: the proxy passes Host itself, and headers it
        # does not set (X-Forwarded-Host, -Prefix) could come from the client unchanged.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    default_csp = render_policy(BASE_POLICY)
    framed_csp = render_policy({**BASE_POLICY, "frame-ancestors": "'self'"})

    @app.after_request
    def _security_headers(response: Response) -> Response:
        frameable = request.endpoint in app.extensions.get(_FRAMEABLE_KEY, ())
        response.headers.setdefault(
            "Content-Security-Policy", framed_csp if frameable else default_csp
        )
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if frameable else "DENY")
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        max_age = app.config.get("HSTS_MAX_AGE", 0)
        if request.is_secure and max_age:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={max_age}; includeSubDomains"
            )
        return response
