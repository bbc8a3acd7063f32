"""The yearly report (``/report?year=``): the same self-contained HTML page as ``apscn report``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from apscn_tracker.services.report import build_report, render_report
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.auth import signed_in
from apscn_tracker.web.templates import SECURITY_HEADERS, state

router = APIRouter()


@router.get("/report", response_class=HTMLResponse)
def report(request: Request, user: Annotated[SignedIn, Depends(signed_in)], year: str = "") -> HTMLResponse:
    app = state(request).app(user.email)
    html = render_report(app, build_report(app, year=year or None), "html")
    return HTMLResponse(html, headers=SECURITY_HEADERS)
