"""The disk full, the ledger read-only, the outbox folder read-only: real `apscn` processes fail with one clear
line, write nothing half (the ledger is exactly as before, no partial file is left), and once the fault is
gone the same commands succeed.

A full disk is a file size limit on the child process (RLIMIT_FSIZE: writes past it fail as on a full disk),
so no mount is needed. A read-only file is a mode without write permission; as root, the child first gives
up the capabilities that let root write anyway (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.faults import connected_ledger, ledger_check, outbox_rows, run_apscn_on
from tests.support.snapshot import snapshot

pytestmark = pytest.mark.sqlite_only  # on PostgreSQL the server owns the disk
TODAY = date(2026, 7, 8)
LATER = datetime.now(UTC) + timedelta(hours=7)  # past any retry backoff
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def file_limit(size: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def without_root_override() -> None:
    """In the child, before exec: root loses the right to ignore file permissions."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def can_drop_root_override() -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=without_root_override, capture_output=True)
    return probe.returncode == 0


def apscn(*args: str, preexec: Callable[[], None] | None = None, **env: str) -> subprocess.CompletedProcess:
    return run_apscn_on(TODAY, *args, preexec_fn=preexec, **env)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def ledger(make_app, home):
    connected_ledger(make_app, home, TODAY)
    return make_app(TODAY)  # its ledger opens only when a test uses it


FULL = 4096  # bytes a file may grow to: not even one page of the write-ahead log (4120 bytes), no backup copy


@pytest.fixture
def open_elsewhere(ledger):
    """The ledger open in another process (the scheduler, say), so its shared-memory file already exists and the
    child, under its size limit, only has to write the log and the data."""
    import sqlite3

    conn = sqlite3.connect(ledger.settings.db_path)
    conn.execute("SELECT count(*) FROM event").fetchone()
    yield conn
    conn.close()


def big_roster(path: Path, n: int = 3000) -> Path:
    rows = ["lea_code,name,county,contact_name,contact_email"]
    codes = [f"{c:02d}{d:02d}000" for c in range(1, 76) for d in range(40, 80)][:n]
    rows += [f"{code},District {code},County {code[:2]},Pat Lee,pat@{code}.k12.example" for code in codes]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


# -- disk full ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["district", "import", "ROSTER"],
        ["request", "6001000", "--on", "2026-07-01"],
        ["district", "add", "7580000", "A New District", "--email", "it@new.k12.example"],
        ["tick"],
    ],
    ids=["import", "request", "district-add", "tick"],
)
def test_a_full_disk_refuses_in_one_line_and_leaves_the_ledger_as_it_was(ledger, open_elsewhere, tmp_path, args):
    roster = big_roster(tmp_path / "roster.csv")
    args = [str(roster) if a == "ROSTER" else a for a in args]
    before = snapshot(ledger.settings.url)
    full = apscn(*args, preexec=file_limit(FULL))
    message = one_line(full)
    assert "full" in message or "could not be written" in message, message
    assert "rolled back" in message
    assert snapshot(ledger.settings.url) == before
    assert list(ledger.settings.home.glob("*.tmp")) == []
    ledger_check(ledger)
    again = apscn(*args)  # space again: the same command succeeds
    assert again.returncode == 0, again.stderr
    ledger_check(ledger)


def test_a_full_disk_during_a_backup_leaves_no_file_and_the_ledger_untouched(ledger, open_elsewhere, tmp_path):
    target = tmp_path / "backups" / "apscn.db"
    target.parent.mkdir()
    before = snapshot(ledger.settings.url)
    full = apscn("db", "backup", str(target), preexec=file_limit(FULL))
    message = one_line(full)
    assert "backup failed" in message and "nothing was written" in message, message
    assert list(target.parent.iterdir()) == []
    assert snapshot(ledger.settings.url) == before
    assert apscn("db", "backup", str(target)).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# -- read-only --------------------------------------------------------------------------------------------------


@pytest.fixture
def read_only(ledger, home):
    if not can_drop_root_override():
        pytest.skip("cannot make a read-only file binding for root here")
    db = ledger.settings.db_path
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    os.chmod(db, 0o400)
    os.chmod(home, 0o500)
    yield ledger
    os.chmod(home, 0o700)
    os.chmod(db, 0o600)


@pytest.mark.parametrize(
    "args",
    [
        ["request", "6001000", "--on", "2026-07-01"],
        ["district", "import", "ROSTER"],
        ["tick"],
        ["status"],
        ["db", "check"],
    ],
    ids=["request", "import", "tick", "status", "check"],
)
def test_a_read_only_ledger_refuses_in_one_line_and_changes_nothing(read_only, tmp_path, args):
    roster = big_roster(tmp_path / "roster.csv", n=50)
    args = [str(roster) if a == "ROSTER" else a for a in args]
    before = snapshot(f"sqlite:///file:{read_only.settings.db_path}?mode=ro&uri=true")
    result = apscn(*args, preexec=without_root_override)
    if result.returncode != 0:  # a reader may work; a writer never
        message = one_line(result)
        assert "read-only" in message or "unable to open" in message or "readonly" in message, message
    else:
        assert args[0] in ("status", "db"), result.stdout
    after = snapshot(f"sqlite:///file:{read_only.settings.db_path}?mode=ro&uri=true")
    assert after == before


def test_a_read_only_outbox_folder_keeps_every_message_queued_and_leaves_no_partial_file(ledger, home):
    if not can_drop_root_override():
        pytest.skip("cannot make a read-only folder binding for root here")
    outbox = home / "outbox"
    outbox.mkdir(mode=0o700, exist_ok=True)
    os.chmod(outbox, 0o500)
    try:
        blocked = apscn("tick", "--json", preexec=without_root_override)
    finally:
        os.chmod(outbox, 0o700)
    assert blocked.returncode in (0, 1) and "Traceback" not in blocked.stderr, blocked.stderr
    rows = outbox_rows(ledger)
    assert rows and {status for _, _, status, _ in rows} == {"pending"}
    assert list(outbox.iterdir()) == []  # no half-written .eml, no temporary file
    ledger_check(ledger)
    sent = run_apscn_on(TODAY, "outbox", "send", at=LATER)
    assert sent.returncode == 0, sent.stderr
    assert {status for _, _, status, _ in outbox_rows(ledger)} == {"sent"}
    emls = sorted(outbox.glob("*.eml"))
    assert len(emls) == len(rows) and leftovers(outbox) == []
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in emls)
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
