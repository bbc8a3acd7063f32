"""Database passwords kept out of every message, JSON output and log line.

``redact`` is the one function that hides them. A database URL can carry a password in several forms, and
each is hidden wherever it is written:

- in the user part: ``postgresql://user:PASSWORD@host/db`` (everything between ``user:`` and the last ``@``,
  since a password written without percent-encoding may itself hold ``@``, ``/`` or ``?``);
- in the query: ``?password=...``, ``&password=...``, and any other key naming a password (``sslpassword``),
  whatever the case and however the key is percent-encoded (``%70assword``);
- in a libpq ``key=value`` string: ``host=db password=... dbname=apscn`` (quoted values included).

With ``url`` given, every password that URL holds is also hidden wherever it appears in ``text`` as written,
percent-decoded or percent-encoded, so a driver's message that repeats it cannot show it. ``secrets`` adds
other values to hide (the SMTP password). Values shorter than ``MIN_SECRET`` characters are hidden only in
the forms above: replacing every "a" of a message would hide nothing and garble the rest.

Kept free of imports beyond the standard library: the ledger, the services and the scheduler all call it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

HIDDEN = "***"
MIN_SECRET = 4

# a URL written in a longer text: scheme://user:password@ (the password up to the next @, no white space)
_USERINFO_IN_TEXT = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*):[^\s@]*@")
# key=value pairs of a query or a libpq string, in a longer text; values may be quoted libpq-style
_PAIR_IN_TEXT = re.compile(
    r"(?P<lead>^|[?&;\s(,])(?P<key>[^\s=&?;#(,]+)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'?|\"[^\"]*\"?|[^\s&#;,)]*)"
)


def redact(text: str, *, url: str | None = None, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every database password (and each of ``secrets``) replaced by ``***``."""
    if url:
        text = text.replace(url, _redact_url(url))
    hidden = {form for value in [*_passwords(url or ""), *secrets] if value for form in _forms(value)}
    for value in sorted(hidden, key=len, reverse=True):
        text = text.replace(value, HIDDEN)
    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m['head']}:{HIDDEN}@", text)
    return _PAIR_IN_TEXT.sub(_hide_pair, text)


def redact_url(url: str) -> str:
    """A database URL (or libpq string) as it may be shown: every password in it replaced by ``***``."""
    return redact(url, url=url)


class RedactingFilter(logging.Filter):
    """A logging filter for a handler: each record's message and traceback go out through ``redact``."""

    def __init__(self, *, url: str | None = None, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.url = url
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self._redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True

    def _redact(self, text: str) -> str:
        return redact(text, url=self.url, secrets=self.secrets)


def _is_password_key(key: str) -> bool:
    return "pass" in unquote_plus(key).strip().lower()


def _hide_pair(m: re.Match[str]) -> str:
    if not _is_password_key(m["key"]) or m["value"].startswith(HIDDEN):  # not a password, or hidden already
        return m[0]
    return f"{m['lead']}{m['key']}={HIDDEN}"


def _split_url(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, user, password or "", the rest after the last @) of a URL; None when it is not one.

    The password is everything between the first ``:`` of the user part and the last ``@`` (SQLAlchemy reads it
    up to the first ``@``; hiding up to the last one also hides the part of a password that holds an ``@``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    at = rest.rfind("@")
    if at < 0:
        return f"{scheme}://", "", "", rest
    user, colon, password = rest[:at].partition(":")
    if any(c in user for c in "/?#"):  # the @ is in the path or the query: there is no user part
        return f"{scheme}://", "", "", rest
    return f"{scheme}://", user, (password if colon else ""), rest[at + 1 :]


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """(key, piece) of each ``key=value`` piece of a query; a piece without ``=`` belongs to the value before it
    (an ``&`` that was not percent-encoded inside a password)."""
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if "=" in piece or not pairs:
            pairs.append((piece.partition("=")[0], piece))
        else:
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]}&{piece}")
    return pairs


def _redact_url(url: str) -> str:
    parts = _split_url(url)
    if parts is None:  # a libpq key=value string, or something that is no URL at all
        return _PAIR_IN_TEXT.sub(_hide_pair, url)
    scheme, user, password, rest = parts
    shown = f"{scheme}{user}:{HIDDEN}@" if password else (f"{scheme}{user}@" if user else scheme)
    path, question, query = rest.partition("?")
    if question:
        kept = [f"{key}={HIDDEN}" if _is_password_key(key) else piece for key, piece in _query_pairs(query)]
        rest = f"{path}?{'&'.join(kept)}"
    return shown + rest


def _passwords(url: str) -> list[str]:
    """Every password written in ``url``: its user part, its query, its libpq pairs."""
    found: list[str] = []
    parts = _split_url(url)
    if parts is not None:
        _, _, password, rest = parts
        found.append(password)
        found.append(password.partition("@")[0])  # how SQLAlchemy reads it
        _, _, query = rest.partition("?")
        found.extend(piece.partition("=")[2] for key, piece in _query_pairs(query) if _is_password_key(key))
    for m in _PAIR_IN_TEXT.finditer(url):
        if _is_password_key(m["key"]):
            value = m["value"]
            found.append(value)
            if value[:1] in "'\"":
                found.append(re.sub(r"\\(.)", r"\1", value.strip(value[0])))
    return [p for p in found if p]


def _forms(value: str) -> set[str]:
    """A secret as written, decoded and encoded, each at least ``MIN_SECRET`` characters long."""
    forms = {value, unquote(value), unquote_plus(value), quote(value, safe=""), quote_plus(value, safe="")}
    return {f for f in forms if len(f) >= MIN_SECRET}
