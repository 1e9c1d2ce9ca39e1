"""What only the PostgreSQL store does: its schema, its rows, several processes at once.

The behaviour both backends share is in ``tests/test_store_contract.py``. Every test here
uses a new database on the throwaway server of ``tests/pgcluster.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from bot.store import (
    ARTICLES,
    DELIVERIES,
    SUBSCRIBERS,
    DumpRecord,
    Store,
    StoreCorruptError,
    StoreError,
    StoreWriteError,
    open_store,
)
from bot.store.pgschema import VERSION
from bot.store.postgres import PostgresStore, redact
from tests.pgcluster import Cluster
from tests.test_store import T0, article, subscriber


def sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the database as another client would."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def test_the_schema_is_created_once_and_versioned(pg_url: str) -> None:
    """The first open creates the tables and records the version; later opens (several at
    once) change nothing."""
    with open_store(pg_url), open_store(pg_url):
        pass
    rows = sql(pg_url, "SELECT version FROM newsdigest_schema ORDER BY version")
    assert rows == [(v,) for v in range(1, VERSION + 1)]


def test_a_database_of_a_newer_version_is_refused(pg_url: str) -> None:
    """A database a newer newsdigest set up is not touched by an older one."""
    with open_store(pg_url):
        pass
    sql(pg_url, "INSERT INTO newsdigest_schema (version, description) VALUES (%s, 'future')",
        (VERSION + 1,))  # fmt: skip
    with pytest.raises(StoreError, match="newer newsdigest"):
        open_store(pg_url)


def test_a_damaged_row_is_refused_by_name(pg_url: str) -> None:
    """A row another client broke (a zone that does not exist) is never handed to the bot:
    the error names the record and the field."""
    with open_store(pg_url) as store:
        store.put_subscriber(subscriber(42))
    sql(pg_url, "UPDATE subscribers SET timezone = 'Mars/Olympus' WHERE chat_id = 42")
    with open_store(pg_url) as store, pytest.raises(StoreCorruptError) as caught:
        store.get_subscriber(42)
    assert "subscriber 42" in str(caught.value)
    assert "timezone" in str(caught.value)


@pytest.mark.parametrize(
    ("column", "damage", "field"),
    [
        ("timezone", "'Mars/Olympus'", "timezone"),
        ("language", "'not a language'", "language"),
        ("telegram_language", "'xx-!!'", "telegram_language"),
    ],
)
def test_a_damaged_row_among_many_is_refused_by_name(
    pg_url: str, column: str, damage: str, field: str
) -> None:
    """Listing subscribers (pages of rows whose values mostly repeat, checked once per
    value) still refuses the one damaged row, named, after many good rows like it."""
    with open_store(pg_url) as store:
        for chat_id in range(1, 2501):
            store.put_subscriber(subscriber(chat_id))
    sql(pg_url, f"UPDATE subscribers SET {column} = {damage} WHERE chat_id = 2345")
    with open_store(pg_url) as store:
        with pytest.raises(StoreCorruptError) as caught:
            list(store.subscribers())
        assert "subscriber 2345" in str(caught.value)
        assert field in str(caught.value)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ("ALTER COLUMN last_digest TYPE timestamp", "last_digest", "is not a date and time"),
        (
            "ALTER COLUMN skip_empty TYPE integer USING skip_empty::integer",
            "skip_empty",
            "true or false",
        ),
        (
            "DROP CONSTRAINT subscriber_topics, "
            "ALTER COLUMN topics TYPE text USING array_to_string(topics, ',')",
            "topics",
            "is not a list",
        ),
    ],
)
def test_a_column_of_the_wrong_type_is_refused_by_name(
    pg_url: str, change: str, field: str, problem: str
) -> None:
    """A column another client changed (times without a zone, a flag as 0 or 1, a list as
    text) is refused when read, even by a store that has read good rows: a value equal to
    one seen before but of another type (1 == True) does not pass for it."""
    with open_store(pg_url) as store:
        store.put_subscriber(subscriber(1, skip_empty=True))
        store.put_subscriber(subscriber(2))
        assert len(list(store.subscribers())) == 2
        sql(pg_url, f"ALTER TABLE subscribers {change}")
        with pytest.raises(StoreCorruptError) as caught:
            list(store.subscribers())
    assert "subscriber 1:" in str(caught.value)
    assert field in str(caught.value)
    assert problem in str(caught.value)


def test_a_write_the_database_refuses_names_the_record(pg_url: str) -> None:
    """A subscriber whose times are not 24-hour times is refused by the table's check."""
    with open_store(pg_url) as store:
        with pytest.raises(StoreWriteError, match=r"subscriber 7: .*subscriber_times"):
            store.put_subscriber(subscriber(7, times=("25:61",)))
        assert store.get_subscriber(7) is None


def _bookkeeping_with_a_refused_write(store: Store) -> None:
    with store.batch():
        store.record_delivery(1, ["a1"], T0)
        store.increment("digests_sent", T0.date())
        store.put_subscriber(subscriber(1, times=("99:99",)))


def test_a_batch_with_a_refused_write_stores_nothing(pg_url: str) -> None:
    """The delivery bookkeeping is one transaction: when one write fails, the ledger entry
    and counter written before it in the batch are rolled back too."""
    with open_store(pg_url) as store:
        store.put_subscriber(subscriber(1))
        with pytest.raises(StoreWriteError, match="subscriber_times"):
            _bookkeeping_with_a_refused_write(store)
        assert store.delivered_ids(1) == set()
        assert store.counters(T0.date()) == {}
        store.increment("digests_sent", T0.date())  # the connection is usable again
    with open_store(pg_url) as store:
        assert store.counters(T0.date()) == {"digests_sent": 1}
        assert store.get_subscriber(1) == subscriber(1)


def test_two_processes_see_each_others_writes_and_add_up_counters(pg_url: str) -> None:
    """Nothing is cached: what one store (a worker) writes, the other (the bot) reads at
    once, and counters add up in the database."""
    with open_store(pg_url) as bot, open_store(pg_url) as worker:
        worker.put_article(article(1))
        assert bot.get_article("a0001") == article(1)
        assert [a.id for a in bot.articles_since(T0)] == ["a0001"]
        for store in (bot, worker, bot):
            store.increment("digests_sent", T0.date())
        assert worker.counters(T0.date()) == {"digests_sent": 3}


def test_text_postgresql_cannot_hold_is_stored_as_a_replacement_character(pg_url: str) -> None:
    """A NUL in a feed's title does not make the article unstorable."""
    with open_store(pg_url) as store:
        store.put_article(article(1, title="a\x00b", summary=("c\x00d",)))
        found = store.get_article("a0001")
    assert found is not None
    assert (found.title, found.summary) == ("a\ufffdb", ("c\ufffdd",))


def test_the_password_never_appears_in_messages() -> None:
    """The URL in logs and errors is shown without its password, wherever it was given."""
    assert redact("postgresql://bot:s3cret@db.example:5432/news") == (
        "postgresql://bot@db.example:5432/news"
    )
    assert "s3cret" not in redact("postgresql://bot@/news?password=s3cret&host=/run/pg")
    # A URL of defaults only is shown as given (it read "postgres::" in a message).
    assert redact("postgres://") == "postgres://"
    assert redact("postgresql:///news") == "postgresql:///news"
    with pytest.raises(StoreError) as caught:
        PostgresStore.open("postgresql://bot:s3cret@/news?host=/nonexistent&connect_timeout=2")
    assert "cannot connect" in str(caught.value)
    assert "s3cret" not in str(caught.value)


HOT_PATHS: dict[str, Callable[[Store], object]] = {
    "get_subscriber": lambda s: s.get_subscriber(1234),
    "put_subscriber": lambda s: s.update_subscriber(1234, skip_empty=False),
    "active_page": lambda s: next(iter(s.subscribers(active_only=True))),
    "pending_subscribers": lambda s: list(s.pending_subscribers()),
    "get_article": lambda s: s.get_article("a0042"),
    "article_by_url": lambda s: s.article_by_url("https://news.example/42"),
    "articles_since": lambda s: s.articles_since(T0 + timedelta(hours=1990)),
    "record_delivery": lambda s: s.record_delivery(1234, ["a0001", "a0002"], T0),
    "delivered_ids": lambda s: s.delivered_ids(1234),
    "delivered_ids_many": lambda s: s.delivered_ids_many([1234, 99]),
    "increment": lambda s: s.increment("digests_sent", T0.date()),
    "next_due": lambda s: s.due_times().next_due(),
    "pop_due": lambda s: s.due_times().pop_due(T0, 10),
}


@pytest.fixture(scope="module")
def populated(pg_cluster: Cluster) -> Iterator[str]:
    """A database with thousands of subscribers, ledger entries, articles and due times,
    analysed so the planner knows its sizes (shared by the hot-path tests)."""
    url = pg_cluster.new_database("hot")
    sent = T0.isoformat()
    records: list[DumpRecord] = [(ARTICLES, f"a{n:04d}", article(n).to_dict()) for n in range(2000)]
    for chat_id in range(5000):
        records.append((SUBSCRIBERS, str(chat_id), subscriber(chat_id).to_dict()))
        records.append((DELIVERIES, str(chat_id), {"a0001": sent, "a0002": sent}))
    with open_store(url) as store:
        store.restore(records)
        store.due_times().set_many([(c, T0 + timedelta(minutes=c), T0) for c in range(5000)])
    sql(url, "ANALYZE")
    yield url
    pg_cluster.drop_database(url)


@pytest.mark.parametrize("name", sorted(HOT_PATHS))
def test_hot_paths_use_indexes_not_whole_table_scans(populated: str, name: str) -> None:
    """On a database with thousands of rows, none of the lookups the bot makes per
    subscriber, per article or per dispatcher pass reads a whole table."""
    before = _seq_scans(populated)
    with PostgresStore.open(populated) as store:
        HOT_PATHS[name](store)
        store._conn.execute("SELECT pg_stat_force_next_flush()")
    after = _seq_scans(populated)
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {}


def _seq_scans(url: str) -> dict[str, int]:
    rows = sql(url, "SELECT relname, coalesce(seq_scan, 0) FROM pg_stat_user_tables")
    return {table: int(count) for table, count in rows if table != "newsdigest_schema"}
