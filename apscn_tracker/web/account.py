"""``/account``: who is signed in, and a new calendar subscription link (shown once; the old one stops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.services.users import SignedIn, new_token
from apscn_tracker.web.auth import check_csrf, signed_in
from apscn_tracker.web.templates import page, state

router = APIRouter()


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    return page(request, "account.html", link="")


@router.post("/account/calendar", response_class=HTMLResponse)
def calendar_link(
    request: Request, user: Annotated[SignedIn, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> HTMLResponse:
    check_csrf(user, csrf)
    web = state(request)
    token = new_token(web.app(user.email), email=user.email, kind="calendar")["token"]
    base = web.settings.public_url or str(request.base_url).rstrip("/")
    return page(request, "account.html", link=f"{base}/calendar.ics?token={token}")
