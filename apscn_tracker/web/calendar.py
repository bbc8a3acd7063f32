"""The deadline calendar as a subscription (``/calendar.ics?token=``): a calendar program follows the deadlines
without re-importing. The token is the user's calendar secret (``apscn user token EMAIL --calendar``), good for
this file only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from apscn_tracker.services.ical import build_calendar
from apscn_tracker.services.users import token_user
from apscn_tracker.web.auth import Refusal
from apscn_tracker.web.templates import state

router = APIRouter()


@router.get("/calendar.ics")
def calendar(request: Request, token: str = "") -> Response:
    web = state(request)
    user = token_user(web.app(), token, kind="calendar") if token else None
    if user is None:
        raise Refusal(401, "a calendar link needs its token: apscn user token EMAIL --calendar", page=False)
    return Response(
        build_calendar(web.app(user.email)),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="apscn-deadlines.ics"',
        },
    )
