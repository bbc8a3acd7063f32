"""The page of a district's link: ``GET``/``HEAD /r/{token}`` shows the district, vendor, school year and step
with a date (today by default) and records nothing; ``POST`` records the step (``services.links``).

No sign-in: the link is the credential. So the page shows only that renewal; the form carries a nonce signed for
this link and this page (``domain.links.form_nonce``) and is refused from another site (``Origin``,
``Sec-Fetch-Site``); nothing submits it but the person's click (the pages run no script); every client address
is rate-limited, refusals of unknown links more tightly. The token never reaches a log: uvicorn's access log is
off (``web.server``), and a filter hides ``/r/...`` should anyone turn it on.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.domain.links import LinkProblem, LinkRefused
from apscn_tracker.domain.steps import StepRefused
from apscn_tracker.services import links
from apscn_tracker.web.templates import page, state
from apscn_tracker.web.throttle import Throttle

router = APIRouter()

HITS = (60, 600.0)  # at most 60 link pages per client address in 10 minutes
MISSES = (10, 900.0)  # at most 10 links refused as not ours or withdrawn in 15 minutes
_STATUS = {
    LinkProblem.TAMPERED: 404,
    LinkProblem.ROTATED: 410,
    LinkProblem.EXPIRED: 410,
    LinkProblem.USED: 409,
    LinkProblem.CLOSED: 409,
}
_TITLES = {
    LinkProblem.TAMPERED: "This link does not work",
    LinkProblem.ROTATED: "This link was withdrawn",
    LinkProblem.EXPIRED: "This link has expired",
    LinkProblem.USED: "This link was already used",
    LinkProblem.CLOSED: "Nothing to record",
}
_HEADERS = {"X-Robots-Tag": "noindex, nofollow"}  # Referrer-Policy same-origin (the app's): the link stays here
_TOKEN = re.compile(r"/r/[^/?\s\"]+")
_lock = threading.Lock()


class HideLinks(logging.Filter):
    """Replaces every ``/r/TOKEN`` in a log record by ``/r/...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub("/r/...", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN.sub("/r/...", record.msg)
        return True


for _name in ("uvicorn.access", "uvicorn.error"):
    logging.getLogger(_name).addFilter(HideLinks())


def _throttles(request: Request) -> tuple[Throttle, Throttle]:
    with _lock:
        found = getattr(request.app.state, "link_throttles", None)
        if found is None:
            found = request.app.state.link_throttles = (Throttle(*HITS), Throttle(*MISSES))
        return found


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


_DEFAULTS: dict[str, Any] = {"view": None, "error": None, "on": "", "nonce": "", "before_values": {}}
_DEFAULTS |= {"title": "", "message": "", "wait_minutes": 0}


def _respond(request: Request, status: int, **context: Any) -> HTMLResponse:
    response = page(request, "link.html", status_code=status, **{**_DEFAULTS, **context})
    response.headers.update(_HEADERS)
    return response


def _limited(request: Request) -> HTMLResponse | None:
    hits, misses = _throttles(request)
    who = _client(request)
    wait = max(hits.retry_after(who), misses.retry_after(who))
    if wait:
        response = _respond(request, 429, mode="limited", wait_minutes=max(1, round(wait / 60)))
        response.headers["Retry-After"] = str(wait)
        return response
    hits.failed(who)  # every page counts towards the address's limit
    return None


def _refused(request: Request, exc: LinkRefused) -> HTMLResponse:
    if exc.problem in (LinkProblem.TAMPERED, LinkProblem.ROTATED):
        _throttles(request)[1].failed(_client(request))
    return _respond(request, _STATUS[exc.problem], mode="refused", title=_TITLES[exc.problem], message=str(exc))


def _form(request: Request, token: str, view: links.LinkView, *, status: int = 200, **extra: Any) -> HTMLResponse:
    settings = state(request).settings
    nonce = links.form_nonce(settings, token, int(time.time()))
    extra.setdefault("on", view.today.isoformat())
    return _respond(request, status, mode="form", view=view, nonce=nonce, **extra)


@router.api_route("/r/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def show(request: Request, token: str) -> HTMLResponse:
    """The link's page: what it records, and a date; nothing is recorded here."""
    limited = _limited(request)
    if limited is not None:
        return limited
    try:
        view = links.look(state(request).app(), token)
    except LinkRefused as exc:
        return _refused(request, exc)
    return _form(request, token, view)


def _same_site(request: Request) -> bool:
    """False when the browser says the form came from another site. A browser that hides where the form came from
    (``Origin: null``, no ``Sec-Fetch-Site``) is not refused for that: the form's nonce still has to match."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    allowed = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    public = state(request).settings.public_url
    if public:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin.rstrip("/") in allowed


@router.post("/r/{token}", response_class=HTMLResponse)
def record(
    request: Request,
    token: str,
    on: str = Form(""),
    nonce: str = Form(""),
    on_request: str = Form(""),
    on_enable: str = Form(""),
) -> HTMLResponse:
    """Record the link's step on the date given, as the contact the link was sent to (and the steps before it not
    recorded yet, on theirs)."""
    limited = _limited(request)
    if limited is not None:
        return limited
    web = state(request)
    app = web.app()
    try:
        view = links.look(app, token)
    except LinkRefused as exc:
        return _refused(request, exc)
    given = {"request": on_request, "enable": on_enable}
    typed = {"on": on, "before_values": {step: given.get(step, "") for step, _ in view.before}}
    if not _same_site(request) or not links.form_nonce_ok(web.settings, token, nonce, int(time.time())):
        return _form(request, token, view, status=403, error="This form was out of date; press the button again.")
    try:
        day = date.fromisoformat(on.strip())
        before = {step: date.fromisoformat(given.get(step, "").strip()) for step, _ in view.before}
    except ValueError:
        error = "Give each date as on a calendar, like 2027-05-18."
        return _form(request, token, view, status=400, error=error, **typed)
    try:
        done = links.record(app, token, on=day, before=before)
    except LinkRefused as exc:
        return _refused(request, exc)
    except StepRefused as exc:
        return _form(request, token, view, status=400, error=str(exc), **typed)
    return _respond(request, 200, mode="done", view=done)
