"""Which email addresses the tracker can deliver to: the one definition, used where an address comes in (a roster
import, ``district add``/``edit``, a vendor's Onboarding Manager), where the settings' addresses are checked
(``mail_from``, ``coordinator_email``), where a message is built, and by ``doctor`` over what is stored.

An address is accepted when any SMTP server takes it: ``local@domain`` in plain ASCII, the local part a
dot-atom (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots between them), the domain host names of letters,
digits and hyphens. Refused, each with its reason: quoted local parts, comments, ``:``, brackets, spaces,
address literals, and any character outside ASCII. A domain written in Unicode is refused with the advice to
give its ASCII form (``xn--...``), which is accepted: the tracker does not convert it itself, since IDNA 2003
(Python's codec) and IDNA 2008 map some characters differently and a wrong conversion sends mail to another
domain. A local part outside ASCII needs SMTPUTF8, which mail servers do not all offer.

Standard library only: the settings may use it too.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 254  # RFC 5321: a path of 256 octets, the angle brackets included
MAX_LOCAL = 64
MAX_DOMAIN = 253
MAX_LABEL = 63

_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_TOP_LEVEL = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_TWO_DOTS = "cannot start or end with a dot, nor hold two dots in a row"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{0,58}}[A-Za-z0-9])")
"""The common deliverable address, accepted in one match (a roster brings thousands); anything else goes through
the checks below, which say what is wrong. Everything it matches, the checks accept too (a test holds it to that)."""


def address_problem(address: str, *, local_domain: bool = False) -> str | None:
    """Why mail to ``address`` (a bare ``local@domain``) cannot be delivered, or None when it can.

    ``local_domain`` accepts a domain without a dot (``tracker@localhost``, the default sender)."""
    if isinstance(address, str) and len(address) <= MAX_ADDRESS and _PLAIN.fullmatch(address):
        local, _, domain = address.partition("@")
        if len(local) <= MAX_LOCAL and len(domain) <= MAX_DOMAIN:
            return None
    return _problem(address, local_domain=local_domain)


def _problem(address: str, *, local_domain: bool) -> str | None:
    if not isinstance(address, str) or not address:
        return "it is empty"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in address):
        return "it holds a space, a line break or a control character"
    if len(address) > MAX_ADDRESS:
        return f"it is longer than {MAX_ADDRESS} characters"
    if address.count("@") != 1:
        return "it has no @" if "@" not in address else "it has more than one @"
    local, domain = address.split("@")
    return _local_problem(local) or _domain_problem(domain, local_domain=local_domain)


def _local_problem(local: str) -> str | None:
    if not local:
        return "nothing comes before the @"
    outside = [c for c in local if not c.isascii()]
    if outside:
        return (
            f"the part before the @ has a character outside ASCII ({outside[0]!r}), which only mail servers that "
            "offer SMTPUTF8 take"
        )
    wrong = [c for c in local if c not in _ATEXT and c != "."]
    if wrong:
        return f"the part before the @ cannot hold {wrong[0]!r}"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return f"the part before the @ {_TWO_DOTS}"
    if len(local) > MAX_LOCAL:
        return f"the part before the @ is longer than {MAX_LOCAL} characters"
    return None


def _domain_problem(domain: str, *, local_domain: bool) -> str | None:
    if not domain:
        return "nothing comes after the @"
    outside = [c for c in domain if not c.isascii()]
    if outside:
        return (
            f"the domain has a character outside ASCII ({outside[0]!r}); give the domain in its ASCII form "
            "(xn--...), as the mail provider or `idn2` shows it"
        )
    wrong = [c for c in domain if c not in _HOST_CHARS]
    if wrong:
        return f"the domain cannot hold {wrong[0]!r}"
    labels = domain.split(".")
    if any(not label for label in labels):
        return f"the domain {_TWO_DOTS}"
    if len(domain) > MAX_DOMAIN or any(len(label) > MAX_LABEL for label in labels):
        return f"the domain is longer than {MAX_DOMAIN} characters, or a part of it longer than {MAX_LABEL}"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "a part of the domain starts or ends with a hyphen"
    if len(labels) == 1:
        return None if local_domain else f"the domain {domain!r} has no dot (like district.k12.ar.us)"
    if not _TOP_LEVEL.fullmatch(labels[-1]):
        return f"the domain ends with {labels[-1]!r}, which is no top-level domain"
    return None
