"""``GET /healthz``: when the tick last ran and how much mail waits; no secret, no session needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from apscn_tracker.services.health import health
from apscn_tracker.web.templates import state

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    return health(state(request).app())
