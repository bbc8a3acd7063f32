"""Files the coordinator names (``report -o``, ``calendar -o``) and the yearly report files: written atomically.

The data goes to a temporary file beside the target, then takes the target's name, so a reader never sees half
a file. Only a regular file is ever replaced: a symbolic link, a FIFO, a socket, a device or a folder at the
target is refused before anything is built or written (a rename would replace the link or the device node
itself, never write through it). The target is checked again just before the rename: a path that changed in
between (a file swapped for a link) is refused, and a path that was absent is taken with a link that fails if
anything appeared there meanwhile.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from apscn_tracker.errors import UserError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_output(path: Path) -> os.stat_result | None:
    """What is at ``path`` now: None when nothing is, the status of a regular file, else a refusal naming it.
    A symbolic link is refused whatever it points to: it is never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UserError(f"{path} is a symbolic link; refused: give the path of a regular file or a new one")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise UserError(f"{path} is {kind}; refused: give the path of a regular file or a new one")
    return st


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """What is at ``path`` (type, device, inode, change time), without following a link; None when nothing is."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (stat.S_IFMT(st.st_mode), st.st_dev, st.st_ino, st.st_ctime_ns)


def atomic_write(path: Path, data: bytes | Iterable[str], *, mode: int | None, encoding: str = "utf-8") -> None:
    """Write ``data`` (bytes, or text chunks encoded with ``encoding``) to a temporary file beside ``path`` and
    give it ``path``'s name; ``mode`` None gives the file the umask's default permissions. ``path`` must be a
    regular file or absent (``check_output``)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"folder {folder} does not exist")
    check_output(path)
    before = _identity(path)
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # Created with the final permissions: ``mode``, or what the umask leaves of 0666 (no umask juggling).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600 if mode is not None else 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                first = True
                for chunk in data:
                    fh.write(chunk.encode(encoding if first else "utf-8"))  # a BOM at the start only
                    first = False
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if _identity(path) != before:
            raise UserError(f"{path} changed while it was being written; nothing was replaced, run the command again")
        if before is None:
            _take_new_name(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _take_new_name(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path``, which was absent: a hard link fails if anything took the name since."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise UserError(
            f"{path} appeared while it was being written; nothing was replaced, run the command again"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        os.replace(tmp, path)  # a file system without hard links: the check just above is the guard
        return
    tmp.unlink()
