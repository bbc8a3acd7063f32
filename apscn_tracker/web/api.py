"""``GET /api/status?year=``: the rows of ``apscn status --json``, by session or ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from apscn_tracker.services.status import status_rows
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.auth import api_user
from apscn_tracker.web.templates import state

router = APIRouter()


@router.get("/api/status")
def api_status(
    request: Request,
    user: Annotated[SignedIn, Depends(api_user)],
    year: str = "",
    lea: str = "",
    vendor: str = "",
    only: str = "",
) -> list[dict[str, Any]]:
    return status_rows(
        state(request).app(user.email), year=year or None, lea=lea or None, vendor=vendor or None, only=only or None
    )
