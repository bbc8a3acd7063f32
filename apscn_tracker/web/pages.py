"""The status board (``/``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.web.templates import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def board(request: Request) -> HTMLResponse:
    return page(request, "board.html", rows=[])
