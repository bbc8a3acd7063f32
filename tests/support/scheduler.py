"""A real ``apscn scheduler run`` process with its log in a file, and a fixture that starts them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


class Scheduler:
    """A running ``apscn scheduler run`` with its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apscn_tracker", "scheduler", "run"], env=env, stdout=self._fh, stderr=self._fh
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_log(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert self.proc.poll() is None, f"the scheduler exited ({self.proc.returncode}):\n{self.text()}"
            assert time.monotonic() < deadline, f"no {needle!r} in the log:\n{self.text()}"
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._fh.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._fh.close()


@pytest.fixture
def schedulers():
    started: list[Scheduler] = []

    def start(env: dict[str, str], log: Path) -> Scheduler:
        s = Scheduler(env, log)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()
