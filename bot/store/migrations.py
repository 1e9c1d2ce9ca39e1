"""One function per schema step, run at open on the tables of an older store.

``MIGRATIONS[n - 1]`` turns schema n's tables into schema n + 1's; ``SCHEMA`` is the
schema this version writes. A migration raises :class:`~bot.store.records.Invalid` when
the old tables cannot be understood; the store then refuses to open and changes nothing.
The original files are kept as ``.bak`` files before the migrated store replaces them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..models import from_iso
from .records import (
    ARTICLES,
    CHANNELS,
    COUNTERS,
    DELIVERIES,
    FEEDS,
    SELECTIONS,
    SUBSCRIBERS,
    Invalid,
    sent_text,
)


def _migrate_1_to_2(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 (a plain TinyDB file) to 2: natural keys, one delivery ledger per chat.

    Schema 1 kept the records' ``to_dict()`` under TinyDB's integer document ids in the
    tables ``subscribers``, ``articles``, ``deliveries`` (one document per chat and
    article) and ``feeds``. Later documents win over earlier ones with the same key.
    """
    known = {SUBSCRIBERS, ARTICLES, DELIVERIES, FEEDS, "_default"}
    for name, table in old.items():
        if name not in known:
            raise Invalid(f"unexpected table {name!r}")
        if not isinstance(table, dict) or not all(isinstance(d, dict) for d in table.values()):
            raise Invalid(f"table {name!r} is not a TinyDB table of documents")
    if old.get("_default"):
        raise Invalid("unexpected documents in TinyDB's '_default' table")

    def docs(name: str) -> Iterator[dict[str, Any]]:
        yield from old.get(name, {}).values()

    def key_of(doc: dict[str, Any], name: str, table: str) -> Any:
        if name not in doc:
            raise Invalid(f"a document in {table!r} has no {name!r}")
        return doc[name]

    ledgers: dict[str, dict[str, str]] = {}
    dated = []
    for doc in docs(DELIVERIES):
        chat, article = key_of(doc, "chat_id", DELIVERIES), key_of(doc, "article_id", DELIVERIES)
        try:
            sent = from_iso(doc.get("sent"))
        except (TypeError, ValueError) as exc:
            raise Invalid(f"a delivery has a bad 'sent' time: {exc}") from None
        if sent is None or not isinstance(chat, int) or not isinstance(article, str):
            raise Invalid("a delivery lacks chat_id, article_id or sent")
        dated.append((sent, str(chat), article))
    for sent, chat_text, article in sorted(dated):
        ledgers.setdefault(chat_text, {})[article] = sent_text(sent)
    return {
        SUBSCRIBERS: {str(key_of(d, "chat_id", SUBSCRIBERS)): d for d in docs(SUBSCRIBERS)},
        ARTICLES: {str(key_of(d, "id", ARTICLES)): d for d in docs(ARTICLES)},
        DELIVERIES: ledgers,
        FEEDS: {str(key_of(d, "url", FEEDS)): d for d in docs(FEEDS)},
        COUNTERS: {},
    }


def _migrate_2_to_3(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 to 3: the tables are unchanged.

    Schema 3 changed the files around them: the snapshot's change number, the journal's
    header and numbered lines, the mark in the lock file. The journal of a schema 2 store
    is read in its own format (plain records, no header) before this runs, and the store
    is then rewritten as a schema 3 snapshot with a new journal.
    """
    return old


def _migrate_3_to_4(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 to 4: two new tables, empty: ``channels`` (channels managed from private
    chats) and ``selections`` (the chat each user's commands act on)."""
    if CHANNELS in old or SELECTIONS in old:
        raise Invalid(f"a schema 3 store has no {CHANNELS!r} or {SELECTIONS!r} table")
    return {**old, CHANNELS: {}, SELECTIONS: {}}


def _migrate_4_to_5(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 to 5: the tables are unchanged; the snapshot takes TinyDB's layout.

    Schema 4 kept the tables under ``"tables"``, after a header at the top. Schema 5 puts
    the tables at the top, as TinyDB does, and the header in a table of its own
    (``_store``), so ``TinyDB(path)`` reads the records; it is laid out a record a line.
    """
    return old


# MIGRATIONS[n - 1] turns schema n's tables into schema n + 1's.
MIGRATIONS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (
    _migrate_1_to_2,
    _migrate_2_to_3,
    _migrate_3_to_4,
    _migrate_4_to_5,
)
SCHEMA = len(MIGRATIONS) + 1
