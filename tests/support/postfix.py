"""A private Postfix (with Dovecot for logins) on 127.0.0.1, for the tests: its own config, queue and data
folders under a temporary folder, started with ``postfix -c DIR start`` and stopped with ``postfix -c DIR stop``.
The machine's own Postfix (port 25, /etc/postfix) is never touched. (No tests here.)

Ports (free ones, picked at start):

- ``plain``: no TLS, no login (from 127.0.0.1 anything goes);
- ``submission``: STARTTLS required, then a login (SASL through Dovecot's auth on a private socket); a client
  that does not log in gets ``554 5.7.1 Client host rejected`` for every recipient;
- ``smtps``: TLS from the start (implicit TLS), then a login.

The certificate is self-signed (``cert``: made with openssl for ``localhost`` and 127.0.0.1). Every address of a
``.example`` domain is delivered to one Maildir (``messages``, each with Postfix's ``Delivered-To`` and
``Return-Path``), except: ``refused@...`` (550 at RCPT), ``busy@...`` (450 at RCPT, until ``accept_busy``),
``gone@...`` (unknown: 550 at RCPT), ``moved@...`` (accepted, then aliased to gone@ and bounced to the envelope
sender).
"""

from __future__ import annotations

import email
import os
import shutil
import socket
import subprocess
import tempfile
import time
from email import policy
from email.message import EmailMessage as Message
from pathlib import Path

import pytest

REFUSED = "/^refused@/ 550 5.1.1 <refused>: Recipient address rejected: no such user here\n"
BUSY = "/^busy@/ 450 4.2.1 <busy>: Recipient address rejected: mailbox busy, try again later\n"
USER = "tracker@coop.example"
PASSWORD = "correct horse 42"


def missing() -> str | None:
    """Why a private Postfix cannot run here (None: it can). With CI set, missing programs are a failure."""
    for program in ("postfix", "postconf", "dovecot", "openssl"):
        if shutil.which(program) is None and not os.path.exists(f"/usr/sbin/{program}"):
            return f"{program} is not installed (Debian: apt-get install postfix dovecot-core)"
    if os.geteuid() != 0:
        return "Postfix's master must start as root"
    return None


def require() -> None:
    """Skip (with the reason) when Postfix cannot run here, unless CI is set: there it must."""
    why = missing()
    if why is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: the Postfix tests cannot run: {why}")
    pytest.skip(why)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run(*args: str) -> None:
    """Run a program; its output goes to a file, not a pipe (a daemon it starts keeps its copy of a pipe open)."""
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(args, stdout=out, stderr=out, timeout=120)
        if done.returncode != 0:
            out.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed: {out.read().decode(errors='replace').strip()}")


def _sbin(program: str) -> str:
    return shutil.which(program) or f"/usr/sbin/{program}"


class Postfix:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="apscn-postfix-"))
        os.chmod(self.base, 0o755)  # the postfix and dovecot users must reach their folders
        self.etc = self.base / "etc"
        self.queue = self.base / "queue"
        self.data = self.base / "data"
        self.maildir = self.base / "mail"
        self.dovecot_conf = self.base / "dovecot.conf"
        self.cert = self.base / "cert.pem"
        self.key = self.base / "key.pem"
        self.plain, self.submission, self.smtps = _free_ports(3)
        self.started = False

    # -- set-up ------------------------------------------------------------------------------------------

    def _certificate(self) -> None:
        _run(
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(self.key), "-out", str(self.cert),
        )  # fmt: skip
        os.chmod(self.key, 0o600)
        os.chmod(self.cert, 0o644)

    def _dovecot(self) -> None:
        users = self.base / "dovecot-users"
        users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        os.chmod(users, 0o644)
        self.dovecot_conf.write_text(
            f"""base_dir = {self.base}/dovecot-run
state_dir = {self.base}/dovecot-state
log_path = {self.base}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.base}/home
}}
service auth {{
  unix_listener {self.queue}/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
service anvil {{
  unix_listener anvil {{
    mode = 0600
  }}
}}
"""
        )

    def _tables(self) -> None:
        (self.etc / "recipients").write_text(REFUSED + BUSY)
        (self.etc / "domains").write_text("/\\.example$/ OK\n")
        (self.etc / "mailboxes").write_text("!/^gone@/ mail/\n")
        (self.etc / "aliases").write_text("/^moved@([^@]+)$/ gone@$1\n")

    def accept_busy(self) -> None:
        """busy@ is accepted from now on (Postfix reloads its tables); ``reset`` refuses it again."""
        (self.etc / "recipients").write_text(REFUSED)
        self._reload()

    def _reload(self) -> None:
        _run(_sbin("postfix"), "-c", str(self.etc), "reload")
        time.sleep(1.5)  # the smtpd processes started before the reload finish their session and exit

    def reset(self) -> None:
        """Between tests: the tables as at start, an empty Maildir."""
        if (self.etc / "recipients").read_text() != REFUSED + BUSY:
            (self.etc / "recipients").write_text(REFUSED + BUSY)
            self._reload()
        self.reset_mail()

    def reset_mail(self) -> None:
        """An empty Maildir."""
        for p in (self.maildir / "new").iterdir():
            p.unlink()

    def _main_cf(self) -> None:
        shutil.copy("/etc/postfix/master.cf", self.etc / "master.cf")
        nobody = 65534
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.apscn-test.invalid",
            "mydomain": "apscn-test.invalid",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "maillog_file": str(self.base / "maillog"),
            "maillog_file_prefixes": str(self.base),
            "alias_maps": "",
            "alias_database": "",
            "virtual_mailbox_domains": f"regexp:{self.etc}/domains",
            "virtual_mailbox_base": str(self.base),
            "virtual_mailbox_maps": f"regexp:{self.etc}/mailboxes",
            "virtual_alias_maps": f"regexp:{self.etc}/aliases",
            "virtual_uid_maps": f"static:{nobody}",
            "virtual_gid_maps": f"static:{nobody}",
            "virtual_minimum_uid": "100",
            "smtpd_recipient_restrictions": (
                f"check_recipient_access regexp:{self.etc}/recipients, permit_mynetworks, permit_sasl_authenticated,"
                " reject_unauth_destination"
            ),
            "smtpd_tls_cert_file": str(self.cert),
            "smtpd_tls_key_file": str(self.key),
            "smtpd_tls_security_level": "none",
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_sasl_auth_enable": "no",
            "smtp_tls_security_level": "none",
            "default_destination_concurrency_limit": "4",
            "bounce_queue_lifetime": "0",
            "maximal_queue_lifetime": "1h",
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "100",
            "smtpd_hard_error_limit": "200",
            "biff": "no",
            "append_dot_mydomain": "no",
            "shlib_directory": "/usr/lib/postfix",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "command_directory": "/usr/sbin",
            "meta_directory": "/etc/postfix",
        }
        (self.etc / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        postconf = _sbin("postconf")
        _run(postconf, "-c", str(self.etc), "-F", "*/*/chroot = n")
        _run(postconf, "-c", str(self.etc), "-MX", "smtp/inet")  # no port 25 here
        submission = (
            "-o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes -o smtpd_sasl_auth_enable=yes"
            " -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
        )
        smtps = (
            "-o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes"
            " -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
        )
        for port, extra in ((self.plain, ""), (self.submission, submission), (self.smtps, smtps)):
            _run(
                postconf,
                "-c",
                str(self.etc),
                "-M",
                f"127.0.0.1:{port}/inet=127.0.0.1:{port} inet n - n - - smtpd {extra}".rstrip(),
            )

    def start(self) -> Postfix:
        for d in (self.etc, self.queue, self.data):
            d.mkdir(mode=0o755)
        (self.queue / "private").mkdir(mode=0o700)
        shutil.chown(self.queue / "private", "postfix")
        self.maildir.mkdir(mode=0o755)
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(mode=0o700)
        os.chown(self.maildir, 65534, 65534)
        for sub in ("new", "cur", "tmp"):
            os.chown(self.maildir / sub, 65534, 65534)
        shutil.chown(self.data, "postfix")
        self._certificate()
        self._tables()
        self._main_cf()
        self._dovecot()
        self.started = True  # from here on, stop() stops what did start
        _run(_sbin("dovecot"), "-c", str(self.dovecot_conf))
        _run(_sbin("postfix"), "-c", str(self.etc), "start")
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        for port in (self.plain, self.submission, self.smtps):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the private Postfix does not listen on {port}: {self.log()}") from None
                    time.sleep(0.2)
        auth = self.queue / "private" / "auth"
        while not auth.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("Dovecot's auth socket did not appear")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.started:
            for args in (("postfix", "-c", str(self.etc), "stop"), ("dovecot", "-c", str(self.dovecot_conf), "stop")):
                subprocess.run(
                    [_sbin(args[0]), *args[1:]],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=60,
                    check=False,
                )
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    # -- reading what arrived ----------------------------------------------------------------------------

    def log(self) -> str:
        path = self.base / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def messages(self) -> list[Message]:
        """Every message delivered so far, oldest first."""
        files = sorted((self.maildir / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]

    def wait_for(self, n: int, timeout: float = 30) -> list[Message]:
        """At least ``n`` messages delivered (Postfix delivers in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def delivered_to(self, messages: list[Message] | None = None) -> list[str]:
        """The Delivered-To of each message (the final recipient Postfix delivered it to), sorted."""
        return sorted(str(m["Delivered-To"]).lower() for m in (self.messages() if messages is None else messages))

    def settle(self, quiet: float = 1.5, timeout: float = 30) -> list[Message]:
        """Every message, once nothing new arrived for ``quiet`` seconds (bounces come a moment later)."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len(list((self.maildir / "new").iterdir()))
            if n != seen:
                seen, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.1)
        return self.messages()
