"""``newsdigest migrate``: a data file into PostgreSQL and back, every record kept."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.models import BLOCKED, PAUSED, FeedState
from bot.store import EmbeddedStore, Store, open_store
from tests.test_store import T0, article, subscriber


def fill(store: Store) -> None:
    """One of every kind of record, with the awkward values (negative chat ids, a digest
    in flight, text in several scripts, a paused and a blocked chat)."""
    store.put_subscriber(subscriber(1))
    store.put_subscriber(subscriber(-1001234567890, status=PAUSED, thread_id=None))
    store.put_subscriber(subscriber(3, status=BLOCKED, pending_slot=T0, pending_sent=1))
    for n in range(1, 4):
        store.put_article(article(n))
    store.put_article(article(9, url="https://news.example/1"))  # the newer one at a URL
    store.record_delivery(1, ["a0001", "a0002"], T0)
    store.record_delivery(1, ["a0003"], T0 + timedelta(hours=1))
    store.record_delivery(-1001234567890, ["a0001"], T0)
    store.put_feed_state(FeedState(url="https://news.example/rss", etag='"x"', failures=1))
    store.increment("digests_sent", date(2025, 3, 1), 7)
    store.increment("failures:timeout", date(2025, 3, 2))


def everything(store: Store) -> dict[str, Any]:
    """What the bot can read from a store, for comparing two stores."""
    chats = sorted(s.chat_id for s in store.subscribers())
    return {
        "subscribers": sorted(store.subscribers(), key=lambda s: s.chat_id),
        "articles": store.articles_since(T0 - timedelta(days=1)),
        "newest at url 1": store.article_by_url("https://news.example/1"),
        "ledgers": {chat: store.deliveries(chat) for chat in chats},
        "feeds": list(store.feed_states()),
        "counters": [store.counters(date(2025, 3, d)) for d in (1, 2)],
    }


def test_a_data_file_goes_into_postgresql_and_back_unchanged(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every subscriber, article, ledger entry (in order), feed state and counter makes
    the round trip, and the command says what it copied."""
    original = tmp_path / "newsdigest.json"
    with EmbeddedStore.open(original) as store:
        fill(store)
        expected = everything(store)
    assert main(["migrate", "--from", str(original), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "3 subscribers, 4 articles, 4 ledger entries" in out
    with open_store(pg_url) as store:
        assert everything(store) == expected
    back = tmp_path / "back" / "newsdigest.json"
    assert main(["migrate", "--from", pg_url, "--to", str(back)]) == 0
    with EmbeddedStore.open(back) as store:
        assert everything(store) == expected


def test_migrating_uses_the_configured_store_by_default(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --from, the store the configuration names is copied."""
    data = tmp_path / "configured.json"
    with EmbeddedStore.open(data) as store:
        fill(store)
    monkeypatch.setenv("NEWSDIGEST_DATA_FILE", str(data))
    monkeypatch.delenv("NEWSDIGEST_DATABASE_URL", raising=False)
    assert main(["migrate", "--to", pg_url]) == 0
    with open_store(pg_url) as store:
        assert store.count_subscribers() == 3


def test_a_database_that_holds_records_is_not_overwritten(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Copying into a store that is not empty is refused with one line; nothing changes."""
    original = tmp_path / "newsdigest.json"
    with EmbeddedStore.open(original) as store:
        fill(store)
    with open_store(pg_url) as store:
        store.put_subscriber(subscriber(99))
    assert main(["migrate", "--from", str(original), "--to", pg_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsdigest: ")
    assert "not empty" in err
    assert err.count("\n") == 1
    with open_store(pg_url) as store:
        assert [s.chat_id for s in store.subscribers()] == [99]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--from", "missing.json", "--to", "out.json"], "no such data file"),
        (["--from", "data.json", "--to", "mysql://db/news"], "postgresql:// URL or a data file"),
        (["--from", "data.json", "--to", "data.json"], "names the store being copied"),
        (["--from", "data.json", "--to", "exists.json"], "migrate into a new data file"),
    ],
)
def test_bad_arguments_get_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    problem: str,
) -> None:
    """A missing source, a target that is neither a URL nor a new file: exit 2, one line."""
    monkeypatch.chdir(tmp_path)
    with EmbeddedStore.open(tmp_path / "data.json"):
        pass
    (tmp_path / "exists.json").write_text("{}")
    assert main(["migrate", *args]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1


def test_a_data_file_in_use_by_the_bot_is_not_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The running bot holds the data file's lock: migrate says so instead of copying a
    store that is changing."""
    original = tmp_path / "newsdigest.json"
    with EmbeddedStore.open(original) as running:
        running.put_subscriber(subscriber(1))
        assert main(["migrate", "--from", str(original), "--to", str(tmp_path / "b.json")]) == 1
    assert "lock" in capsys.readouterr().err
