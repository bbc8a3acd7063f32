"""The SMTP login: which credentials can be sent at all, and one try of them per connection.

smtplib's ``login`` tries every mechanism the server offers in turn, so a wrong password is sent two or three
times a connection (PLAIN, then LOGIN ...), which counts towards an account lockout. ``login_once`` stops at the
first answer that says the credentials are wrong (535) and tries the next mechanism only when the server did
not take the mechanism itself (504 and the like).
"""

from __future__ import annotations

import smtplib

PREFERRED = ("CRAM-MD5", "PLAIN", "LOGIN")  # smtplib's order
CREDENTIALS_WRONG = 535

_NOT_ASCII = (
    "{var} holds characters outside ASCII, which the SMTP login (AUTH) cannot carry; give the mail account "
    "a user name and a password made of ASCII characters"
)


def not_ascii(var: str) -> str:
    return _NOT_ASCII.format(var=var)


def login_problem(user: str | None, password: str | None) -> str | None:
    """Why the SMTP login cannot be made with these credentials, or None. smtplib sends the user name and the
    password as ASCII in every AUTH mechanism it offers (PLAIN, LOGIN, CRAM-MD5); the message never shows a
    character of them, nor where it is."""
    if not user:
        return None  # no login
    for var, value in (("APSCN_SMTP_USER", user), ("APSCN_SMTP_PASSWORD", password)):
        if value and not value.isascii():
            return not_ascii(var)
    return None


def login_once(conn: smtplib.SMTP, user: str, password: str) -> None:
    """Log in with the first mechanism both sides know; a refusal of the credentials is final (no second try
    with another mechanism). Raises what ``SMTP.login`` raises."""
    conn.ehlo_or_helo_if_needed()
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = conn.esmtp_features["auth"].upper().split()
    mechanisms = [m for m in PREFERRED if m in offered]
    if not mechanisms:
        raise smtplib.SMTPException("No suitable authentication method found.")
    conn.user, conn.password = user, password
    refused: smtplib.SMTPAuthenticationError | None = None
    for mechanism in mechanisms:
        try:
            code, _ = conn.auth(mechanism, getattr(conn, "auth_" + mechanism.lower().replace("-", "_")))
        except smtplib.SMTPAuthenticationError as exc:
            if exc.smtp_code == CREDENTIALS_WRONG or not 500 <= exc.smtp_code < 600:
                raise  # the password is wrong, or the server is busy: another mechanism would only try it again
            refused = exc
            continue
        if code in (235, 503):  # accepted, or already logged in
            return
    assert refused is not None
    raise refused
