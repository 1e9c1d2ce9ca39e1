"""The store's files: their names, modes, fsyncs, the lock and the mark it holds.

Every file is created with mode 0600 and every missing folder with 0700, whatever the
umask. The package docstring (``bot.store``) describes what each file holds and in what
order they are written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import StoreLockedError, StoreWriteError
from .records import is_int

FILE_MODE = 0o600
DIR_MODE = 0o700
MARK_SIZE = 127  # bytes of the mark in the lock file, padded: rewritten in place


def why(exc: OSError) -> str:
    """A human reason for a failed write."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EFBIG: "the file is too large (file size limit)",
        errno.EIO: "an input/output error (failing disk?)",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path, flags: int = 0) -> int:
    """Open ``path`` for writing, created with mode 0600 whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def unlink_quietly(path: Path) -> bool:
    """Delete a file if it exists; True if it did."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0700, whatever the umask."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for new in reversed(missing):
        try:
            os.mkdir(new, DIR_MODE)
        except FileExistsError:
            if not new.is_dir():
                raise
            continue  # created meanwhile by someone else: not ours to chmod
        os.chmod(new, DIR_MODE)  # the umask may have taken bits away


def journal_of(path: Path, generation: int) -> Path:
    return path.with_name(f"{path.name}.journal.{generation}")


def tmp_of(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp")


def lock_of(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


def journals_of(path: Path) -> list[tuple[int, Path]]:
    """The journal files next to a data file, by generation."""
    prefix = f"{path.name}.journal."
    found = []
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return []
    for entry in entries:
        suffix = entry.name[len(prefix) :]
        if entry.name.startswith(prefix) and suffix.isdigit():
            found.append((int(suffix), Path(entry.path)))
    return sorted(found)


@dataclass(frozen=True)
class Mark:
    """How far the journal of a generation reached: the last change number written to it."""

    generation: int
    seq: int

    def check(self) -> int:
        return zlib.crc32(f"{self.generation}:{self.seq}".encode())


def mark_bytes(pid: int, mark: Mark | None) -> bytes:
    """The lock file's content: fixed size, so rewriting it in place leaves no old bytes."""
    fields: dict[str, int] = {"pid": pid}
    if mark is not None:
        fields.update(generation=mark.generation, seq=mark.seq, check=mark.check())
    return json.dumps(fields, separators=(",", ":")).encode().ljust(MARK_SIZE) + b"\n"


def parse_mark(raw: bytes) -> tuple[int | None, Mark | None]:
    """The pid and the mark in a lock file's content (older versions wrote only the pid).

    A mark that fails its check (half rewritten when the power failed, or read while being
    rewritten) counts as no mark: it can only ever make the store less strict.
    """
    text = raw.decode("ascii", "replace").strip()
    if text.isdigit():
        return int(text), None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    pid = data["pid"] if is_int(data.get("pid")) else None
    generation, seq = data.get("generation"), data.get("seq")
    if is_int(generation) and is_int(seq) and generation >= 1 and seq >= 0:
        mark = Mark(generation, seq)
        if data.get("check") == mark.check():
            return pid, mark
    return pid, None


def read_mark(path: Path) -> Mark | None:
    """The mark of a store's lock file, read without taking the lock."""
    try:
        with lock_of(path).open("rb") as lock:
            return parse_mark(lock.read(4096))[1]
    except OSError:
        return None


def folder_message(path: Path) -> str:
    return (
        f"{path} is a folder, not a data file: give the path of a file, such as "
        f"{path / 'newsdigest.json'}"
    )


def restore_hint(path: Path) -> str:
    return (
        f"if you restored these files from a backup on purpose, delete {lock_of(path).name} "
        "with newsdigest stopped, then start again"
    )


def take_lock(path: Path) -> tuple[int, Mark | None]:
    """Lock the store at ``path``: the lock file's descriptor, and the mark the last holder
    left in it."""
    lock_path = lock_of(path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise StoreWriteError(f"cannot create the lock file {lock_path}: {why(exc)}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder, _ = parse_mark(os.pread(fd, 4096, 0))
        os.close(fd)
        by = f" by process {holder}" if holder is not None else ""
        raise StoreLockedError(
            f"{path} is already open ({lock_path} is locked{by}); stop the other newsdigest first"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise StoreWriteError(f"cannot lock {lock_path}: {why(exc)}") from exc
    try:
        _, previous = parse_mark(os.pread(fd, 4096, 0))
    except OSError:
        previous = None
    # Our pid (for the message above), keeping the previous mark until the files are
    # checked: an open that refuses them must leave the evidence in place.
    with contextlib.suppress(OSError):
        os.fchmod(fd, FILE_MODE)
        os.pwrite(fd, mark_bytes(os.getpid(), previous), 0)
        os.ftruncate(fd, MARK_SIZE + 1)
    return fd, previous


def write_new_files(folder: Path, files: list[tuple[Path, bytes]]) -> None:
    """Create each file in ``folder`` (it must not exist) with its bytes, fsync'ed; all or
    none: on OSError (FileExistsError if one existed) the files created are removed."""
    done: list[Path] = []
    try:
        for path, content in files:
            fd = create(path, os.O_EXCL)
            done.append(path)
            try:
                write_all(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(folder)
    except OSError:
        for path in done:
            with contextlib.suppress(OSError):
                unlink_quietly(path)
        raise
