"""A district's page (``/districts/{lea}``): contacts, connections, renewals, the event timeline, and the forms
that record request / enable / confirm / correct through the same services as the CLI. A refusal is shown on
the page, in the services' words, and nothing is recorded."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from apscn_tracker.config import parse_date
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.errors import NotFound, Refused, UserError
from apscn_tracker.services import renewals
from apscn_tracker.services.districts import show_district
from apscn_tracker.services.status import history, status_rows
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.auth import check_csrf, coordinator, signed_in
from apscn_tracker.web.templates import page, state

router = APIRouter()
STEPS = ("request", "enable", "confirm", "correct")
DONE = {"request": "request recorded", "enable": "enable recorded", "confirm": "confirmation recorded",
        "correct": "correction recorded"}  # fmt: skip


def _district_page(request: Request, user: SignedIn, lea: str, *, error: str = "", status_code: int = 200,
                   form: dict[str, Any] | None = None) -> HTMLResponse:  # fmt: skip
    app = state(request).app(user.email)
    district = show_district(app, lea=lea)
    lea = district["lea"]
    current = SchoolYear.of(app.today)
    return page(
        request,
        "district.html",
        status_code=status_code,
        d=district,
        renewals=status_rows(app, year="all", lea=lea),
        events=list(reversed(history(app, lea=lea))),
        vendors=[c["vendor"] for c in district["connections"] if c["method"] == "api" and not c["retired_on"]],
        year_choices=[current.previous.label, current.label, current.next.label],
        error=error,
        form={"step": "", "vendor": "", "year": "", "on": "", "field": "", "undo": "", "note": "", **(form or {})},
        done=DONE.get(request.query_params.get("done", ""), ""),
    )


@router.get("/districts/{lea}", response_class=HTMLResponse)
def district(request: Request, lea: str, user: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    return _district_page(request, user, lea)


def _day(text: str, what: str) -> date | None:
    return parse_date(text, what) if text.strip() else None


@router.post("/districts/{lea}/{step}")
def record(
    request: Request,
    lea: str,
    step: str,
    user: Annotated[SignedIn, Depends(coordinator)],
    csrf: Annotated[str, Form()] = "",
    vendor: Annotated[str, Form()] = "Xello",
    year: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "",
    field: Annotated[str, Form()] = "",
    undo: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    if step not in STEPS:
        raise NotFound(f"no step {step!r}: use request, enable, confirm or correct")
    app = state(request).app(user.email)
    form = {"step": step, "vendor": vendor, "year": year, "on": on, "field": field, "undo": undo, "note": note}
    try:
        common: dict[str, Any] = {"lea": lea, "vendor": vendor, "year": year or None, "note": note.strip() or None}
        if step == "request":
            result = renewals.record_request(app, on=_day(on, "the request date"), **common)
        elif step == "enable":
            result = renewals.record_enabled(app, on=_day(on, "the enable date"), **common)
        elif step == "confirm":
            result = renewals.record_confirmed(app, on=_day(on, "the confirm date"), **common)
        else:
            dates: dict[str, Any] = {}
            if not undo:
                if field not in ("requested_on", "enabled_on", "confirmed_on"):
                    raise UserError("choose the date to correct (requested, enabled or confirmed), or a step to undo")
                dates[field] = _day(on, "the right date") or app.today
            result = renewals.correct(app, undo=undo or None, **dates, **common)
    except NotFound as exc:
        return _district_page(request, user, lea, error=str(exc), status_code=404, form=form)
    except Refused as exc:
        return _district_page(request, user, lea, error=str(exc), status_code=409, form=form)
    except UserError as exc:
        return _district_page(request, user, lea, error=str(exc), status_code=400, form=form)
    return RedirectResponse(f"/districts/{result['lea']}?done={step}", status_code=303)
