"""``apscn`` as a person or a pipe meets it: a real process, its stdout a pipe or a pseudo-terminal of a given
width, ``COLUMNS`` set or not."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WIDTHS = (80, 200)
MODES = ("pipe", "pty")


@dataclass
class Run:
    code: int
    out: str  # stdout; on a terminal with the colour codes removed, line ends as "\n"
    err: str
    raw: str  # stdout as written

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.split("\n") if line]


def _env(columns: int | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    if columns is not None:
        env["COLUMNS"] = str(columns)
    env.update(extra or {})
    return env


def apscn(*args: str, mode: str = "pipe", columns: int | None = None, width: int = 80, **extra: str) -> Run:
    """Run ``apscn ARGS``: stdout a pipe (``mode="pipe"``) or a terminal ``width`` columns wide (``"pty"``);
    ``columns`` sets COLUMNS; ``extra`` more environment (APSCN_TODAY=...)."""
    argv = [sys.executable, "-m", "apscn_tracker", *args]
    env = _env(columns, extra)
    if mode == "pipe":
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        return Run(done.returncode, done.stdout, done.stderr, done.stdout)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: the other end has closed
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    raw = b"".join(chunks).decode().replace("\r\n", "\n")
    return Run(code, ANSI.sub("", raw), err, raw)


def to_closed_pipe(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``apscn ARGS`` with its stdout a pipe whose reader has already gone (as ``| head`` after a line)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "apscn_tracker", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(None, extra),
            timeout=120,
        )
    finally:
        os.close(write_end)


def cell_width(line: str) -> int:
    """Columns a line takes on a terminal (wide characters count two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
