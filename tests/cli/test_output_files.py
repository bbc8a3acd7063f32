"""``report -o`` and ``calendar -o`` write a regular file (new or replaced whole) and refuse anything else:
a symbolic link (never followed, never replaced), a FIFO, a socket, a device node."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apscn_tracker.errors import UserError
from apscn_tracker.services.output import atomic_write
from tests.support.cli import T, refused

COMMANDS = [("report", "-o"), ("calendar", "-o")]


def link_to_a_file(folder: Path) -> Path:
    (folder / "target.html").write_text("keep me\n")
    (folder / "out.html").symlink_to(folder / "target.html")
    return folder / "out.html"


def dangling_link(folder: Path) -> Path:
    (folder / "out.html").symlink_to(folder / "not-there.html")
    return folder / "out.html"


def fifo(folder: Path) -> Path:
    os.mkfifo(folder / "out.html")
    return folder / "out.html"


def device(folder: Path) -> Path:
    try:  # a node like /dev/null; only root may make one
        os.mknod(folder / "out.html", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return folder / "out.html"


MAKERS: dict[str, Callable[[Path], Path]] = {
    "a symbolic link to a file": link_to_a_file,
    "a dangling symbolic link": dangling_link,
    "a FIFO": fifo,
    "a device node": device,
}


def state(folder: Path) -> dict[str, tuple]:
    """Each entry of ``folder``: its type, inode and, for a regular file, its content."""
    out = {}
    for p in folder.iterdir():
        st = os.lstat(p)
        body = p.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
        out[p.name] = (stat.S_IFMT(st.st_mode), st.st_ino, body)
    return out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("what", list(MAKERS))
def test_an_output_that_is_not_a_regular_file_is_refused_and_left_as_it_was(ready, tmp_path, command, what):
    folder = tmp_path / "out"
    folder.mkdir()
    path = MAKERS[what](folder)
    before = state(folder)
    message = refused(ready, *command, str(path), contains=str(path))
    assert "refused" in message
    assert state(folder) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_output_that_is_a_socket_is_refused_and_left_as_it_was(ready, command):
    with tempfile.TemporaryDirectory(prefix="apscn") as tmp:  # a socket path must stay short
        path = Path(tmp) / "out.html"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
            before = state(Path(tmp))
            assert "socket" in refused(ready, *command, str(path))
            assert state(Path(tmp)) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_existing_regular_file_is_replaced_whole_by_a_rename(ready, tmp_path, command):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "out.html"
    path.write_text("old\n")
    os.link(path, folder / "old-copy")  # a rename leaves the old file's other name untouched
    result = ready(*command, str(path), today=T)
    assert result.exit_code == 0, result.output
    assert (folder / "old-copy").read_text() == "old\n"
    assert path.read_bytes() != b"old\n" and not path.is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["old-copy", "out.html"]


def swap_midway(path: Path, replace_with: Callable[[Path], None]) -> Iterator[str]:
    yield "first half\n"
    replace_with(path)
    yield "second half\n"


def by_a_link(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(path.with_name("elsewhere"))


def by_a_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.write_text("someone else's\n")


@pytest.mark.parametrize("existed", [True, False], ids=["a file", "nothing"])
@pytest.mark.parametrize("swap", [by_a_link, by_a_file], ids=["a link", "a new file"])
def test_a_path_swapped_while_it_is_written_is_not_replaced(tmp_path, existed, swap):
    path = tmp_path / "out.html"
    if existed:
        path.write_text("old\n")
    with pytest.raises(UserError, match="while it was being written"):
        atomic_write(path, swap_midway(path, swap), mode=None)
    if swap is by_a_link:
        assert path.is_symlink() and not path.with_name("elsewhere").exists()
    else:
        assert path.read_text() == "someone else's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.html"]
