"""Pages rendered on the server from ``templates/web/`` with the project's Jinja environment (autoescaped)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from apscn_tracker.web.state import WebState


def state(request: Request) -> WebState:
    return request.app.state.web


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``templates/web/NAME`` with the signed-in user (or None) and the session's CSRF token in its context."""
    web = state(request)
    user = getattr(request.state, "user", None)
    html = web.env.get_template(name).render(
        user=user,
        csrf=user.csrf if user is not None else "",
        path=request.url.path,
        today=web.app().today if user is not None else None,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    # no script runs on these pages, nothing is fetched from elsewhere, no page is framed
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
