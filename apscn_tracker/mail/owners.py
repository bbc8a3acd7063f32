"""Who holds a claim on an outbox row, and whether that holder is provably gone.

A sender's worker id (``claimed_by``) names its process: ``HOST:PID:STAMP:NONCE``. ``STAMP`` says which process
had that pid: ``NS.BOOT.TICKS``, its pid namespace, the machine's boot and the process's start time (field 22
of ``/proc/PID/stat``, clock ticks after boot), each empty where the system does not tell. ``NONCE`` tells two
senders of one process apart.

A holder is *gone* when it ran on this host, in this pid namespace, and its process no longer exists
(``os.kill(pid, 0)`` raises ``ProcessLookupError``), is a zombie, or is another process that reuses the pid
(another start stamp, or another boot). Anything else counts as alive: a process of another user
(``PermissionError``), a holder on another host (only the claim timeout frees its rows), an id of an older form,
a system that shows no start times. Taking a row from a live sender would send it twice; waiting for the
timeout only delays it.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

CLAIM_TIMEOUT = timedelta(minutes=10)
"""A row in ``sending`` for longer than this was left by a process that died: any sender claims it again."""


@dataclass(frozen=True, slots=True)
class Holder:
    """A parsed worker id."""

    host: str
    pid: int
    namespace: str
    stamp: str  # BOOT.TICKS: which process had ``pid`` ('.' when unknown)


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


@cache
def _boot() -> str:
    return _read("/proc/sys/kernel/random/boot_id")[:8]


def _namespace() -> str:
    try:
        return "".join(ch for ch in os.readlink("/proc/self/ns/pid") if ch.isdigit())
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks after boot) of process ``pid``; None when it has no entry."""
    raw = _read(f"/proc/{pid}/stat")
    if ")" not in raw:
        return None
    fields = raw[raw.rindex(")") + 1 :].split()  # after the command name, which may hold spaces and parentheses
    if len(fields) < 20:
        return None
    return fields[0], fields[19]  # fields 3 (state) and 22 (starttime) of proc(5)


def process_stamp(pid: int) -> str | None:
    """``BOOT.TICKS`` of process ``pid`` (which process has that pid now); None when the system does not say."""
    found = _stat(pid)
    return None if found is None else f"{_boot()}.{found[1]}"


def this_host() -> str:
    return socket.gethostname()


def worker_id() -> str:
    """This process's id for a sender it runs (a new one each call)."""
    pid = os.getpid()
    stamp = process_stamp(pid) or "."
    return f"{this_host()}:{pid}:{_namespace()}.{stamp}:{uuid.uuid4().hex[:8]}"


def parse(worker: str | None) -> Holder | None:
    """The holder a worker id names; None for an id of another form (an older one, or none)."""
    parts = (worker or "").rsplit(":", 3)
    if len(parts) != 4 or not parts[1].isdigit() or parts[2].count(".") != 2:
        return None
    namespace, stamp = parts[2].split(".", 1)
    return Holder(host=parts[0], pid=int(parts[1]), namespace=namespace, stamp=stamp)


def gone(worker: str | None) -> bool:
    """Whether the sender ``worker`` provably no longer runs (see the module doc); False when in doubt."""
    holder = parse(worker)
    if holder is None or holder.host != this_host() or holder.namespace != _namespace():
        return False
    if holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user; its start stamp still tells a reused pid
        pass
    except OSError:
        return False
    found = _stat(holder.pid)
    if found is None or holder.stamp == ".":  # no start time to compare: it may be the holder
        return False
    state, ticks = found
    return state == "Z" or f"{_boot()}.{ticks}" != holder.stamp


def abandoned(worker: str | None, claimed_at: datetime | None, now: datetime) -> str | None:
    """Why a row in ``sending`` may be taken back now: ``"gone"`` (its sender on this host is gone), ``"stale"``
    (claimed longer than ``CLAIM_TIMEOUT`` ago), or None (its sender may still be at work)."""
    if gone(worker):
        return "gone"
    if claimed_at is None or claimed_at <= now - CLAIM_TIMEOUT:
        return "stale"
    return None
