"""Who a request is from, and what they may do: sessions, form tokens, roles, bearer tokens, sign-in.

- A browser signs in at ``/signin`` and gets a session cookie (a random token; HttpOnly, SameSite=Lax, Secure
  when ``public_url`` is https). Pages need one: without it a GET goes to ``/signin``, anything else gets 401.
- Every form carries the session's form token (``csrf``); a POST without it, or with another, is refused (403)
  and changes nothing. The sign-in form carries one too, tied to a cookie set with the form.
- Viewers read; recording a step needs a coordinator (403 otherwise).
- ``/api/...`` takes the session or ``Authorization: Bearer TOKEN`` (``apscn user token``): 401 otherwise.
- Sign-in is throttled (``throttle``): after repeated failures, 429 with Retry-After, the password not checked.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from apscn_tracker.services import users
from apscn_tracker.services.users import SignedIn
from apscn_tracker.web.templates import page, state

COOKIE = "apscn_session"
SIGNIN_COOKIE = "apscn_signin"  # the sign-in form's token (no session yet to hold one)

router = APIRouter()


class Refusal(Exception):
    """A request refused before it reaches a page: its status and one line saying why."""

    def __init__(self, status: int, message: str, *, page: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.page = status, message, page


def refusal_response(request: Request, exc: Refusal) -> Response:
    if not exc.page:  # a calendar program: a plain answer
        return Response(exc.message + "\n", exc.status, media_type="text/plain; charset=utf-8")
    if exc.status == 401 and request.method in ("GET", "HEAD") and not request.url.path.startswith("/api/"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    if request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return Response(json.dumps({"error": exc.message}), exc.status, headers, media_type="application/json")
    return page(request, "refused.html", status_code=exc.status, message=exc.message)


def _session(request: Request) -> SignedIn | None:
    token = request.cookies.get(COOKIE)
    return users.session_user(state(request).app(), token) if token else None


def signed_in(request: Request) -> SignedIn:
    user = _session(request)
    if user is None:
        raise Refusal(401, "sign in first")
    request.state.user = user
    return user


def coordinator(user: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not user.can_record:
        raise Refusal(403, f"{user.email} is a viewer: only a coordinator records steps")
    return user


def check_csrf(user: SignedIn, token: str) -> None:
    if not token or not hmac.compare_digest(token.encode(), user.csrf.encode()):
        raise Refusal(403, "this form is out of date or did not come from this site; reload the page and try again")


def api_user(request: Request) -> SignedIn:
    """The session's user, or the owner of a bearer token."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = users.token_user(state(request).app(), token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Refusal(401, "the bearer token is not valid")
        return user
    user = _session(request)
    if user is None:
        raise Refusal(401, "sign in or send Authorization: Bearer TOKEN (apscn user token EMAIL)")
    return user


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _signin_page(
    request: Request, *, status_code: int = 200, error: str = "", email: str = "", next: str = "/"
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "signin.html",
        status_code=status_code,
        error=error,
        email=email,
        next=_safe_next(next),
        form_token=token,
    )
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="lax", secure=state(request).secure_cookies, path="/signin"
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/") -> Response:
    return _signin_page(request, next=next)


@router.post("/signin")
def signin(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    web = state(request)
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise Refusal(403, "this sign-in form is out of date or did not come from this site; reload the page")
    keys = (f"email:{email.strip().lower()}", f"client:{request.client.host if request.client else '?'}")
    wait = web.throttle.retry_after(*keys)
    if wait:
        response = _signin_page(
            request,
            status_code=429,
            error=f"too many failed sign-ins; try again in {wait // 60 + 1} minutes",
            email=email,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = users.authenticate(web.app(), email=email, password=password)
    if user is None:
        web.throttle.failed(*keys)
        return _signin_page(request, status_code=401, error="wrong email or password", email=email, next=next)
    web.throttle.succeeded(keys[0])
    token, _ = users.start_session(web.app(), user)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=users.SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=web.secure_cookies,
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(
    request: Request, user: Annotated[SignedIn, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(user, csrf)
    users.end_session(state(request).app(), request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
