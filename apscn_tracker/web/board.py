"""The status board (``/``): one school year's connections, filtered by vendor and status, searched by LEA or
name, counted by status, a page at a time."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.services.board import board as load_board
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.auth import signed_in
from apscn_tracker.web.templates import page, state

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def board(
    request: Request,
    user: Annotated[SignedIn, Depends(signed_in)],
    year: str = "",
    vendor: str = "",
    status: str = "",
    q: str = "",
) -> HTMLResponse:
    number = request.query_params.get("page", "1")
    data = load_board(
        state(request).app(user.email),
        year=year or None,
        vendor=vendor or None,
        status=status or None,
        search=q or None,
        page=int(number) if number.isdigit() and len(number) < 7 else 1,
    )
    filters = {"year": data["school_year"], "vendor": vendor, "status": status, "q": q}

    def link(**changes: object) -> str:
        return "/?" + urlencode({k: v for k, v in {**filters, **changes}.items() if v})

    return page(request, "board.html", b=data, f=filters, link=link)
