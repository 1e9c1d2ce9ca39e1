"""A throwaway PostgreSQL server for the tests and benchmarks.

``initdb`` into a new temporary folder, then ``postgres`` listening on a Unix socket in
that folder only (no TCP port, so parallel runs never collide), stopped and removed at the
end. The server's programs are found on PATH, in ``NEWSDIGEST_PG_BINDIR``, or in Debian's
``/usr/lib/postgresql/<version>/bin`` (``.ci/run`` installs Debian's ``postgresql``
package when none is there).

PostgreSQL refuses to run as root: as root, the cluster is run as the ``postgres`` user
that Debian's package creates.

The tests' cluster trades durability for speed (``fsync=off``): they check what the store
does, not the disk. ``Cluster(durable=True)`` keeps PostgreSQL's defaults, for benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

PORT = 5432  # the socket file's name only: no TCP port is opened


class ClusterUnavailable(Exception):
    """No PostgreSQL server could be started here; the message says why."""


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates: list[Path] = []
    if os.environ.get("NEWSDIGEST_PG_BINDIR"):
        candidates.append(Path(os.environ["NEWSDIGEST_PG_BINDIR"]))
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    candidates.extend(debian)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _run_as() -> str | None:
    """The user to run the server as: None for ourselves, "postgres" when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterUnavailable(
            "running as root, and PostgreSQL refuses root: no 'postgres' user to run it as "
            "(Debian's postgresql package creates one)"
        ) from None
    return "postgres"


class Cluster:
    """A PostgreSQL server of our own in a temporary folder. Use as a context manager."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.root: Path | None = None
        self._bindir: Path | None = None
        self._user: str | None = None
        self._databases = 0

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "the cluster is not started"
        return self.root / "socket"

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _command(self, *args: str, timeout: float = 120) -> None:
        """Run one of the server's programs (as the server's user)."""
        assert self._bindir is not None
        done = subprocess.run(
            [str(self._bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            user=self._user,
            cwd=self.root,
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip().splitlines()
            raise ClusterUnavailable(f"{args[0]} failed: {' / '.join(output[-3:])}")

    def start(self) -> None:
        """initdb and start the server; ClusterUnavailable says why it could not."""
        self._bindir = find_bindir()
        if self._bindir is None:
            raise ClusterUnavailable(
                "no PostgreSQL server programs (initdb, pg_ctl, postgres) on PATH, in "
                "NEWSDIGEST_PG_BINDIR or in /usr/lib/postgresql/*/bin: install Debian's "
                "postgresql package (.ci/run does)"
            )
        self._user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="newsdigest-pg-"))
        self.socket_dir.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for folder in (self.root, self.socket_dir):
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        try:
            self._initdb_and_start()
        except BaseException:
            self.stop()
            raise

    def _initdb_and_start(self) -> None:
        assert self.root is not None
        data = self.root / "data"
        self._command(
            "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = [
            f"-k {self.socket_dir}",
            "-c listen_addresses=''",
            f"-p {PORT}",
            "-c max_connections=50",
        ]
        if not self.durable:
            options += ["-F", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._command(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(data),
            "-l", str(self.root / "server.log"), "-o", " ".join(options),
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut) and remove its folder."""
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(ClusterUnavailable, subprocess.TimeoutExpired):
                self._command("pg_ctl", "stop", "-m", "immediate", "-w", "-D", "data")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of a database of this server (over its socket)."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/{database}?host={host}&port={PORT}"

    def connect(self, database: str = "postgres", **options: Any) -> psycopg.Connection[Any]:
        """An autocommit connection to a database of this server."""
        return psycopg.connect(self.url(database), autocommit=True, **options)

    def new_database(self, prefix: str = "t") -> str:
        """The URL of a new, empty database."""
        self._databases += 1
        name = f"{prefix}{self._databases}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`new_database` (its connections are cut)."""
        name = url.split("/", 3)[3].split("?", 1)[0]
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """A started :class:`Cluster`, stopped at the end."""
    with Cluster(durable=durable) as cluster:
        yield cluster
