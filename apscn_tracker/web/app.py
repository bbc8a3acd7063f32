"""The FastAPI application: ``create_app(settings)``. Nothing is opened when this module is imported or the app
is built; the ledger opens when the server starts (``lifespan``) and is shared by the requests.

Each page group is a router in its own module of this package, named in ``ROUTERS`` (add a module there to
add pages)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apscn_tracker.config import Settings, load_settings
from apscn_tracker.web.state import WebState

ROUTERS: tuple[str, ...] = ("health", "pages", "links")
"""The modules of ``apscn_tracker.web`` whose ``router`` the app includes, in this order."""


def create_app(settings: Settings | None = None, *, open_at_start: bool = True) -> FastAPI:
    web = WebState(settings or load_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if open_at_start:
            web.ledger  # noqa: B018 - open (and migrate) before the first request, so a bad ledger fails the start
        try:
            yield
        finally:
            web.close()

    app = FastAPI(title="APSCN tracker", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.web = web
    for name in ROUTERS:
        app.include_router(importlib.import_module(f"apscn_tracker.web.{name}").router)
    return app
