"""Real processes standing for senders: each prints the worker id it would claim under, then lives on or ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

PRINT_ID = "from apscn_tracker.mail.owners import worker_id; import time; print(worker_id(), flush=True); "


@contextmanager
def live_sender() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A live process and its worker id; killed and reaped on the way out."""
    proc = subprocess.Popen([sys.executable, "-c", PRINT_ID + "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def ended_sender() -> str:
    """The worker id of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", PRINT_ID], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def wait_for_zombie(pid: int, timeout: float = 30.0) -> None:
    """Until process ``pid`` (killed, not reaped) is a zombie."""
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return
        assert time.monotonic() < deadline, f"process {pid} did not end"
        time.sleep(0.01)
