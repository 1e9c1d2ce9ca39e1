"""The store contract: one suite, run against every backend (``bot.store.base.Store``).

Each test runs twice: on the embedded store (a data file under ``tmp_path``) and on
PostgreSQL (a new database on the throwaway server of ``tests/pgcluster.py``). What only
one backend does (the embedded store's files, PostgreSQL's rows) is tested in
``tests/test_store.py`` and ``tests/test_store_postgres.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import ACTIVE, BLOCKED, PAUSED, Channel, Delivery, FeedState
from bot.store import NotFoundError, Store, StoreError, open_store
from tests.test_store import T0, article, subscriber

BACKENDS = ["embedded", "postgresql"]

Opener = Callable[..., Store]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a new, empty store lives: a data file path, or a PostgreSQL URL."""
    if request.param == "embedded":
        return tmp_path / "data" / "newsdigest.json"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def reopen(target: Path | str) -> Opener:
    """Open the test's store (again): what a restart of the bot would see."""

    def opener(**options: int) -> Store:
        return open_store(target, **options)

    return opener


@pytest.fixture
def store(reopen: Opener) -> Iterator[Store]:
    """An open, empty store of each backend."""
    with reopen() as opened:
        yield opened


# -- channels and own feeds ---------------------------------------------------------------


def test_channels_and_selected_chats_survive_reopen_and_leave_with_their_chat(
    reopen: Opener,
) -> None:
    """A channel record and a user's selected chat are kept; deleting the channel's
    subscriber deletes its record, deleting a private chat's deletes its selection."""
    channel = Channel(chat_id=-1001, title="Harbour News", managers=(5, 6), linked=T0)
    with reopen() as store:
        store.put_subscriber(subscriber(-1001, chat_type="channel"))
        store.put_subscriber(subscriber(5, chat_type="private"))
        store.put_channel(channel)
        store.put_channel(Channel(chat_id=-1002, title="athens daily", managers=(5,), linked=T0))
        store.select_chat(5, -1001)
        store.select_chat(6, -1001)
        store.select_chat(7, 7)  # one's own chat is the default: nothing is stored
    with reopen() as store:
        assert store.get_channel(-1001) == channel
        assert [c.chat_id for c in store.channels_managed_by(5)] == [-1002, -1001]
        assert store.channels_managed_by(7) == []
        assert (store.selected_chat(5), store.selected_chat(6), store.selected_chat(7)) == (
            -1001,
            -1001,
            None,
        )
        store.delete_subscriber(-1001)
        store.delete_subscriber(5)
    with reopen() as store:
        assert store.get_channel(-1001) is None
        assert store.selected_chat(5) is None
        assert store.selected_chat(6) == -1001  # resolved (and forgotten) when next used
        store.select_chat(6, None)
        assert store.selected_chat(6) is None


def test_the_feed_index_follows_subscribers_and_survives_reopening(reopen: Opener) -> None:
    """Store.chat_feed_urls counts the active subscribers of each own feed, kept as they
    are added, paused, moved and deleted, and rebuilt the same at open."""
    with reopen() as store:
        store.put_subscriber(
            subscriber(1, feeds=("https://a.example/rss", "https://b.example/rss"))
        )
        store.put_subscriber(subscriber(2, feeds=("https://a.example/rss",)))
        assert store.chat_feed_urls() == {"https://a.example/rss": 2, "https://b.example/rss": 1}
        store.update_subscriber(2, status=PAUSED)
        assert store.chat_feed_urls() == {"https://a.example/rss": 1, "https://b.example/rss": 1}
        store.change_chat_id(1, -1001)
        assert store.chat_feed_urls() == {"https://a.example/rss": 1, "https://b.example/rss": 1}
        store.update_subscriber(-1001, feeds=("https://b.example/rss",))
        assert store.chat_feed_urls() == {"https://b.example/rss": 1}
    with reopen() as store:
        assert store.chat_feed_urls() == {"https://b.example/rss": 1}
        store.delete_subscriber(-1001)
        assert store.chat_feed_urls() == {}


# -- subscribers ---------------------------------------------------------------------------


def test_a_subscriber_survives_a_restart_field_for_field(reopen: Opener) -> None:
    """Every field of a subscriber reads back equal after the store is closed and opened."""
    person = subscriber(42, pending_slot=T0 + timedelta(days=2), pending_sent=2)
    with reopen() as store:
        store.put_subscriber(person)
        assert store.get_subscriber(42) == person
    with reopen() as store:
        assert store.get_subscriber(42) == person
        assert store.get_subscriber(43) is None


def test_negative_and_large_chat_ids_are_kept(store: Store) -> None:
    """Group chats have negative ids and supergroups 13-digit ones."""
    for chat_id in (-1001234567890, -5, 2**40):
        store.put_subscriber(subscriber(chat_id))
    assert sorted(s.chat_id for s in store.subscribers()) == [-1001234567890, -5, 2**40]


def test_update_changes_only_the_given_fields(store: Store) -> None:
    """update_subscriber returns the changed record and stores exactly that."""
    store.put_subscriber(subscriber(1))
    updated = store.update_subscriber(1, times=("06:00",), status=PAUSED)
    assert updated == subscriber(1, times=("06:00",), status=PAUSED)
    assert store.get_subscriber(1) == updated


def test_update_refuses_a_missing_subscriber_and_a_new_chat_id(store: Store) -> None:
    """A missing chat is NotFoundError; the chat id moves only through change_chat_id."""
    with pytest.raises(NotFoundError):
        store.update_subscriber(404, status=PAUSED)
    store.put_subscriber(subscriber(1))
    with pytest.raises(ValueError, match="change_chat_id"):
        store.update_subscriber(1, chat_id=2)
    assert store.get_subscriber(2) is None


def test_an_unknown_status_is_refused_before_writing(reopen: Opener) -> None:
    """A status the bot does not know never reaches storage."""
    with reopen() as store, pytest.raises(ValueError, match="status"):
        store.put_subscriber(subscriber(1, status="sleeping"))
    with reopen() as store:
        assert store.get_subscriber(1) is None


def test_active_subscribers_are_listed_and_counted(store: Store) -> None:
    """Listing, counting and counting by status agree with the stored statuses."""
    store.put_subscriber(subscriber(1))
    store.put_subscriber(subscriber(2, status=PAUSED))
    store.put_subscriber(subscriber(3, status=BLOCKED))
    store.put_subscriber(subscriber(4))
    assert sorted(s.chat_id for s in store.subscribers(active_only=True)) == [1, 4]
    assert sorted(s.chat_id for s in store.subscribers()) == [1, 2, 3, 4]
    assert store.count_subscribers() == 4
    assert store.count_subscribers(active_only=True) == 2
    assert store.count_by_status() == {ACTIVE: 2, PAUSED: 1, BLOCKED: 1}
    store.update_subscriber(2, status=ACTIVE)
    store.delete_subscriber(3)
    assert store.count_by_status() == {ACTIVE: 3}


ODD_WORDS = ("a b", "x,y", '"q"', "{c}", "NULL", "back\\slash", "é", "", "a", "A")


def test_listed_subscribers_have_their_own_lists_however_alike(store: Store) -> None:
    """Over several pages, each subscriber read in a listing has exactly its own lists,
    including words that need quoting or escaping, words equal but for case, an empty
    word and empty lists, among many rows alike and some that differ in one list."""
    people = [
        subscriber(
            chat_id,
            topics=("world",) if chat_id % 3 else ("world", "science"),
            follow=(ODD_WORDS[chat_id // 4 % len(ODD_WORDS)],) if chat_id % 4 == 0 else (),
            exclude=ODD_WORDS[chat_id % 11 : chat_id % 11 + 2],
            times=("07:30",) if chat_id % 7 else ("07:30", "19:00"),
            feeds=(),
        )
        for chat_id in range(1, 2600)
    ]
    with store.batch():
        for person in people:
            store.put_subscriber(person)
    assert list(store.subscribers()) == people
    store.update_subscriber(2000, exclude=("NULL", "a b"), follow=("{c}",))
    listed = {s.chat_id: s for s in store.subscribers(active_only=True)}
    assert listed[2000].exclude == ("NULL", "a b")
    assert listed[2000].follow == ("{c}",)
    assert listed[1999] == people[1998]


def test_subscribers_can_be_deleted_while_iterating_past_a_page(store: Store) -> None:
    """Iterating over more subscribers than one page and deleting as it goes is safe: no
    error, nobody twice, and everyone not deleted is seen."""
    with store.batch():
        for chat_id in range(1, 2502):
            store.put_subscriber(subscriber(chat_id))
    seen = []
    for person in store.subscribers():
        seen.append(person.chat_id)
        if person.chat_id % 2:
            store.delete_subscriber(person.chat_id + 1)
    assert len(seen) == len(set(seen))
    assert set(range(1, 2502, 2)) <= set(seen)
    assert store.count_subscribers() == 1251


def test_pending_subscribers_are_the_ones_with_a_slot_in_flight(store: Store) -> None:
    """pending_subscribers lists exactly the chats whose digest a crash may have cut."""
    store.put_subscriber(subscriber(1))
    store.put_subscriber(subscriber(2, pending_slot=T0, pending_sent=1))
    store.put_subscriber(subscriber(3, pending_slot=T0, status=PAUSED))
    assert sorted(s.chat_id for s in store.pending_subscribers()) == [2, 3]
    store.update_subscriber(2, pending_slot=None, pending_sent=0)
    assert [s.chat_id for s in store.pending_subscribers()] == [3]


def test_deleting_a_subscriber_deletes_their_ledger(reopen: Opener) -> None:
    """Stopping removes what was sent to the chat too, and says whether there was one."""
    with reopen() as store:
        store.put_subscriber(subscriber(1))
        store.put_subscriber(subscriber(2))
        store.record_delivery(1, ["a1", "a2"], T0)
        store.record_delivery(2, ["a1"], T0)
        assert store.delete_subscriber(1) is True
        assert store.delete_subscriber(1) is False
    with reopen() as store:
        assert store.get_subscriber(1) is None
        assert store.delivered_ids(1) == set()
        assert store.delivered_ids(2) == {"a1"}


def test_change_chat_id_moves_the_subscription_and_its_ledger(reopen: Opener) -> None:
    """A group that became a supergroup keeps its settings and what it was sent."""
    with reopen() as store:
        store.put_subscriber(subscriber(-5))
        store.record_delivery(-5, ["a1", "a2"], T0)
        moved = store.change_chat_id(-5, -1009)
        assert moved == subscriber(-1009)
    with reopen() as store:
        assert store.get_subscriber(-5) is None
        assert store.get_subscriber(-1009) == moved
        assert store.delivered_ids(-1009) == {"a1", "a2"}
        assert store.delivered_ids(-5) == set()


def test_change_chat_id_refuses_a_missing_or_taken_chat(store: Store) -> None:
    """Nothing moves when the old chat has no subscriber or the new one already has."""
    store.put_subscriber(subscriber(1))
    store.put_subscriber(subscriber(2))
    with pytest.raises(NotFoundError):
        store.change_chat_id(404, 405)
    with pytest.raises(ValueError, match="already"):
        store.change_chat_id(1, 2)
    assert store.get_subscriber(1) == subscriber(1)


# -- articles ------------------------------------------------------------------------------


def test_an_article_survives_a_restart_and_is_found_by_url(reopen: Opener) -> None:
    """Articles read back equal, by id and by their canonical URL."""
    stored = article(1, published=None)
    with reopen() as store:
        store.put_article(stored)
    with reopen() as store:
        assert store.get_article("a0001") == stored
        assert store.article_by_url("https://news.example/1") == stored
        assert store.article_by_url("https://news.example/2") is None
        assert store.count_articles() == 1


def test_the_newest_article_with_a_url_wins(store: Store) -> None:
    """Two articles at one URL: the one stored last is the one found."""
    store.put_article(article(1, url="https://news.example/same"))
    store.put_article(article(2, url="https://news.example/same"))
    assert store.article_by_url("https://news.example/same") == article(
        2, url="https://news.example/same"
    )
    store.put_article(article(1, url="https://news.example/same", title="Updated"))
    found = store.article_by_url("https://news.example/same")
    assert found is not None
    assert found.title == "Updated"


def test_articles_since_returns_newer_ones_oldest_first(store: Store) -> None:
    """The digest builder's window: fetched at or after the time, oldest first, ties by id."""
    for n in (3, 1, 2):
        store.put_article(article(n))
    store.put_article(article(9, id="a0000", fetched=article(2).fetched))
    since = article(2).fetched
    assert [a.id for a in store.articles_since(since)] == ["a0000", "a0002", "a0003"]
    assert store.articles_since(T0 + timedelta(days=30)) == []


def test_old_articles_and_a_feeds_articles_can_be_deleted(reopen: Opener) -> None:
    """prune_articles goes by fetch time; delete_articles_of_feed by source name."""
    with reopen() as store:
        for n in range(1, 6):
            store.put_article(article(n, feed="seeds" if n == 5 else "https://a.example/rss"))
        assert store.prune_articles(article(3).fetched) == 2
        assert store.delete_articles_of_feed("seeds") == 1
    with reopen() as store:
        assert sorted(a.id for a in store.articles_since(T0)) == ["a0003", "a0004"]


def test_naive_datetimes_are_refused_before_anything_is_written(reopen: Opener) -> None:
    """A time without a zone is a bug in the caller: refused, nothing stored."""
    naive = datetime(2025, 3, 1, 8, 0)
    with reopen() as store:
        with pytest.raises(ValueError, match=r"naive|aware"):
            store.put_article(article(1, fetched=naive))
        with pytest.raises(ValueError, match=r"naive|aware"):
            store.put_subscriber(subscriber(1, last_slot=naive))
        with pytest.raises(ValueError, match=r"naive|aware"):
            store.articles_since(naive)
    with reopen() as store:
        assert store.count_articles() == 0
        assert store.get_subscriber(1) is None


# -- delivery ledger -----------------------------------------------------------------------


def test_the_ledger_keeps_order_and_the_second(store: Store) -> None:
    """deliveries() lists a chat's entries oldest first, times kept to the second."""
    store.record_delivery(1, ["a1", "a2"], T0 + timedelta(microseconds=700))
    store.record_delivery(1, ["a3"], T0 + timedelta(hours=1))
    assert store.deliveries(1) == [
        Delivery(chat_id=1, article_id="a1", sent=T0),
        Delivery(chat_id=1, article_id="a2", sent=T0),
        Delivery(chat_id=1, article_id="a3", sent=T0 + timedelta(hours=1)),
    ]
    assert store.count_deliveries() == 3


def test_the_ledger_is_capped_per_chat(reopen: Opener) -> None:
    """Each chat keeps its newest ``max_deliveries_per_chat`` entries; an article sent
    again counts as new."""
    with reopen(max_deliveries_per_chat=5) as store:
        store.record_delivery(1, [f"a{n}" for n in range(4)], T0)
        store.record_delivery(1, ["a0"], T0 + timedelta(hours=1))
        store.record_delivery(1, ["a7", "a8"], T0 + timedelta(hours=2))
        store.record_delivery(2, ["b1"], T0)
    with reopen(max_deliveries_per_chat=5) as store:
        assert [d.article_id for d in store.deliveries(1)] == ["a2", "a3", "a0", "a7", "a8"]
        assert store.delivered_ids(2) == {"b1"}


def test_old_deliveries_are_pruned_durably(reopen: Opener) -> None:
    """prune_deliveries forgets entries sent before the cut-off, across chats."""
    with reopen() as store:
        store.record_delivery(1, ["a1"], T0)
        store.record_delivery(1, ["a2"], T0 + timedelta(days=2))
        store.record_delivery(2, ["a1"], T0)
        assert store.prune_deliveries(T0 + timedelta(days=1)) == 2
    with reopen() as store:
        assert store.delivered_ids(1) == {"a2"}
        assert store.delivered_ids(2) == set()
        assert store.count_deliveries() == 1


def test_delivered_ids_of_many_chats_at_once(store: Store) -> None:
    """delivered_ids_many agrees with delivered_ids and leaves out empty ledgers."""
    store.record_delivery(1, ["a1", "a2"], T0)
    store.record_delivery(3, ["a2"], T0)
    odd = ["an id with spaces", " ", "", "a2"]  # ids are hex; the store takes any text
    store.record_delivery(4, odd, T0)
    assert store.delivered_ids_many([1, 2, 3, 4]) == {1: {"a1", "a2"}, 3: {"a2"}, 4: set(odd)}
    assert store.delivered_ids(4) == set(odd)


# -- feeds and counters --------------------------------------------------------------------


def test_feed_state_round_trip_and_forgetting(reopen: Opener) -> None:
    """A feed's state reads back equal; a feed that left the configuration is forgotten."""
    state = FeedState(
        url="https://news.example/rss",
        etag='"abc"',
        last_modified="Sat, 01 Mar 2025 08:00:00 GMT",
        failures=2,
        last_error="timed out",
        last_error_kind="timeout",
        last_success=T0,
        next_attempt=T0 + timedelta(minutes=30),
        articles_total=12,
    )
    with reopen() as store:
        store.put_feed_state(state)
        store.put_feed_state(FeedState(url="https://other.example/rss"))
    with reopen() as store:
        assert store.get_feed_state(state.url) == state
        assert store.delete_feed_state("https://other.example/rss") is True
        assert store.delete_feed_state("https://other.example/rss") is False
        assert list(store.feed_states()) == [state]
    with reopen() as store:
        assert store.get_feed_state("https://other.example/rss") is None
        assert list(store.feed_states()) == [state]


def test_counters_are_kept_per_day_and_pruned_by_day(reopen: Opener) -> None:
    """increment returns the new total; counters() is one day's; pruning counts days."""
    day = date(2025, 3, 1)
    with reopen() as store:
        assert store.increment("digests_sent", day) == 1
        assert store.increment("digests_sent", day, 4) == 5
        store.increment("failures:timeout", day)
        store.increment("digests_sent", day + timedelta(days=1))
        store.increment("digests_sent", day + timedelta(days=2))
    with reopen() as store:
        assert store.counters(day) == {"digests_sent": 5, "failures:timeout": 1}
        assert store.counters(day - timedelta(days=1)) == {}
        assert store.prune_counters(day + timedelta(days=2)) == 2
        assert store.counters(day) == {}
        assert store.counters(day + timedelta(days=2)) == {"digests_sent": 1}


# -- batches and lifecycle -----------------------------------------------------------------


def test_a_batch_is_visible_at_once_and_durable_at_its_end(reopen: Opener) -> None:
    """Reads inside a batch see its writes; after it, a restart sees all of them."""
    with reopen() as store, store.batch():
        store.put_subscriber(subscriber(1))
        store.record_delivery(1, ["a1"], T0)
        with store.batch():  # nested: joins the outer one
            store.increment("digests_sent", T0.date())
        assert store.get_subscriber(1) == subscriber(1)
        assert store.delivered_ids(1) == {"a1"}
    with reopen() as store:
        assert store.get_subscriber(1) == subscriber(1)
        assert store.delivered_ids(1) == {"a1"}
        assert store.counters(T0.date()) == {"digests_sent": 1}


def _put_then_fail(store: Store) -> None:
    with store.batch():
        store.put_subscriber(subscriber(1))
        raise RuntimeError("the caller's own failure")


def test_a_batch_keeps_writes_made_before_an_exception(reopen: Opener) -> None:
    """An exception in the caller's block does not undo what the block already wrote."""
    with reopen() as store:
        with pytest.raises(RuntimeError, match="own failure"):
            _put_then_fail(store)
        assert store.get_subscriber(1) == subscriber(1)
    with reopen() as store:
        assert store.get_subscriber(1) == subscriber(1)


def test_a_closed_store_refuses_use(reopen: Opener) -> None:
    """After close() every call raises StoreError; closing again is harmless."""
    store = reopen()
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.get_subscriber(1)
    with pytest.raises(StoreError):
        store.put_subscriber(subscriber(1))


def test_compact_keeps_every_record(reopen: Opener) -> None:
    """Compaction (a new snapshot, or a vacuum) loses nothing and clears erase_pending."""
    with reopen() as store:
        store.put_subscriber(subscriber(1))
        store.put_subscriber(subscriber(2))
        store.put_article(article(1))
        store.delete_subscriber(2)
        pending = [store.erase_pending]
        store.compact()
        pending.append(store.erase_pending)
        assert pending == [True, False]
    with reopen() as store:
        assert [s.chat_id for s in store.subscribers()] == [1]
        assert store.get_article("a0001") == article(1)


# -- due times -----------------------------------------------------------------------------


def test_due_times_hand_out_what_is_due_earliest_first(store: Store) -> None:
    """pop_due takes up to ``limit`` due chats, earliest first, and removes them."""
    for chat_id in range(1, 6):
        store.put_subscriber(subscriber(chat_id))
    due = store.due_times()
    due.set_many([(c, T0 + timedelta(minutes=10 - c), T0) for c in range(1, 6)])
    due.set(5, T0 + timedelta(hours=1), T0)  # deferred: wakes later for the same slot
    due.remove(4)
    assert len(due) == 4
    assert due.next_due() == T0 + timedelta(minutes=7)
    now = T0 + timedelta(minutes=30)
    assert due.pop_due(now, 2) == [(3, T0), (2, T0)]
    assert due.pop_due(now, 10) == [(1, T0)]
    assert due.pop_due(now, 10) == []
    assert due.next_due() == T0 + timedelta(hours=1)
    assert len(due) == 1


def test_due_times_are_rebuilt_for_every_active_subscriber_without_one(store: Store) -> None:
    """At start, every active subscriber whose time is not kept is handed back to be
    scheduled; paused and blocked ones never are."""
    store.put_subscriber(subscriber(1))
    store.put_subscriber(subscriber(2, status=PAUSED))
    store.put_subscriber(subscriber(3))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    assert sorted(s.chat_id for s in store.due_times().to_reschedule(now)) == [1, 3]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (("feeds_v2", "x", {}), "unknown table 'feeds_v2'"),
        (
            ("subscribers", "5", {**subscriber(5).to_dict(), "timezone": "Mars/Olympus"}),
            "subscriber 5: timezone 'Mars/Olympus' is not a time zone",
        ),
    ],
)
def test_a_restore_with_a_bad_record_stores_nothing(
    reopen: Opener, bad: tuple[str, str, dict[str, object]], problem: str
) -> None:
    """Every record of a restore is checked as an open checks it: the first bad one stops
    it with one line naming the store and the record, and nothing of it is stored."""
    good = ("subscribers", "1", subscriber(1).to_dict())
    with reopen() as store:
        with pytest.raises(StoreError) as caught:
            store.restore([good, bad])
        assert str(caught.value) == f"cannot restore into {store.location}: {problem}"
    with reopen() as store:
        assert store.count_subscribers() == 0
        assert store.restore([good]) == 1
        assert store.get_subscriber(1) == subscriber(1)
