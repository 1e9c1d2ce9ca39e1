"""Reading a store's files: the snapshot, its journal, and what they hold together.

Nothing here modifies a file. :func:`load` reads a snapshot and the journal of its
generation, checks every record, replays the journal's changes, migrates an older
schema, and says which files are leftovers of an interrupted compaction; a problem is
a :class:`~bot.store.errors.StoreCorruptError` naming the file, the line or record and
what is wrong. The formats are described in the package docstring (``bot.store``);
:func:`snapshot_bytes` and :func:`header_line` write them.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import StoreCorruptError, StorePathError
from .files import Mark, folder_message, journal_of, journals_of, lock_of, restore_hint, tmp_of, why
from .migrations import MIGRATIONS, SCHEMA
from .records import (
    TABLES,
    Indexes,
    Invalid,
    Tables,
    apply_op,
    build_indexes,
    check_doc,
    check_op,
    check_table_names,
    check_tables,
    encode,
    ignore_change,
    is_int,
    shared_strings_hook,
    shown,
    to_value,
    to_values,
)

FORMAT = "newsdigest-store"
HEADER = "journal"  # the kind of a journal's first line


STORE_TABLE = "_store"  # from schema 5: the snapshot's header, document 1 of this table
_HEADER_OPEN = b'{"_store":{"1":'


def snapshot_chunks(generation: int, seq: int, tables: Tables) -> Iterator[bytes]:
    """A snapshot of the current schema holding ``tables`` (every change up to ``seq``),
    in pieces to write one after the other.

    TinyDB's layout, one JSON object of tables, each an object of documents by key: the
    header (format, schema, generation, seq) is document ``"1"`` of the table ``_store``,
    on the first line, so a reader finds the generation in the first bytes (see
    ``bot.store.backup``); then each table's name on a line, each of its records on a
    line (``"key":{...}``, a comma first from the second on), and its closing brace.
    :func:`load` reads such a file a record at a time, so the whole file and all its
    parsed documents are never in memory at once.
    """
    header = {"format": FORMAT, "schema": SCHEMA, "generation": generation, "seq": seq}
    yield _HEADER_OPEN + encode(header) + b"}\n"
    for name in TABLES:
        yield b"," + encode(name) + b":{\n"
        first = b""
        for key, value in tables[name].items():
            yield first + encode(key) + b":" + encode(value) + b"\n"
            first = b","
        yield b"}\n"
    yield b"}\n"


def complete_lines(content: bytes) -> list[bytes]:
    """The lines that end with their newline (after the last one: a torn write)."""
    return content[: content.rfind(b"\n") + 1].split(b"\n")[:-1]


def _is_header(line: bytes) -> bool:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, list) and len(value) == 3 and value[0] == HEADER


def has_changes(journal: Path) -> bool:
    """Whether a journal holds any acknowledged change (its header is not one)."""
    lines = complete_lines(journal.read_bytes())
    return len(lines) > (1 if lines and _is_header(lines[0]) else 0)


def header_line(generation: int, seq: int) -> bytes:
    return encode([HEADER, generation, seq]) + b"\n"


@dataclass
class Loaded:
    """What a complete, successful read of the files found."""

    tables: Tables
    indexes: Indexes
    schema: int  # of the snapshot on disk, before migration
    generation: int
    seq: int  # the number of the last change read (0 before schema 3)
    snapshot_size: int  # bytes
    original: bytes | None  # the snapshot's bytes, when it was read whole (to migrate it)
    journal_original: bytes  # the journal's bytes
    journal_good: int  # bytes of complete journal lines
    strays: list[Path]  # leftovers of interrupted compactions: safe to delete

    @property
    def journal_size(self) -> int:
        """Bytes in the journal, a torn final line included."""
        return len(self.journal_original)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: loading a store creates millions of objects and no
    cycles, and each collection while it runs walks all of them again (at 100k
    subscribers about a third of the time of an open)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load(path: Path, mark: Mark | None, copy: tuple[bytes, bytes] | None = None) -> Loaded:
    """Read and check a snapshot and its journal; modify nothing (see _read)."""
    with _collector_paused():
        return _read(path, mark, copy)


def _read(path: Path, mark: Mark | None, copy: tuple[bytes, bytes] | None) -> Loaded:
    """Read and check a snapshot and its journal; modify nothing.

    ``mark`` is the lock file's record of the last change written (None if unknown).
    ``copy`` is the snapshot's and the journal's bytes, already read (by a backup, while
    another process may be compacting: then the other files are not looked at).

    The steps run in this order, so a store with several problems is refused for the
    first one: the snapshot, the files beside it, the snapshot's records, the journal,
    the migration.
    """
    with _open_snapshot(path, copy) as snapshot:
        schema, generation, seq, tables = _snapshot_header(path, snapshot.data)
        journal = journal_of(path, generation)
        strays = [] if copy is not None else _leftovers(path, generation)
        _check_not_older(path, schema, generation, mark)
        if schema == SCHEMA and snapshot.lines is not None:
            try:
                tables = _stream_tables(path, snapshot.lines)
            except _NotLaidOut:
                tables = _snapshot_header(path, snapshot.read_whole())[3]
                tables = to_values(_migrate(path, schema, tables), shared=True)
        else:
            # An older schema's tables are migrated before its journal is replayed: the
            # migrations so far only add tables (or, from schema 1, which had no journal,
            # rebuild them), so the older journal's changes mean the same after them.
            tables = to_values(_migrate(path, schema, tables))
        size, raw = snapshot.size, snapshot.raw
    content = copy[1] if copy is not None else _journal_bytes(path, journal, schema)
    lines = complete_lines(content)
    if schema >= 3:
        seq = _replay(journal, lines, tables, generation=generation, seq=seq)
        _check_not_cut(path, journal, generation, seq, mark)
    else:
        # Schema 2: the records alone, one per line, no header or numbers.
        for number, line in enumerate(lines, start=1):
            _replay_line(journal, number, len(lines), functools.partial(json.loads, line), tables)
    indexes = build_indexes(tables)
    good = sum(len(line) + 1 for line in lines)
    return Loaded(tables, indexes, schema, generation, seq, size, raw, content, good, strays)


class _NotLaidOut(Exception):
    """The snapshot is not laid out one record per line (an older one, or edited by hand):
    it is read whole instead."""


class _Snapshot:
    """An open snapshot: its header (or, read whole, all of it) and the lines after it."""

    def __init__(self, path: Path, copy: bytes | None) -> None:
        self._path = path
        self._copy_size = None if copy is None else len(copy)
        try:
            self._file: BinaryIO = io.BytesIO(copy) if copy is not None else path.open("rb")
        except IsADirectoryError:
            raise StorePathError(folder_message(path)) from None
        except OSError as exc:
            raise StoreCorruptError(path, f"it cannot be read ({why(exc)})") from exc
        self.raw: bytes | None = None
        self.lines: Iterator[bytes] | None = None
        first = self._readline()
        if first.startswith(_HEADER_OPEN) and first.endswith(b"}\n"):
            self.data = self._parse(first[:-1] + b"}")
            self.lines = iter(self._readline, b"")
        else:
            self.data = self.read_whole()

    @property
    def size(self) -> int:
        """The snapshot's size in bytes."""
        if self.raw is not None:
            return len(self.raw)
        if self._copy_size is not None:
            return self._copy_size
        return os.fstat(self._file.fileno()).st_size

    def _readline(self) -> bytes:
        try:
            return self._file.readline()
        except OSError as exc:
            raise StoreCorruptError(self._path, f"it cannot be read ({why(exc)})") from exc

    def read_whole(self) -> dict[str, Any]:
        """The whole file, parsed (the lines read so far are read again)."""
        self.lines = None
        try:
            self._file.seek(0)
            self.raw = self._file.read()
        except OSError as exc:
            raise StoreCorruptError(self._path, f"it cannot be read ({why(exc)})") from exc
        if not self.raw:
            raise StoreCorruptError(
                self._path,
                "it is empty (0 bytes); newsdigest never writes an empty data file, so it was "
                "cut short (a crash of an older writer?) or created by hand",
            )
        return self._parse(self.raw)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw, object_hook=shared_strings_hook)
        except (ValueError, RecursionError) as exc:
            raise StoreCorruptError(self._path, f"it is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise StoreCorruptError(self._path, "it does not hold a JSON object")
        return data

    def close(self) -> None:
        self._file.close()


@contextlib.contextmanager
def _open_snapshot(path: Path, copy: tuple[bytes, bytes] | None) -> Iterator[_Snapshot]:
    snapshot = _Snapshot(path, None if copy is None else copy[0])
    try:
        yield snapshot
    finally:
        snapshot.close()


def _stream_tables(path: Path, lines: Iterator[bytes]) -> Tables:
    """The tables of a snapshot laid out by :func:`snapshot_chunks`, read a record at a
    time: each is checked and turned into its value as it is read. Raises
    :class:`_NotLaidOut` at the first line that does not fit that layout."""
    tables: Tables = {}
    table: dict[str, Any] | None = None
    name = ""
    for line in lines:
        if table is None:
            if line == b"}\n":
                if next(lines, b"") != b"":
                    raise _NotLaidOut
                break
            name, table = _table_opening(line), {}
            if name in tables:
                raise _NotLaidOut
            tables[name] = table
        elif line == b"}\n":
            table = None
        else:
            key, doc = _record_line(line, first=not table)
            try:
                check_doc(name, key, doc)
            except Invalid as exc:
                raise StoreCorruptError(path, str(exc)) from None
            table[key] = to_value(name, doc, shared=True)
    else:
        raise _NotLaidOut  # cut short: the whole file says where
    try:
        check_table_names(tables)
    except Invalid as exc:
        raise StoreCorruptError(path, str(exc)) from None
    return tables


def _table_opening(line: bytes) -> str:
    body = line[1:] if line.startswith(b",") else b""  # the header's table came first
    if not body.endswith(b":{\n"):
        raise _NotLaidOut
    try:
        name = json.loads(body[:-3])
    except (ValueError, RecursionError):
        raise _NotLaidOut from None
    if name not in TABLES:  # the whole file's check names what is wrong
        raise _NotLaidOut
    return str(name)


def _record_line(line: bytes, *, first: bool) -> tuple[str, Any]:
    body = line if first else line[1:] if line.startswith(b",") else b""
    try:
        ((key, doc),) = json.loads(b"{" + body + b"}", object_hook=shared_strings_hook).items()
    except (ValueError, RecursionError):
        raise _NotLaidOut from None
    return key, doc


def _snapshot_header(path: Path, data: dict[str, Any]) -> tuple[int, int, int, Any]:
    """Schema, generation, change number and tables of a parsed data file."""
    if STORE_TABLE in data:  # schema 5 on: TinyDB's layout, the header in its own table
        header = data[STORE_TABLE].get("1") if isinstance(data[STORE_TABLE], dict) else None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise StoreCorruptError(path, f"its {STORE_TABLE!r} table holds no newsdigest header")
        if not (is_int(header.get("schema")) and header["schema"] >= 5):
            raise StoreCorruptError(path, "its schema is missing or invalid")
        data = {**header, "tables": {k: v for k, v in data.items() if k != STORE_TABLE}}
    elif "format" not in data:  # schema 1: a plain TinyDB file, tables at the top
        if not all(isinstance(t, dict) for t in data.values()):
            raise StoreCorruptError(path, "it is neither a newsdigest store nor a TinyDB file")
        return 1, 0, 0, data
    elif is_int(data.get("schema")) and 5 <= data["schema"] <= SCHEMA:
        raise StoreCorruptError(path, f"it says schema {data['schema']} but is laid out as 4")
    if data["format"] != FORMAT:
        raise StoreCorruptError(path, f"it is not a newsdigest store ({shown(data['format'])})")
    schema, generation = data.get("schema"), data.get("generation")
    if not (is_int(schema) and is_int(generation) and schema >= 2 and generation >= 1):
        raise StoreCorruptError(path, "its schema or generation is missing or invalid")
    if schema > SCHEMA:
        raise StoreCorruptError(
            path,
            f"it was written by a newer newsdigest (schema {schema}; this version reads up "
            f"to {SCHEMA}): upgrade newsdigest",
        )
    seq = data.get("seq") if schema >= 3 else 0
    if not (is_int(seq) and seq >= 0):
        raise StoreCorruptError(path, f"its change number {shown(seq)} is invalid")
    found = data.get("tables")
    if not isinstance(found, dict) or not all(isinstance(t, dict) for t in found.values()):
        raise StoreCorruptError(path, "its tables are not objects")
    return schema, generation, seq, found


def _leftovers(path: Path, generation: int) -> list[Path]:
    """The files of an interrupted compaction beside snapshot ``generation``: older
    journals, newer ones without changes, the temporary snapshot. A newer journal with
    changes means the snapshot was replaced by an older copy: refused."""
    strays: list[Path] = []
    for g, other in journals_of(path):
        if g < generation:
            strays.append(other)
        elif g > generation:
            try:
                changed = has_changes(other)
            except OSError as exc:
                raise StoreCorruptError(other, f"it cannot be read ({why(exc)})") from exc
            if changed:
                raise StoreCorruptError(
                    other,
                    f"it is newer than the data file {path} (generation {generation}); was "
                    "the data file replaced by an older copy?",
                )
            strays.append(other)
    if tmp_of(path).exists():
        strays.append(tmp_of(path))
    return strays


def _check_not_older(path: Path, schema: int, generation: int, mark: Mark | None) -> None:
    """Refuse a snapshot older than the generation the mark records changes for."""
    if schema >= 3 and mark is not None and mark.generation > generation:
        raise StoreCorruptError(
            path,
            f"it is older than the store's last write (it is generation {generation}, but "
            f"{lock_of(path).name} records changes written to generation {mark.generation}): "
            f"was it replaced by an older copy? ({restore_hint(path)})",
        )


def _journal_bytes(path: Path, journal: Path, schema: int) -> bytes:
    """The content of the snapshot's journal (schema 1 had none)."""
    if schema < 2:
        return b""
    try:
        return journal.read_bytes()
    except FileNotFoundError:
        raise StoreCorruptError(path, f"its journal {journal.name} is missing") from None
    except OSError as exc:
        raise StoreCorruptError(journal, f"it cannot be read ({why(exc)})") from exc


def _check_not_cut(path: Path, journal: Path, generation: int, seq: int, mark: Mark | None) -> None:
    """Refuse a journal that ends before the last change the mark records."""
    if mark is not None and mark.generation == generation and mark.seq > seq:
        raise StoreCorruptError(
            journal,
            f"it was cut short: it ends at change {seq}, but changes up to {mark.seq} were "
            f"written ({lock_of(path).name} records them; {restore_hint(path)})",
        )


def _replay(journal: Path, lines: list[bytes], tables: Tables, *, generation: int, seq: int) -> int:
    """Apply a schema 3 journal's numbered changes; return the number of the last one."""
    if not lines:
        raise StoreCorruptError(
            journal,
            "it has no header line, which every journal starts with: it was cut short "
            "(truncated to 0 bytes?)",
        )
    try:
        header = json.loads(lines[0])
    except (ValueError, RecursionError):
        header = None
    if header != [HEADER, generation, seq]:
        found = shown(lines[0].decode("utf-8", "replace"))
        expected = header_line(generation, seq).decode().strip()
        raise StoreCorruptError(
            journal, f"line 1 is not the header of this journal ({found} instead of {expected})"
        )
    for number, line in enumerate(lines[1:], start=2):

        def numbered(line: bytes = line, expected: int = seq + 1) -> Any:
            entry = json.loads(line)
            if not (isinstance(entry, list) and len(entry) == 2 and is_int(entry[0])):
                raise Invalid("not a numbered journal record ([number, record])")
            if entry[0] != expected:
                raise Invalid(
                    f"it holds change {entry[0]} where change {expected} comes next: lines are "
                    "missing or out of order"
                )
            return entry[1]

        _replay_line(journal, number, len(lines), numbered, tables)
        seq += 1
    return seq


def _replay_line(
    journal: Path,
    number: int,
    total: int,
    record: Callable[[], Any],
    tables: Tables,
) -> None:
    """Check one journal record (``record()`` decodes it) and apply it to ``tables``."""
    try:
        op = record()
        check_op(op)
        apply_op(tables, op, ignore_change)
    except Invalid as exc:
        raise StoreCorruptError(journal, f"line {number} of {total}: {exc}") from None
    except (ValueError, RecursionError, KeyError, TypeError) as exc:
        raise StoreCorruptError(journal, f"line {number} of {total} is damaged ({exc})") from None


def _migrate(path: Path, schema: int, tables: dict[str, Any]) -> Tables:
    """An older schema's tables migrated to the current schema, and checked (the current
    schema's only checked)."""
    try:
        for version in range(schema, SCHEMA):
            tables = MIGRATIONS[version - 1](tables)
        check_tables(tables)
    except Invalid as exc:
        if schema == SCHEMA:
            raise StoreCorruptError(path, str(exc)) from None
        raise StoreCorruptError(
            path, f"it cannot be migrated from schema {schema}: {exc}"
        ) from None
    return tables
