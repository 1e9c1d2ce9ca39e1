"""Opening the store a configuration names: the embedded data file, or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .base import DEFAULT_MAX_DELIVERIES_PER_CHAT, Store

if TYPE_CHECKING:
    from ..config import Settings

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a data file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def open_store(
    target: Settings | Path | str,
    *,
    max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT,
) -> Store:
    """Open the store the settings name (``storage.url`` if set, else ``storage.data_file``),
    or the one at a data file path or a ``postgresql://`` URL.

    The embedded store is created if its file does not exist; a PostgreSQL database gets
    its tables (and pending migrations) at the first open. Raises the errors of
    ``EmbeddedStore.open`` or ``PostgresStore.open``.
    """
    if not isinstance(target, str | Path):
        target = target.database_url or target.data_file
    if is_database_url(target):
        # Imported here: psycopg is loaded only by the processes that use PostgreSQL.
        from .postgres import PostgresStore

        return PostgresStore.open(str(target), max_deliveries_per_chat=max_deliveries_per_chat)
    from .api import EmbeddedStore

    return EmbeddedStore.open(Path(target), max_deliveries_per_chat=max_deliveries_per_chat)
