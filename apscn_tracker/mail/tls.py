"""TLS with the SMTP server: the trusted certificates (the system's, plus ``smtp_ca_file`` when set), and the
one line that says why a certificate was not trusted, with OpenSSL's reason and the setting to change.

Kept apart from ``mail.transports`` so the refusals a server gives (``setup_refusal``) and the certificate
words live in one place each."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

CA_SETTING = "smtp_ca_file (APSCN_SMTP_CA_FILE)"


class TrustError(Exception):
    """``smtp_ca_file`` cannot be read as certificates; the message names it."""


def context(ca_file: Path | None) -> ssl.SSLContext:
    """The system's trusted certificates (``ssl.create_default_context``), plus those of ``ca_file``: an internal
    CA is added to them, never in their place."""
    ctx = ssl.create_default_context()
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError, ValueError) as exc:
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise TrustError(
                f"{CA_SETTING} {ca_file} cannot be read as PEM certificates ({why}); name the file of the CA "
                "certificate that signed the SMTP server's certificate"
            ) from None
    return ctx


def untrusted(where: str, exc: ssl.SSLCertVerificationError, *, ca_file: Path | None) -> str:
    """Why the certificate of ``where`` was refused (OpenSSL's words: "self-signed certificate", "Hostname
    mismatch ..."), and what to change."""
    reason = exc.verify_message or getattr(exc, "reason", None) or str(exc)
    if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
        fix = "set APSCN_SMTP_HOST to a name the certificate carries"
    elif ca_file is not None:
        fix = f"{CA_SETTING} ({ca_file}) does not hold the CA that signed it; name that CA's certificate there"
    else:
        fix = f"name the CA certificate that signed it with {CA_SETTING} (added to the system's trusted ones)"
    return f"the certificate of {where} is not trusted ({reason}); {fix}"


_NO_RELAY = re.compile(r"client host rejected|relay access denied|relaying denied|not permitted to relay", re.I)


def setup_refusal(replies: list[tuple[int, str]]) -> bool:
    """The server refused every recipient for a reason of this machine, not of the addresses: it does not take
    mail from this client without a login ("554 5.7.1 Client host rejected", "Relay access denied")."""
    return bool(replies) and all(500 <= code < 600 and _NO_RELAY.search(text) for code, text in replies)
