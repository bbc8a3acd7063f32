"""A real disk that fills up: a small tmpfs, filled with a file until ENOSPC, under real `apscn` processes.

The disk fills during delivery: the tick's counts say what was sent before it, no row is left in `sending`
(the untried ones are given back with no try charged), one line says the disk is full, exit 1; once there is
space again, every message goes out once. On a disk 100% full, the read-only commands still work and a change
is refused in one line. (The file-size-limit faults are in test_faults_disk.py; this needs root to mount.)
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from apscn_tracker.mail.delivery import MIN_FREE
from apscn_tracker.mail.transports import FileTransport, SetupError
from tests.support.faults import connected_ledger, ledger_check, run_apscn_on, write_config
from tests.support.mail import TODAY, build_scenario, mail_settings, queue, rows
from tests.support.snapshot import snapshot

pytestmark = pytest.mark.sqlite_only  # on PostgreSQL the server owns the disk
MESSAGES = 30


def mount_tmpfs(folder: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")


def unmount(folder: Path) -> None:
    if folder.is_mount():
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, *, leave: int = 0) -> Path:
    """A file that takes the disk's free space, all of it (until ENOSPC), or all but ``leave`` bytes."""
    filler = folder / "filler"
    st = os.statvfs(folder)
    budget = st.f_bavail * st.f_frsize - leave
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: a partial write leaves nothing for close to flush
        try:
            while leave == 0 or fh.tell() + len(chunk) <= budget:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    if leave == 0:  # the last bytes, one at a time
        with open(filler, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 512)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.fixture
def small_home(tmp_path, monkeypatch) -> Iterator[Path]:
    """APSCN_HOME on a tmpfs of 8 MiB of its own."""
    home = tmp_path / "small"
    mount_tmpfs(home, "8m")
    monkeypatch.setenv("APSCN_HOME", str(home))
    yield home
    for inner in (home / "outbox",):
        unmount(inner)
    unmount(home)


def waiting_messages(make_app, home: Path):
    """Messages queued and due, the child processes' settings in config.toml; the app closed (no log file)."""
    write_config(home)
    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    for n in range(MESSAGES):
        queue(app, "request_form", key=f"form-{n}")
    app.close()
    return app


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return errors[0]


def statuses(app) -> dict[str, int]:
    got: dict[str, int] = {}
    for r in rows(app):
        got[r.status] = got.get(r.status, 0) + 1
    return got


def check_what_the_tick_said_is_true(app, result: subprocess.CompletedProcess, outbox: Path) -> int:
    """The counts are the rows marked sent and the files written; nothing is left in `sending`; every message
    not sent waits with no try charged. Returns how many were sent."""
    said = json.loads(result.stdout)
    stored = rows(app)
    sent = [r for r in stored if r.status == "sent"]
    assert said["sent"] == len(sent) == len(list(outbox.glob("*.eml"))), (said, statuses(app))
    assert {(r.status, r.attempts, r.last_error) for r in stored if r.status != "sent"} == {("pending", 0, None)}
    assert "full" in said["delivery_error"]
    return len(sent)


def send_the_rest_once(app, outbox: Path) -> None:
    again = run_apscn_on(TODAY, "outbox", "send")
    assert again.returncode == 0, again.stderr
    assert set(statuses(app)) == {"sent"}
    assert len(list(outbox.glob("*.eml"))) == len(rows(app))  # one file per message: nothing sent twice
    ledger_check(app)


def test_an_outbox_disk_that_fills_during_the_tick_counts_what_was_sent_and_gives_back_the_rest(make_app, home):
    app = waiting_messages(make_app, home)
    outbox = home / "outbox"
    mount_tmpfs(outbox, f"{(MIN_FREE + 100_000) // 1024}k")  # room for a few messages, then under the margin
    try:
        ticked = run_apscn_on(TODAY, "tick", "--json")
        assert "the disk holding the outbox folder" in error_line(ticked)
        sent = check_what_the_tick_said_is_true(app, ticked, outbox)
        assert 0 < sent < MESSAGES
        kept = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    finally:
        unmount(outbox)
    outbox.chmod(0o700)
    for name, data in kept.items():  # the disk grew: the files already written are still there
        (outbox / name).write_bytes(data)
        (outbox / name).chmod(0o600)
    send_the_rest_once(app, outbox)


def test_a_ledger_disk_that_fills_during_the_tick_counts_what_was_sent_and_gives_back_the_rest(make_app, small_home):
    app = waiting_messages(make_app, small_home)
    filler = fill(small_home, leave=MIN_FREE + 400_000)  # room for a few messages, then under the margin
    ticked = run_apscn_on(TODAY, "tick", "--json")
    assert "the disk holding the ledger" in error_line(ticked)
    sent = check_what_the_tick_said_is_true(app, ticked, small_home / "outbox")
    assert 0 < sent < MESSAGES
    filler.unlink()
    send_the_rest_once(app, small_home / "outbox")


@pytest.fixture
def full_ledger(make_app, small_home) -> Iterator[Path]:
    """An initialised ledger with connections and contacts, closed, on a disk then filled to the last byte."""
    connected_ledger(make_app, small_home, TODAY)
    filler = fill(small_home)
    assert os.statvfs(small_home).f_bavail == 0
    yield filler


def frozen(home: Path) -> dict:
    return snapshot(f"sqlite:///file:{home / 'apscn.db'}?mode=ro&immutable=1&uri=true")


@pytest.mark.parametrize(
    "args",
    [["status"], ["outbox", "list"], ["district", "list"], ["history", "6001000"], ["db", "check"]],
    ids=["status", "outbox-list", "district-list", "history", "db-check"],
)
def test_read_only_commands_work_on_a_full_disk(full_ledger, small_home, args):
    before = frozen(small_home)
    result = run_apscn_on(TODAY, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stdout
    assert frozen(small_home) == before


def test_doctor_says_the_ledger_disk_is_full_and_still_checks_the_rest(full_ledger, small_home):
    result = run_apscn_on(TODAY, "doctor", "--json")
    assert "Traceback" not in result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["ledger"]["status"] != "ok" and "disk is full" in checks["ledger"]["message"]
    assert {"tick", "outbox", "contacts"} <= set(checks)


@pytest.mark.parametrize("args", [["tick"], ["request", "6001000", "--on", "2026-10-01"]], ids=["tick", "request"])
def test_a_change_on_a_full_disk_is_refused_in_one_line_and_done_once_there_is_room(full_ledger, small_home, args):
    before = frozen(small_home)
    refused = run_apscn_on(TODAY, *args)
    assert "the disk holding the ledger is full" in error_line(refused)
    assert frozen(small_home) == before
    full_ledger.unlink()
    again = run_apscn_on(TODAY, *args)
    assert again.returncode == 0, again.stderr


def test_the_file_transport_says_a_full_outbox_disk_is_a_setup_problem(tmp_path):
    outbox = tmp_path / "outbox"
    mount_tmpfs(outbox, "64k")
    try:
        fill(outbox)
        message = EmailMessage()
        message["Message-ID"] = "<x.1234@coop.example>"
        message.set_content("hello")
        with pytest.raises(SetupError, match="the disk holding the outbox folder .* is full"):
            FileTransport(outbox).send(message)
        assert [p.name for p in outbox.iterdir()] == ["filler"]  # no partial file
    finally:
        unmount(outbox)
