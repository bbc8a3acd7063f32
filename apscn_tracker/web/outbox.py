"""The outbox (``/outbox``): the newest messages first, by status and kind (what ``apscn outbox list`` shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.mail.kinds import names
from apscn_tracker.mail.outbox import MESSAGE_STATUSES as STATUSES
from apscn_tracker.services.outbox import outbox_rows
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.auth import signed_in
from apscn_tracker.web.templates import page, state

router = APIRouter()
LIMIT = 200


@router.get("/outbox", response_class=HTMLResponse)
def outbox(
    request: Request, user: Annotated[SignedIn, Depends(signed_in)], status: str = "", kind: str = ""
) -> HTMLResponse:
    rows = outbox_rows(state(request).app(user.email), status=status or None, kind=kind or None, limit=LIMIT)
    return page(
        request,
        "outbox.html",
        rows=list(reversed(rows)),
        limit=LIMIT,
        statuses=STATUSES,
        kinds=names(),
        f={"status": status, "kind": kind},
    )
