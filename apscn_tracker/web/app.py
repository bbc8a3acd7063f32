"""The FastAPI application: ``create_app(settings)``. Nothing is opened when this module is imported or the app
is built; the ledger opens when the server starts (``lifespan``) and is shared by the requests.

Each page group is a router in its own module of this package, named in ``ROUTERS`` (add a module there to
add pages)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from apscn_tracker.config import Settings, load_settings
from apscn_tracker.errors import NotFound, Refused, UserError
from apscn_tracker.web.auth import Refusal, refusal_response
from apscn_tracker.web.state import WebState

ROUTERS: tuple[str, ...] = (
    "health",
    "auth",
    "board",
    "districts",
    "outbox",
    "report",
    "calendar",
    "api",
    "account",
    "links",
)
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

    @app.exception_handler(Refusal)
    def refused(request: Request, exc: Refusal) -> Response:
        return refusal_response(request, exc)

    @app.exception_handler(UserError)
    def user_error(request: Request, exc: UserError) -> Response:
        """A service's one line (an unknown LEA, a bad year ...), as the CLI would print it."""
        code = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Refused) else 400
        return refusal_response(request, Refusal(code, str(exc)))

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return refusal_response(request, Refusal(400, "the request's parameters are not valid"))

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"apscn_tracker.web.{name}").router)
    return app
