"""``newsdigest migrate``: copy the store into another backend (data file <-> PostgreSQL)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..store import Store, StoreError, is_database_url, open_store
from .errors import UsageError
from .news import settings_of
from .wording import counted


def _target(text: str) -> str | Path:
    """A ``postgresql://`` URL, or a data file path; anything else with a scheme is refused."""
    if is_database_url(text):
        return text
    if "://" in text:
        raise UsageError(f"--to must be a postgresql:// URL or a data file path, not {text!r}")
    return Path(text)


def _sizes(store: Store) -> tuple[int, int, int]:
    return store.count_subscribers(), store.count_articles(), store.count_deliveries()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copy every record of the configured store (or ``--from``) into a new, empty store
    at ``--to``: a data file into PostgreSQL, or back. The bot must not be writing to the
    source meanwhile (the embedded store's lock refuses; stop the bot for PostgreSQL)."""
    settings = settings_of(args)
    source = _target(args.source) if args.source else settings.database_url or settings.data_file
    target = _target(args.to)
    if str(source) == str(target):
        raise UsageError("--to names the store being copied: give another data file or database")
    if isinstance(source, Path) and not source.is_file():
        raise UsageError(f"{source}: no such data file to copy")
    if isinstance(target, Path) and target.exists():
        raise UsageError(f"{target} exists: migrate into a new data file")
    with open_store(source) as old, open_store(target) as new:
        copied = new.restore(old.dump())
        before, after = _sizes(old), _sizes(new)
        if before != after:  # restore checks every record; this checks none went missing
            raise StoreError(
                f"the copy in {new.location} does not match {old.location}: "
                f"{after} instead of {before} subscribers, articles, ledger entries"
            )
        subscribers, articles, ledger = after
        print(
            f"Copied {counted(copied, 'record')} from {old.location} to {new.location}: "
            f"{counted(subscribers, 'subscriber')}, {counted(articles, 'article')}, "
            f"{counted(ledger, 'ledger entry', 'ledger entries')}, and the "
            "feeds' state and counters. Point storage.url / NEWSDIGEST_DATABASE_URL (or "
            "storage.data_file) at the new store before starting the bot."
        )
    return 0
