"""Where a message goes: a folder of ``.eml`` files (default, no server needed) or an SMTP server.

Both are context managers used for one delivery batch; ``SmtpTransport`` opens one connection on the first
message and reuses it for the whole batch. Failures are classified:

- ``PermanentError``: the server refused this message for good (a 5xx reply); retrying cannot help.
- ``TemporaryError``: try again later (a 4xx reply, a refused connection, a timeout). With ``stop_batch`` the
  problem is the server, not the message: the batch stops, nothing else is tried.
- ``SetupError``: the setup is at fault, not the message (a login refused, TLS that does not match the server, a
  server that wants encryption first, a certificate not trusted, an outbox folder that cannot be written or a
  full disk). No try is charged to the message; the run stops and its one line names the setting to fix.

The SMTP password comes from the settings (the environment); it is never logged and is scrubbed from every
error text a transport produces.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from apscn_tracker.config import ConfigError
from apscn_tracker.errors import UserError
from apscn_tracker.mail import tls
from apscn_tracker.mail.message import message_bytes
from apscn_tracker.mail.smtp_login import login_once, login_problem, not_ascii

if TYPE_CHECKING:
    from apscn_tracker.config import Settings

log = logging.getLogger("apscn_tracker.mail")


class DeliveryError(Exception):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentError(DeliveryError):
    """The message was refused for good (5xx)."""


class TemporaryError(DeliveryError):
    """Try again later (4xx, connection refused, timeout). ``stop_batch``: the server or the setup is at fault."""

    def __init__(self, message: str, *, code: int | None = None, stop_batch: bool = False) -> None:
        super().__init__(message, code=code)
        self.stop_batch = stop_batch


class SetupError(TemporaryError, UserError):
    """The setup is at fault, not the message: it waits with no try charged, the run stops, and this one line
    (a ``UserError``: the command line and the scheduler say it so) names the setting to fix."""

    def __init__(self, message: str, *, code: int | None = None, login: bool = False) -> None:
        super().__init__(message, code=code, stop_batch=True)
        self.login = login  # a refused login: delivery pauses until the mail settings change


class Transport(Protocol):
    name: str

    def __enter__(self) -> Transport: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(
        self, message: EmailMessage, *, sender: str | None = None, recipients: list[str] | None = None
    ) -> dict[str, tuple[int, str]]:
        """Deliver one message to ``recipients`` (default: its To and Cc) with ``sender`` as the envelope sender;
        returns the recipients refused (address -> code, reply); every other one was accepted."""
        ...


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class FileTransport:
    """One ``.eml`` file per message in ``directory``, written atomically; a resend replaces the same file."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __enter__(self) -> FileTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def filename(self, message: EmailMessage) -> str:
        # the headers as stored (``raw_items``): reading them through the policy would parse each one again
        raw = {name.lower(): str(value) for name, value in message.raw_items()}
        msgid = raw.get("message-id", "").strip().strip("<>").split("@", 1)[0]
        digest = msgid.rsplit(".", 1)[-1][:12] or "message"
        try:
            stamp = parsedate_to_datetime(raw.get("date", "")).strftime("%Y%m%d-%H%M%S")
        except (TypeError, ValueError):
            stamp = "undated"
        kind = _UNSAFE.sub("_", raw.get("x-apscn-kind") or "email")[:40]
        return f"{stamp}-{kind}-{_UNSAFE.sub('_', digest)}.eml"

    def send(
        self, message: EmailMessage, *, sender: str | None = None, recipients: list[str] | None = None
    ) -> dict[str, tuple[int, str]]:
        data = message_bytes(message)
        target = self.directory / self.filename(message)
        tmp = self.directory / f".{target.name}.{os.getpid()}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):  # the folder may not even exist
                tmp.unlink(missing_ok=True)
            raise _write_error(self.directory, target, exc) from None
        log.info("wrote %s", target)
        return {}


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_CANNOT_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ELOOP)


def _write_error(folder: Path, target: Path, exc: OSError) -> TemporaryError:
    """A full disk or a folder that cannot be written is the setup's problem (``SetupError``); anything else
    (an I/O error, say) is tried again later."""
    why = exc.strerror or str(exc)
    if exc.errno in _DISK_FULL:
        return SetupError(f"the disk holding the outbox folder {folder} is full ({why}); free some space")
    if exc.errno in _CANNOT_WRITE:
        return SetupError(
            f"the outbox folder {folder} cannot be written ({why}); make it a folder this user can write "
            "(it is $APSCN_HOME/outbox), or set APSCN_HOME"
        )
    return TemporaryError(f"cannot write {target}: {why}", stop_batch=True)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpTransport:
    """An SMTP server: ``security`` none, starttls or ssl; login when ``user`` is set. One connection a batch."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "none",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ca_file: Path | None = None,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"smtp security {security!r}: use none, starttls or ssl")
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self._password = password
        self.timeout = timeout
        self.ca_file = ca_file
        self._conn: smtplib.SMTP | None = None
        self.connections = 0  # how many connections this transport opened (one per batch when all goes well)

    def __repr__(self) -> str:
        return f"SmtpTransport(host={self.host!r}, port={self.port}, security={self.security!r}, user={self.user!r})"

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors --------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the password (and its usual encodings) from a text before it is stored or logged."""
        secret = self._password
        if not secret:
            return text
        forms = {secret}
        raw = secret.encode("utf-8")
        forms.add(base64.b64encode(raw).decode())
        if self.user:
            forms.add(base64.b64encode(b"\0" + self.user.encode() + b"\0" + raw).decode())
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text

    def _reply(self, code: int, resp: bytes | str) -> str:
        text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
        return self._scrub(f"{code} {' '.join(text.split())}")

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    # -- connection ----------------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        if self.user and not self._password:
            raise SetupError("APSCN_SMTP_USER is set but APSCN_SMTP_PASSWORD is not; set it in the environment")
        if self.user and self.security == "none" and not _is_loopback(self.host):
            raise SetupError(
                f"refusing to send the SMTP password to {self.host} without encryption; "
                "set APSCN_SMTP_SECURITY to starttls or ssl"
            )
        problem = login_problem(self.user, self._password)
        if problem:
            raise SetupError(problem)
        try:
            trust = tls.context(self.ca_file) if self.security != "none" else None
        except tls.TrustError as exc:
            raise SetupError(str(exc)) from None
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=trust)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=trust)
                conn.ehlo()
            if self.user:
                login_once(conn, self.user, self._password or "")
        except UnicodeError:  # smtplib encodes the login as ASCII; its message would name a character and where
            self._drop(conn)
            raise SetupError(not_ascii("APSCN_SMTP_USER or APSCN_SMTP_PASSWORD")) from None
        except smtplib.SMTPResponseException as exc:
            self._drop(conn)
            raise self._refused_at_connect(exc) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._drop(conn)
            what = "STARTTLS" if "STARTTLS" in str(exc) else "a login (AUTH) here, maybe only once encrypted"
            fix = "check APSCN_SMTP_SECURITY and APSCN_SMTP_PORT"
            raise SetupError(f"{self._where()} does not offer {what}; {fix}") from None
        except ssl.SSLCertVerificationError as exc:
            self._drop(conn)
            raise SetupError(self._scrub(tls.untrusted(self._where(), exc, ca_file=self.ca_file))) from None
        except ssl.SSLError as exc:
            self._drop(conn)
            raise SetupError(
                f"TLS with {self._where()} failed ({self._scrub(getattr(exc, 'reason', None) or str(exc))}); "
                "check APSCN_SMTP_SECURITY and APSCN_SMTP_PORT (ssl for port 465, starttls for 587)"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop(conn)
            raise TemporaryError(
                f"cannot reach the SMTP server {self._where()}: {self._scrub(_os_error(exc))}", stop_batch=True
            ) from None
        self.connections += 1
        log.info("connected to %s (%s)%s", self._where(), self.security, f" as {self.user}" if self.user else "")
        return conn

    def _refused_at_connect(self, exc: smtplib.SMTPResponseException) -> TemporaryError:
        """A reply that ended the greeting, STARTTLS or the login. A refused login, or a server that wants
        encryption or a login first, is the setup's problem; a busy server (4xx) is tried again later."""
        reply = self._reply(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            return TemporaryError(f"{self._where()} answered {reply}", code=exc.smtp_code, stop_batch=True)
        if _wants_tls(exc):
            return SetupError(
                f"{self._where()} wants an encrypted connection first ({reply}); set APSCN_SMTP_SECURITY to "
                "starttls (port 587) or ssl (port 465), and APSCN_SMTP_PORT to match"
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError) or exc.smtp_code == 530:
            why = f"refused the login of {self.user}" if self.user else "wants a login"
            return SetupError(
                f"{self._where()} {why} ({reply}); check APSCN_SMTP_USER and APSCN_SMTP_PASSWORD",
                login=bool(self.user),
            )
        return SetupError(
            f"{self._where()} answered {reply}; check APSCN_SMTP_HOST, APSCN_SMTP_PORT, APSCN_SMTP_SECURITY"
        )

    @staticmethod
    def _drop(conn: smtplib.SMTP | None) -> None:
        if conn is None:
            return
        with contextlib.suppress(Exception):  # closing a broken connection: nothing more to do
            conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            self._drop(conn)

    # -- sending -------------------------------------------------------------------------------------------

    def send(
        self, message: EmailMessage, *, sender: str | None = None, recipients: list[str] | None = None
    ) -> dict[str, tuple[int, str]]:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            refused = conn.send_message(message, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused: each answer is kept
            replies = {addr: (code, self._reply(code, resp)) for addr, (code, resp) in exc.recipients.items()}
            if tls.setup_refusal(list(replies.values())):
                text = next(iter(replies.values()))[1]
                raise SetupError(
                    f"{self._where()} does not take mail from this machine ({text}); set APSCN_SMTP_USER and "
                    "APSCN_SMTP_PASSWORD (a login), or APSCN_SMTP_HOST to a server that relays for it"
                ) from None
            return replies
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            if exc.smtp_code == 530:  # encryption or a login first: the setup, not the sender
                raise self._refused_at_connect(exc) from None
            refusal = (
                f"{self._where()} refused the sender {exc.sender} ({self._reply(exc.smtp_code, exc.smtp_error)}); "
                "check bounce_address (APSCN_BOUNCE_ADDRESS, else coordinator_email), the envelope sender"
            )
            if 500 <= exc.smtp_code < 600:
                raise SetupError(refusal, code=exc.smtp_code) from None
            raise TemporaryError(refusal, code=exc.smtp_code, stop_batch=True) from None
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and friends
            reply = self._reply(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(f"refused: {reply}", code=exc.smtp_code) from None
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
                raise TemporaryError(f"server busy: {reply}", code=421, stop_batch=True) from None
            raise TemporaryError(f"deferred: {reply}", code=exc.smtp_code) from None
        except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPException) as exc:
            self._drop(conn)
            self._conn = None
            raise TemporaryError(
                f"connection to {self._where()} lost: {self._scrub(_os_error(exc))}", stop_batch=True
            ) from None
        return {addr: (code, self._reply(code, resp)) for addr, (code, resp) in (refused or {}).items()}


def _wants_tls(exc: smtplib.SMTPResponseException) -> bool:
    """A 5xx reply saying encryption must come first (530 "issue a STARTTLS command first", 538, 5.7.11)."""
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return exc.smtp_code == 538 or "5.7.11" in text or "STARTTLS" in text.upper() or "ENCRYPT" in text.upper()


def _os_error(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def make_transport(settings: Settings) -> FileTransport | SmtpTransport:
    """The transport the configuration names (``mail_transport``: file or smtp). A login that cannot be made is
    a setup problem (``ConfigError``), found before any message is claimed."""
    if settings.mail_transport == "smtp":
        problem = login_problem(settings.smtp_user, settings.smtp_password)
        if problem:
            raise ConfigError(problem)
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            ca_file=settings.smtp_ca_file,
        )
    return FileTransport(settings.outbox_dir)
