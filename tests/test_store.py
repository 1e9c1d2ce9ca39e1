"""The store: round trips, durability, damage handling, locking, migration, compaction.

Every test uses real files under ``tmp_path``. Write failures are produced by the kernel
(a file size limit, RLIMIT_FSIZE, which refuses a write partway like a full disk and also
applies to root) rather than by mocking the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

from bot.models import (
    BLOCKED,
    PAUSED,
    Channel,
    Delivery,
    FeedState,
    StoredArticle,
    Subscriber,
)
from bot.store import (
    SCHEMA,
    EmbeddedStore,
    NotFoundError,
    Store,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePathError,
    StoreWriteError,
    backup,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def header_of(path: Path) -> dict[str, Any]:
    """The header of a snapshot (schema 5: document 1 of its ``_store`` table)."""
    header: dict[str, Any] = json.loads(path.read_bytes())["_store"]["1"]
    return header


def as_schema(data: dict[str, Any], schema: int) -> dict[str, Any]:
    """A schema 5 snapshot's content in the layout of schemas 2 to 4 (header at the top,
    the tables under ``"tables"``), marked as ``schema``."""
    header = data.pop("_store")["1"]
    return {**header, "schema": schema, "tables": data}


def subscriber(chat_id: int, **changes: object) -> Subscriber:
    """A subscriber with every field set to something other than its default."""
    fields: dict[str, object] = {
        "chat_id": chat_id,
        "chat_type": "group",
        "topics": ("world", "science"),
        "follow": ("climate",),
        "exclude": ("football",),
        "times": ("07:30", "19:00"),
        "timezone": "Europe/Berlin",
        "created": T0,
        "last_slot": T0 + timedelta(days=1),
        "last_digest": T0 + timedelta(days=1, minutes=1),
        "thread_id": 7,
        "skip_empty": True,
        "language": "de",
        "telegram_language": "fr",
        "feeds": ("https://feeds.example/harbour.xml",),
    }
    fields.update(changes)
    return Subscriber(**fields)  # type: ignore[arg-type]  # the test's field values, checked by the dataclass


def article(n: int, **changes: object) -> StoredArticle:
    """An article numbered ``n``, published ``n`` hours after T0 unless told otherwise."""
    fields: dict[str, object] = {
        "id": f"a{n:04d}",
        "url": f"https://news.example/{n}",
        "title": f"Title {n} — «quoted» 新闻",
        "source": "Example News",
        "published": T0 + timedelta(hours=n),
        "fetched": T0 + timedelta(hours=n, minutes=5),
        "language": "en",
        "topics": ("world",),
        "summary": ("First sentence.", "Second sentence."),
        "words": ("first", "sentence"),
        "feed": "https://news.example/rss",
        "feed_urls": ("https://news.example/rss",),
    }
    fields.update(changes)
    return StoredArticle(**fields)  # type: ignore[arg-type]  # the test's field values, checked by the dataclass


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the store's data file goes (its folder does not exist yet)."""
    return tmp_path / "data" / "newsdigest.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    """An open, empty store."""
    with EmbeddedStore.open(path) as opened:
        yield opened


def journals(path: Path) -> list[Path]:
    """The journal files next to a data file."""
    return sorted(path.parent.glob(f"{path.name}.journal.*"))


def journal(path: Path) -> Path:
    """The one journal file of a store that is not mid-compaction."""
    (found,) = journals(path)
    return found


def folder_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time, to show nothing was touched."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.endswith(".lock")
    }


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Make the kernel refuse writes past ``limit`` bytes in any file (EFBIG)."""
    if signal.getsignal(signal.SIGXFSZ) != signal.SIG_IGN:
        pytest.skip("SIGXFSZ is not ignored, so exceeding the limit would kill the test run")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


# -- round trips ---------------------------------------------------------------------------


def test_subscriber_round_trip_survives_reopen(path: Path) -> None:
    """Every field of a subscriber comes back equal after closing and reopening."""
    original = subscriber(-1001234567890)
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(original)
        assert store.get_subscriber(original.chat_id) == original
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(original.chat_id) == original
        assert store.get_subscriber(42) is None


def test_counts_by_status_follow_every_change_without_a_scan(path: Path) -> None:
    """/stats reads the counts the store keeps (issue 11: it walked every subscriber):
    they follow puts, status changes, moves and deletions, in a batch too, and are the
    same after a reopen as a scan of the records."""

    def scanned(store: Store) -> dict[str, int]:
        counts: dict[str, int] = {}
        for person in store.subscribers():
            counts[person.status] = counts.get(person.status, 0) + 1
        return counts

    with EmbeddedStore.open(path) as store:
        for chat_id in range(1, 8):
            store.put_subscriber(subscriber(chat_id, status="active"))
        store.update_subscriber(2, status=PAUSED)
        store.update_subscriber(3, status=BLOCKED)
        with store.batch():
            store.update_subscriber(4, status=PAUSED)
            store.delete_subscriber(5)
        store.change_chat_id(6, -1006)
        store.put_subscriber(subscriber(1, status=BLOCKED))  # replaced, not added
        assert store.count_by_status() == {"active": 2, "paused": 2, "blocked": 2}
        assert store.count_by_status() == scanned(store)
    with EmbeddedStore.open(path) as store:
        assert store.count_by_status() == {"active": 2, "paused": 2, "blocked": 2}


def test_update_subscriber_changes_only_the_given_fields(store: Store) -> None:
    """update_subscriber returns the changed subscriber and keeps the other fields."""
    store.put_subscriber(subscriber(1))
    updated = store.update_subscriber(1, status=PAUSED, times=("06:00",))
    assert updated == subscriber(1, status=PAUSED, times=("06:00",))
    assert store.get_subscriber(1) == updated
    assert store.count_subscribers(active_only=True) == 0


def test_update_of_a_missing_subscriber_raises_not_found(store: Store) -> None:
    """Updating a chat that never subscribed is a NotFoundError naming the chat."""
    with pytest.raises(NotFoundError, match="12345"):
        store.update_subscriber(12345, status=PAUSED)


def test_update_cannot_change_the_chat_id(store: Store) -> None:
    """Moving a subscription needs change_chat_id, which also moves the ledger."""
    store.put_subscriber(subscriber(1))
    with pytest.raises(ValueError, match="change_chat_id"):
        store.update_subscriber(1, chat_id=2)


def test_unknown_status_is_refused_before_writing(path: Path) -> None:
    """A typo in a status never reaches the disk."""
    with EmbeddedStore.open(path) as store, pytest.raises(ValueError, match="status"):
        store.put_subscriber(subscriber(1, status="paused "))
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 0


@pytest.mark.parametrize(
    ("statuses", "active"),
    [
        pytest.param(["active", "active"], 2, id="all-active"),
        pytest.param(["active", PAUSED, BLOCKED], 1, id="mixed"),
        pytest.param([PAUSED, BLOCKED], 0, id="none-active"),
    ],
)
def test_active_subscribers_are_listed_and_counted(
    path: Path, statuses: list[str], active: int
) -> None:
    """active_only lists exactly the subscribers with status active, also after reopening."""
    with EmbeddedStore.open(path) as store:
        for chat_id, status in enumerate(statuses):
            store.put_subscriber(subscriber(chat_id, status=status))
    with EmbeddedStore.open(path) as store:
        listed = list(store.subscribers(active_only=True))
        assert len(listed) == store.count_subscribers(active_only=True) == active
        assert all(s.active for s in listed)
        assert store.count_subscribers() == len(list(store.subscribers())) == len(statuses)


def test_subscribers_can_be_deleted_while_iterating(store: Store) -> None:
    """Deleting during iteration neither crashes nor yields deleted subscribers."""
    for chat_id in range(10):
        store.put_subscriber(subscriber(chat_id))
    seen = []
    for sub in store.subscribers(active_only=True):
        seen.append(sub.chat_id)
        store.delete_subscriber(sub.chat_id + 1)
    assert len(seen) == 5
    assert store.count_subscribers() == 5


def test_delete_subscriber_removes_their_deliveries(path: Path) -> None:
    """After /stop the chat is gone along with its ledger; other chats keep theirs."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        store.put_subscriber(subscriber(2))
        store.record_delivery(1, ["a", "b"], T0)
        store.record_delivery(2, ["a"], T0)
        assert store.delete_subscriber(1) is True
        assert store.delete_subscriber(1) is False
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(1) is None
        assert store.delivered_ids(1) == set()
        assert store.delivered_ids(2) == {"a"}


def test_a_schema_3_store_gains_empty_channel_tables(path: Path) -> None:
    """A store written before channels (schema 3) opens with all its records and the two
    new tables empty; the original is kept as a .bak file."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        store.record_delivery(1, ["a"], T0)
        store.compact()
    data = as_schema(json.loads(path.read_bytes()), 3)
    del data["tables"]["channels"], data["tables"]["selections"]
    path.write_text(json.dumps(data))
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(1) == subscriber(1)
        assert store.delivered_ids(1) == {"a"}
        assert store.channels_managed_by(1) == []
        assert store.selected_chat(1) is None
    assert header_of(path)["schema"] == SCHEMA == 5
    assert list(path.parent.glob("newsdigest.json.schema3-*.bak"))


def test_change_chat_id_moves_the_subscription_and_its_ledger(path: Path) -> None:
    """A group that became a supergroup keeps its settings and is not sent repeats."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(-100))
        store.record_delivery(-100, ["a", "b"], T0)
        moved = store.change_chat_id(-100, -1001)
        assert moved == subscriber(-1001)
        with pytest.raises(NotFoundError):
            store.change_chat_id(-100, -1002)
        store.put_subscriber(subscriber(5))
        with pytest.raises(ValueError, match="already"):
            store.change_chat_id(-1001, 5)
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(-100) is None
        assert store.get_subscriber(-1001) == moved
        assert store.delivered_ids(-1001) == {"a", "b"}
        assert store.delivered_ids(-100) == set()


def test_article_round_trip_and_lookup_by_url(path: Path) -> None:
    """An article comes back equal by id and by URL, after reopening too."""
    original = article(1)
    with EmbeddedStore.open(path) as store:
        store.put_article(original)
    with EmbeddedStore.open(path) as store:
        assert store.get_article("a0001") == original
        assert store.article_by_url("https://news.example/1") == original
        assert store.article_by_url("https://news.example/2") is None
        assert store.count_articles() == 1


def test_replacing_an_article_moves_its_url(store: Store) -> None:
    """A stored article whose URL changed is found by the new URL only."""
    store.put_article(article(1))
    store.put_article(article(1, url="https://news.example/moved"))
    assert store.article_by_url("https://news.example/1") is None
    assert store.article_by_url("https://news.example/moved") is not None
    assert store.count_articles() == 1


def test_articles_since_returns_newer_articles_oldest_first(store: Store) -> None:
    """articles_since uses the time an article was stored, not its publication date."""
    for n in (5, 1, 3):
        store.put_article(article(n))
    store.put_article(article(9, published=None))
    store.put_article(article(7, published=T0 - timedelta(days=400)))  # old, fetched now
    found = store.articles_since(T0 + timedelta(hours=3))
    assert [a.id for a in found] == ["a0003", "a0005", "a0007", "a0009"]
    assert store.articles_since(T0 + timedelta(days=1)) == []


def test_prune_articles_deletes_old_ones_durably(path: Path) -> None:
    """Pruned articles are gone, also by URL and after reopening; newer ones stay."""
    with EmbeddedStore.open(path) as store:
        for n in range(10):
            store.put_article(article(n))
        assert store.prune_articles(T0 + timedelta(hours=4)) == 4
        assert store.prune_articles(T0 + timedelta(hours=4)) == 0
        assert store.article_by_url("https://news.example/0") is None
    with EmbeddedStore.open(path) as store:
        assert store.count_articles() == 6
        assert store.get_article("a0003") is None
        assert store.get_article("a0004") is not None


def test_naive_datetimes_are_refused_before_anything_is_written(path: Path) -> None:
    """A naive time is a programming error that must not reach the files."""
    naive = datetime(2025, 3, 1, 8, 0)
    with EmbeddedStore.open(path) as store:
        with pytest.raises(ValueError, match="naive"):
            store.put_subscriber(subscriber(1, last_slot=naive))
        with pytest.raises(ValueError, match="naive"):
            store.record_delivery(1, ["a"], naive)
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 0
        assert store.delivered_ids(1) == set()


# -- delivery ledger -------------------------------------------------------------------------


def test_delivery_ledger_is_capped_per_chat(path: Path) -> None:
    """A chat's ledger keeps only the newest entries, so it cannot grow without bound."""
    with EmbeddedStore.open(path, max_deliveries_per_chat=5) as store:
        for day in range(4):
            ids = [f"d{day}-{i}" for i in range(3)]
            store.record_delivery(1, ids, T0 + timedelta(days=day))
        assert store.count_deliveries() == 5
    with EmbeddedStore.open(path, max_deliveries_per_chat=5) as store:
        assert store.delivered_ids(1) == {"d2-1", "d2-2", "d3-0", "d3-1", "d3-2"}
        assert [d.article_id for d in store.deliveries(1)][-1] == "d3-2"


def test_prune_deliveries_removes_old_entries_durably(path: Path) -> None:
    """Entries sent before the cutoff are forgotten; the count stays bounded after reopen."""
    with EmbeddedStore.open(path) as store:
        for chat_id in (1, 2):
            for day in range(10):
                store.record_delivery(chat_id, [f"d{day}"], T0 + timedelta(days=day))
        assert store.count_deliveries() == 20
        assert store.prune_deliveries(T0 + timedelta(days=7)) == 14
        assert store.prune_deliveries(T0 + timedelta(days=7)) == 0
    with EmbeddedStore.open(path) as store:
        assert store.count_deliveries() == 6
        assert store.delivered_ids(2) == {"d7", "d8", "d9"}
        assert store.deliveries(1) == [
            Delivery(chat_id=1, article_id=f"d{day}", sent=T0 + timedelta(days=day))
            for day in (7, 8, 9)
        ]


def test_resending_an_article_refreshes_its_entry(store: Store) -> None:
    """An article sent again counts as recent, so the cap does not drop it first."""
    store.record_delivery(1, ["a", "b"], T0)
    store.record_delivery(1, ["a"], T0 + timedelta(days=1))
    assert store.prune_deliveries(T0 + timedelta(hours=1)) == 1
    assert store.delivered_ids(1) == {"a"}


# -- durability ------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.models import Subscriber
    from bot.store import EmbeddedStore, Store

    store = EmbeddedStore.open(Path(sys.argv[1]), compact_min_bytes=int(sys.argv[2]))
    chat_id = int(sys.argv[3])
    while True:
        store.put_subscriber(Subscriber(chat_id=chat_id, topics=("world",) * 20))
        print(chat_id, flush=True)  # only after put_subscriber returned
        chat_id += 1
    """
)


@pytest.mark.parametrize("kill_after", [1, 150, 600])
def test_acknowledged_writes_survive_sigkill(path: Path, kill_after: int) -> None:
    """Every write that returned before SIGKILL is there at the next open.

    The writer compacts often (a small threshold), so a kill can land mid-compaction.
    Three rounds: the store must reopen after each kill and keep every earlier write.
    """
    acknowledged: list[int] = []
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), "6000", str(len(acknowledged))],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(kill_after):
            acknowledged.append(int(proc.stdout.readline()))
        proc.send_signal(signal.SIGKILL)
        acknowledged += [int(line) for line in proc.stdout.read().split()]
        proc.stdout.close()
        assert proc.wait() == -signal.SIGKILL
        with EmbeddedStore.open(path) as store:
            stored = {s.chat_id for s in store.subscribers()}
        assert set(acknowledged) <= stored
        # The one write in flight at the kill may or may not be there, nothing else.
        assert stored <= set(range(len(acknowledged) + 1))
        acknowledged = sorted(stored)


def test_torn_final_journal_line_is_ignored_and_cut_off(path: Path) -> None:
    """A crash mid-append leaves an unfinished line: it is dropped, and later writes work."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        store.put_subscriber(subscriber(2))
    good = journal(path).read_bytes()
    with journal(path).open("ab") as f:
        f.write(b'["put","subscribers","3",{"chat_id":3,"chat_ty')
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id for s in store.subscribers()} == {1, 2}
        assert journal(path).read_bytes() == good
        store.put_subscriber(subscriber(4))
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id for s in store.subscribers()} == {1, 2, 4}


def test_complete_final_line_without_newline_is_not_acknowledged(path: Path) -> None:
    """A line is acknowledged only with its newline; without it, it is a torn write."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
    line = journal(path).read_bytes().splitlines()[-1]  # change 1, after the header
    assert line.startswith(b'[1,["put","subscribers","1",')
    complete_but_unfinished = b"[2," + line[3:].replace(b'"1"', b'"2"').replace(b":1,", b":2,")
    with journal(path).open("ab") as f:
        f.write(complete_but_unfinished)
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id for s in store.subscribers()} == {1}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b'{"format": "newsdigest-store", "sch', "not valid JSON", id="truncated"),
        pytest.param(b"\x00\x00\x00\x00", "not valid JSON", id="zeros"),
        pytest.param(b"\xff\xfe garbage", "not valid JSON", id="binary"),
        pytest.param(b"[1, 2, 3]", "JSON object", id="array"),
        pytest.param(b'{"subscribers": [1]}', "neither", id="not-tinydb"),
        pytest.param(b'{"format": "other-app"}', "not a newsdigest store", id="other-format"),
        pytest.param(
            b'{"format": "newsdigest-store", "schema": 99, "generation": 1, "tables": {}}',
            "newer newsdigest",
            id="future-schema",
        ),
        pytest.param(
            b'{"_store": {"1": {"format": "newsdigest-store", "schema": 99, "generation": 1}}}',
            "newer newsdigest",
            id="future-schema-tinydb-layout",
        ),
        pytest.param(b'{"_store": {}}', "holds no newsdigest header", id="store-table-empty"),
        pytest.param(
            b'{"format": "newsdigest-store", "schema": 5, "generation": 1, "tables": {}}',
            "says schema 5 but is laid out as 4",
            id="schema-5-old-layout",
        ),
        pytest.param(
            b'{"format": "newsdigest-store", "schema": 2, "generation": 1, "tables": {}}',
            "expected the tables",
            id="missing-tables",
        ),
        pytest.param(
            b'{"format": "newsdigest-store", "schema": 2, "generation": 1, "tables": {'
            b'"subscribers": {"5": {"chat_id": 6}}, "articles": {}, "deliveries": {}, '
            b'"feeds": {}, "counters": {}}}',
            "chat_id 6",
            id="mismatched-key",
        ),
        pytest.param(
            b'{"subscribers": {"1": {"topics": []}}}', "has no 'chat_id'", id="bad-v1-document"
        ),
    ],
)
def test_damaged_data_file_is_refused_and_left_unchanged(
    path: Path, content: bytes, problem: str
) -> None:
    """A damaged data file stops the bot with a message naming it; no file is touched."""
    path.parent.mkdir()
    path.write_bytes(content)
    (path.parent / f"{path.name}.journal.1").write_bytes(b"")
    before = folder_state(path.parent)
    with pytest.raises(StoreCorruptError, match=problem) as caught:
        EmbeddedStore.open(path)
    assert str(path) in str(caught.value)
    assert caught.value.path == path
    assert folder_state(path.parent) == before


def test_data_file_that_is_a_folder_is_refused(path: Path) -> None:
    """A folder given as the data file is named as such, with a file path to use instead,
    not with the advice for a damaged file; nothing is created next to it."""
    path.mkdir(parents=True)
    with pytest.raises(StorePathError) as caught:
        EmbeddedStore.open(path)
    assert str(caught.value) == (
        f"{path} is a folder, not a data file: give the path of a file, such as "
        f"{path / 'newsdigest.json'}"
    )
    assert path.is_dir()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_damaged_middle_journal_line_is_refused(path: Path) -> None:
    """A bad line before the end is damage, not a crash: refuse and name the line."""
    with EmbeddedStore.open(path) as store:
        for chat_id in range(3):
            store.put_subscriber(subscriber(chat_id))
    lines = journal(path).read_bytes().split(b"\n")
    lines[1] = lines[1][:60]  # as if cut short, with more lines after it
    journal(path).write_bytes(b"\n".join(lines))
    before = folder_state(path.parent)
    with pytest.raises(StoreCorruptError, match="line 2 of 4 is damaged") as caught:
        EmbeddedStore.open(path)
    assert caught.value.path == journal(path)
    assert str(journal(path)) in str(caught.value)
    assert folder_state(path.parent) == before


def test_missing_journal_is_refused(path: Path) -> None:
    """Without its journal the snapshot is out of date: refuse rather than lose changes."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
    journal(path).unlink()
    with pytest.raises(StoreCorruptError, match=r"journal\.1 is missing"):
        EmbeddedStore.open(path)


def test_files_are_private(path: Path) -> None:
    """Data, journal and lock files are mode 0600 even with a permissive umask."""
    old_umask = os.umask(0)
    try:
        with EmbeddedStore.open(path) as store:
            store.put_subscriber(subscriber(1))
            store.compact()
            store.put_subscriber(subscriber(2))
    finally:
        os.umask(old_umask)
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == [
        "newsdigest.json",
        "newsdigest.json.journal.2",
        "newsdigest.json.lock",
    ]
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_plain_tinydb_file_is_migrated(path: Path) -> None:
    """A schema 1 file (written by plain TinyDB) opens with all its data; the original is kept."""
    path.parent.mkdir()
    db = TinyDB(path)
    db.table("subscribers").insert_multiple([subscriber(1).to_dict(), subscriber(2).to_dict()])
    db.table("articles").insert(article(1).to_dict())
    db.table("deliveries").insert_multiple(
        Delivery(chat_id=1, article_id=a, sent=T0 + timedelta(hours=h)).to_dict()
        for a, h in (("a0002", 2), ("a0001", 1))
    )
    db.table("feeds").insert(FeedState(url="https://news.example/rss", failures=2).to_dict())
    db.close()
    original = path.read_bytes()

    with EmbeddedStore.open(path, max_deliveries_per_chat=1) as store:
        assert store.get_subscriber(2) == subscriber(2)
        assert store.article_by_url("https://news.example/1") == article(1)
        assert store.delivered_ids(1) == {"a0001", "a0002"}
        assert [d.article_id for d in store.deliveries(1)] == ["a0001", "a0002"]
        assert store.get_feed_state("https://news.example/rss") == FeedState(
            url="https://news.example/rss", failures=2
        )
        store.put_subscriber(subscriber(3))

    header = header_of(path)
    assert (header["format"], header["schema"]) == ("newsdigest-store", SCHEMA)
    (backup,) = path.parent.glob("newsdigest.json.schema1-*.bak")
    assert backup.read_bytes() == original
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 3


def test_second_opener_is_refused(path: Path) -> None:
    """Another process opening the same store gets a clear error; it works once closed."""
    probe = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from bot.store import EmbeddedStore, Store, StoreLockedError
        try:
            EmbeddedStore.open(Path(sys.argv[1]))
        except StoreLockedError as exc:
            print(exc)
        """
    )
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        out = subprocess.run(
            [sys.executable, "-c", probe, str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"{path} is already open" in out
        assert f"process {os.getpid()}" in out
        with pytest.raises(StoreLockedError):
            EmbeddedStore.open(path)
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(1) == subscriber(1)


def test_closed_store_refuses_use(path: Path) -> None:
    """Using a closed store is an error, not a silent no-op."""
    store = EmbeddedStore.open(path)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_subscriber(1)
    with pytest.raises(StoreError, match="closed"):
        store.put_subscriber(subscriber(1))


# -- write failures --------------------------------------------------------------------------


def test_failed_write_raises_and_loses_nothing(path: Path) -> None:
    """A write the disk refuses raises StoreWriteError; memory and disk keep the old state.

    The kernel accepts part of the line before refusing, like a disk filling up mid-write:
    that partial line must not turn into damage once writes work again.
    """
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        size = journal(path).stat().st_size
        with file_size_limit(size + 50), pytest.raises(StoreWriteError, match="too large"):
            store.update_subscriber(1, status=PAUSED)
        assert store.get_subscriber(1) == subscriber(1)
        assert journal(path).stat().st_size == size
        store.put_subscriber(subscriber(2))
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(1) == subscriber(1)
        assert store.get_subscriber(2) == subscriber(2)


def test_failed_batch_is_undone_in_memory(path: Path) -> None:
    """If a batch cannot be stored, none of its writes remain visible."""

    def replace_one_by_two(store: Store) -> None:
        with store.batch():
            store.put_subscriber(subscriber(2))
            store.delete_subscriber(1)
            assert store.get_subscriber(2) is not None  # visible inside the batch

    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        size = journal(path).stat().st_size
        with file_size_limit(size + 10), pytest.raises(StoreWriteError):
            replace_one_by_two(store)
        assert store.get_subscriber(2) is None
        assert store.get_subscriber(1) == subscriber(1)
        store.put_subscriber(subscriber(3))
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id for s in store.subscribers()} == {1, 3}


def test_failed_compaction_keeps_the_journal(path: Path) -> None:
    """A snapshot that cannot be written leaves no debris; the store keeps working."""
    with EmbeddedStore.open(path) as store:
        for chat_id in range(10):
            store.put_subscriber(subscriber(chat_id))
        before = folder_state(path.parent)
        with file_size_limit(100), pytest.raises(StoreWriteError, match="snapshot"):
            store.compact()
        assert folder_state(path.parent) == before
        store.put_subscriber(subscriber(10))
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 11


def test_automatic_compaction_failure_does_not_fail_the_write(
    tmp_path: Path, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The write that triggers a failing compaction is stored, and compaction is retried."""
    with EmbeddedStore.open(tmp_path / "measure" / "newsdigest.json") as other:
        other.put_subscriber(subscriber(1))
        line = journal(other.path).stat().st_size
    with EmbeddedStore.open(path, compact_min_bytes=1) as store:
        assert journal(path).name.endswith(".1")
        with file_size_limit(line + 1):  # the journal line fits, a snapshot holding it does not
            store.put_subscriber(subscriber(1))
        assert "compaction failed" in caplog.text
        assert journal(path).name.endswith(".1")
        assert store.get_subscriber(1) == subscriber(1)
        store.put_subscriber(subscriber(2))
        assert journal(path).name.endswith(".2")
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 2


def test_read_only_folder_refuses_compaction_but_keeps_data(path: Path) -> None:
    """In a folder that became read-only, compaction fails clearly and nothing is lost."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        path.parent.chmod(0o500)
        try:
            if os.access(path.parent, os.W_OK):
                pytest.skip("permissions are not enforced for this user (root)")
            with pytest.raises(StoreWriteError, match="permission denied"):
                store.compact()
            store.put_subscriber(subscriber(2))  # the journal is already open
        finally:
            path.parent.chmod(0o700)
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 2


def test_unwritable_location_is_reported(tmp_path: Path) -> None:
    """A data file whose folder cannot be created gives a StoreWriteError naming it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StoreWriteError, match="not-a-folder"):
        EmbeddedStore.open(blocker / "newsdigest.json")


# -- batches and compaction ------------------------------------------------------------------


def test_batch_writes_one_journal_line(path: Path) -> None:
    """A batch is one line: after a crash all of it is there or none of it."""
    with EmbeddedStore.open(path) as store:
        size = journal(path).stat().st_size
        with store.batch():
            for n in range(20):
                store.put_article(article(n))
            with store.batch():  # nested batches join the outer one
                store.put_subscriber(subscriber(1))
            assert store.count_articles() == 20
        assert journal(path).read_bytes()[size:].count(b"\n") == 1
    with EmbeddedStore.open(path) as store:
        assert store.count_articles() == 20
        assert store.get_subscriber(1) == subscriber(1)


def test_batch_keeps_writes_made_before_an_exception(path: Path) -> None:
    """A batch changes when writes reach the disk, not which writes happen."""

    def ingest(store: Store) -> None:
        with store.batch():
            store.put_article(article(1))
            raise RuntimeError("feed parsing failed")

    with EmbeddedStore.open(path) as store, pytest.raises(RuntimeError):
        ingest(store)
    with EmbeddedStore.open(path) as store:
        assert store.get_article("a0001") == article(1)


def test_compaction_keeps_everything(path: Path) -> None:
    """After compaction every kind of record is still there and the journal is empty."""
    with EmbeddedStore.open(path, max_deliveries_per_chat=3) as store:
        for n in range(5):
            store.put_subscriber(subscriber(n))
            store.put_article(article(n))
            store.record_delivery(n, [f"a{n:04d}"], T0)
        store.record_delivery(0, ["x", "y", "z"], T0 + timedelta(days=1))
        store.put_feed_state(FeedState(url="https://f.example", etag="e"))
        store.increment("digests_sent", date(2025, 3, 1), by=3)
        store.delete_subscriber(4)
        store.compact()
        # Only its header: the snapshot holds all 19 changes.
        assert journal(path).read_bytes().splitlines() == [b'["journal",2,19]']
    with EmbeddedStore.open(path, max_deliveries_per_chat=3) as store:
        assert [s.chat_id for s in store.subscribers()] == [0, 1, 2, 3]
        assert store.get_subscriber(3) == subscriber(3)
        assert store.count_articles() == 5
        assert store.get_article("a0004") == article(4)
        assert store.delivered_ids(0) == {"x", "y", "z"}
        assert store.delivered_ids(4) == set()
        assert store.get_feed_state("https://f.example") == FeedState("https://f.example", "e")
        assert store.counters(date(2025, 3, 1)) == {"digests_sent": 3}


def test_automatic_compaction_bounds_the_journal(path: Path) -> None:
    """Compaction runs by itself once the journal outgrows the snapshot."""
    with EmbeddedStore.open(path, compact_min_bytes=2000) as store:
        for round_ in range(20):
            for chat_id in range(5):
                store.put_subscriber(subscriber(chat_id, thread_id=round_))
        assert journal(path).stat().st_size <= max(2000, path.stat().st_size) + 1000
    assert journal(path).name != "newsdigest.json.journal.1"
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(4) == subscriber(4, thread_id=19)


@pytest.fixture
def generations(tmp_path: Path) -> dict[str, bytes]:
    """The files of one store before (gen 1) and after (gen 2) a compaction."""
    path = tmp_path / "gen" / "newsdigest.json"
    with EmbeddedStore.open(path) as store:
        for chat_id in range(3):
            store.put_subscriber(subscriber(chat_id))
    files = {"snapshot1": path.read_bytes(), "journal1": journal(path).read_bytes()}
    with EmbeddedStore.open(path) as store:
        store.compact()
    files["snapshot2"] = path.read_bytes()
    files["journal2"] = journal(path).read_bytes()
    assert files["journal2"] == b'["journal",2,3]\n'  # only its header: no changes
    return files


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(
            {"newsdigest.json": "snapshot1", "journal.1": "journal1", "tmp": "snapshot2[:30]"},
            id="crash-while-writing-the-new-snapshot",
        ),
        pytest.param(
            {"newsdigest.json": "snapshot1", "journal.1": "journal1", "journal.2": ""},
            id="crash-before-writing-the-new-journal-header",
        ),
        pytest.param(
            {
                "newsdigest.json": "snapshot1",
                "journal.1": "journal1",
                "journal.2": "journal2",
                "tmp": "snapshot2",
            },
            id="crash-before-the-rename",
        ),
        pytest.param(
            {"newsdigest.json": "snapshot2", "journal.1": "journal1", "journal.2": "journal2"},
            id="crash-before-deleting-the-old-journal",
        ),
    ],
)
def test_a_crash_at_any_compaction_step_leaves_a_loadable_store(
    path: Path, generations: dict[str, bytes], layout: dict[str, str]
) -> None:
    """Whatever step compaction died at, the store opens with all data and tidies up."""
    path.parent.mkdir()
    for name, source in layout.items():
        content = generations[source.removesuffix("[:30]")] if source else b""
        if source.endswith("[:30]"):
            content = content[:30]
        target = path if name == path.name else path.parent / f"{path.name}.{name}"
        target.write_bytes(content)
    with EmbeddedStore.open(path) as store:
        assert [s.chat_id for s in store.subscribers()] == [0, 1, 2]
        store.put_subscriber(subscriber(3))
    assert len(journals(path)) == 1
    assert not (path.parent / f"{path.name}.tmp").exists()
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 4


def test_newer_journal_with_changes_is_refused(path: Path, generations: dict[str, bytes]) -> None:
    """A data file older than its journals (restored from a copy?) is not silently used."""
    path.parent.mkdir()
    path.write_bytes(generations["snapshot1"])
    (path.parent / f"{path.name}.journal.1").write_bytes(generations["journal1"])
    newer = path.parent / f"{path.name}.journal.2"
    newer.write_bytes(generations["journal1"])
    with pytest.raises(StoreCorruptError, match="newer than the data file") as caught:
        EmbeddedStore.open(path)
    assert caught.value.path == newer


def test_journal_without_data_file_is_refused(path: Path, generations: dict[str, bytes]) -> None:
    """Changes with no data file are not thrown away by creating a new empty store."""
    path.parent.mkdir()
    (path.parent / f"{path.name}.journal.1").write_bytes(generations["journal1"])
    with pytest.raises(StoreCorruptError, match=r"data file .* is missing"):
        EmbeddedStore.open(path)
    assert not path.exists()


def test_every_public_method_is_documented() -> None:
    """The store's API is readable from its docstrings alone."""
    public = [name for name in dir(Store) if not name.startswith("_")]
    assert "record_delivery" in public
    for name in public:
        assert getattr(Store, name).__doc__, name


# -- records that parse as JSON but break the schema -------------------------------------------

ADVICE = (
    ". The file was left unchanged: restore it from a backup, or move it away to start with "
    "an empty store."
)
FEED_URL = "https://f.example/rss"


def _records(store: Store) -> None:
    """One record of each kind, chat 12345 and article a0001 among them."""
    store.put_subscriber(subscriber(12345))
    store.put_article(article(1))
    store.put_feed_state(FeedState(url=FEED_URL, failures=1))
    store.record_delivery(12345, ["a0001"], T0)
    store.increment("digests_sent", date(2025, 3, 1))
    store.put_channel(Channel(chat_id=-100777, title="Harbour News", managers=(12345,), linked=T0))
    store.select_chat(12345, -100777)


BROKEN_RECORDS = [
    pytest.param(
        "subscribers",
        "12345",
        "times",
        ["99:99"],
        "subscriber 12345: times[0] '99:99' is not a 24-hour time",
        id="times",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "times",
        ["07:30", "7.30"],
        "subscriber 12345: times[1] '7.30' is not a 24-hour time",
        id="times-unpadded",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "created",
        "yesterday",
        "subscriber 12345: created 'yesterday' is not a date and time",
        id="created",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "last_slot",
        1740816000,
        "subscriber 12345: last_slot 1740816000 is not a date and time",
        id="last-slot",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "timezone",
        "Mars/Olympus",
        "subscriber 12345: timezone 'Mars/Olympus' is not a time zone",
        id="zone",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "timezone",
        "Europe",
        "subscriber 12345: timezone 'Europe' is not a time zone",
        id="zone-folder",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "status",
        "gone",
        "subscriber 12345: status 'gone' is not one of active, paused, blocked",
        id="status",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "topics",
        "world",
        "subscriber 12345: topics 'world' is not a list",
        id="topics-not-a-list",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "follow",
        ["ok", 7],
        "subscriber 12345: follow[1] 7 is not text",
        id="follow-item",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "thread_id",
        "7",
        "subscriber 12345: thread_id '7' is not a whole number",
        id="thread-id",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "skip_empty",
        "yes",
        "subscriber 12345: skip_empty 'yes' is not true or false",
        id="skip-empty",
    ),
    pytest.param(
        "subscribers",
        "12345",
        "pending_sent",
        -1,
        "subscriber 12345: pending_sent -1 is negative",
        id="pending-sent",
    ),
    pytest.param(
        "articles",
        "a0001",
        "fetched",
        None,
        "article 'a0001': fetched None is not a date and time",
        id="article-fetched",
    ),
    pytest.param(
        "articles",
        "a0001",
        "published",
        "soon",
        "article 'a0001': published 'soon' is not a date and time",
        id="article-published",
    ),
    pytest.param(
        "articles",
        "a0001",
        "summary",
        ["One.", 2],
        "article 'a0001': summary[1] 2 is not text",
        id="article-summary",
    ),
    pytest.param(
        "articles",
        "a0001",
        "title",
        None,
        "article 'a0001': title None is not text",
        id="article-title",
    ),
    pytest.param(
        "feeds",
        FEED_URL,
        "failures",
        -2,
        f"feed {FEED_URL!r}: failures -2 is negative",
        id="feed-failures",
    ),
    pytest.param(
        "feeds",
        FEED_URL,
        "next_attempt",
        "later",
        f"feed {FEED_URL!r}: next_attempt 'later' is not a date and time",
        id="feed-next-attempt",
    ),
    pytest.param(
        "deliveries",
        "12345",
        "a0001",
        "yesterday",
        "delivery ledger of chat 12345: sent time of 'a0001' 'yesterday' is not a UTC "
        "time like 2026-01-31T08:00:00+00:00",
        id="delivery-sent",
    ),
    pytest.param(
        "counters",
        "2025-03-01",
        "digests_sent",
        "3",
        "counters of 2025-03-01: 'digests_sent' '3' is not a whole number",
        id="counter",
    ),
    pytest.param(
        "channels",
        "-100777",
        "managers",
        [12345, "12345"],
        "channel -100777: managers[1] '12345' is not a whole number",
        id="channel-managers",
    ),
    pytest.param(
        "channels",
        "-100777",
        "title",
        None,
        "channel -100777: title None is not text",
        id="channel-title",
    ),
    pytest.param(
        "selections",
        "12345",
        "chat_id",
        "-100777",
        "selected chat of user 12345: chat_id '-100777' is not a whole number",
        id="selection-chat",
    ),
]


def _edit_record_line(path: Path, table: str, key: str, name: str, value: object) -> None:
    """Change one field of one record in a snapshot as the store lays it out (a record a
    line), leaving every other byte as it was."""
    lines = path.read_bytes().splitlines(keepends=True)
    current = None
    for number, line in enumerate(lines[1:], start=1):  # the header line first
        body = line[1:] if line.startswith(b",") else line
        if body.endswith(b":{\n"):
            current = json.loads(body[:-3])
        elif current == table and body.startswith(json.dumps(key).encode() + b":"):
            doc = json.loads(b"{" + body + b"}")[key]
            doc[name] = value
            edited = json.dumps(key) + ":" + json.dumps(doc, separators=(",", ":"))
            lines[number] = line[: len(line) - len(body)] + edited.encode() + b"\n"
            path.write_bytes(b"".join(lines))
            return
    raise AssertionError(f"no line for {table}[{key!r}]")


@pytest.mark.parametrize("layout", ["a record a line", "one line"])
@pytest.mark.parametrize(("table", "key", "name", "value", "problem"), BROKEN_RECORDS)
def test_a_broken_record_in_the_snapshot_is_refused_by_name(
    path: Path, table: str, key: str, name: str, value: object, problem: str, layout: str
) -> None:
    """A snapshot record that is valid JSON but not a valid record (a bad time, zone,
    date, status, type...) stops the open with one line naming the file, the record and
    the field, instead of a traceback later from the scheduler; no file is touched. The
    same whether the snapshot is laid out a record a line, as the store writes it (and
    reads it a record at a time), or on one line (an older writer, or edited by hand)."""
    with EmbeddedStore.open(path) as store:
        _records(store)
        store.compact()
    if layout == "one line":
        data = json.loads(path.read_bytes())
        data[table][key][name] = value
        path.write_text(json.dumps(data))
    else:
        _edit_record_line(path, table, key, name, value)
    before = folder_state(path.parent)
    with pytest.raises(StoreCorruptError) as caught:
        EmbeddedStore.open(path)
    assert str(caught.value) == f"{path}: {problem}{ADVICE}"
    assert folder_state(path.parent) == before


@pytest.mark.parametrize(("table", "key", "name", "value", "problem"), BROKEN_RECORDS)
def test_a_broken_record_in_the_journal_is_refused_by_name(
    path: Path, table: str, key: str, name: str, value: object, problem: str
) -> None:
    """The same records are checked when they come from the journal: the error names the
    journal, the line, the record and the field."""
    with EmbeddedStore.open(path) as store:
        _records(store)
    lines = journal(path).read_bytes().splitlines()
    for number, line in enumerate(lines[1:], start=2):
        change, record = json.loads(line)
        if record[0] == "put" and record[1:3] == [table, key]:
            record[3][name] = value
            lines[number - 1] = json.dumps([change, record]).encode()
            break
        if record[0] == "deliver" and table == "deliveries":
            record[2] = value
            problem = (  # the ledger's time travels as the delivery record's
                f"delivery to chat 12345: sent time {value!r} is not a UTC time like "
                "2026-01-31T08:00:00+00:00"
            )
            lines[number - 1] = json.dumps([change, record]).encode()
            break
    else:
        pytest.fail(f"no journal line holds {table} {key}")
    journal(path).write_bytes(b"\n".join(lines) + b"\n")
    before = folder_state(path.parent)
    with pytest.raises(StoreCorruptError) as caught:
        EmbeddedStore.open(path)
    assert str(caught.value) == f"{journal(path)}: line {number} of {len(lines)}: {problem}{ADVICE}"
    assert "\n" not in str(caught.value)
    assert folder_state(path.parent) == before


# -- a journal cut at a line boundary ----------------------------------------------------------


def _six_subscribers(path: Path) -> list[bytes]:
    """A store with 6 subscribers, each in its own journal line; the journal's lines."""
    with EmbeddedStore.open(path) as store:
        for chat_id in range(1, 7):
            store.put_subscriber(subscriber(chat_id))
    lines = journal(path).read_bytes().splitlines(keepends=True)
    assert len(lines) == 7  # the header and 6 changes
    return lines


def test_a_journal_truncated_to_zero_bytes_is_refused(path: Path) -> None:
    """The issue's case: a journal emptied while the bot was stopped used to open with 0 of
    6 subscribers and no warning. It is refused, with the lock file (the mark) and without
    it (the missing header alone gives it away), and every refusal leaves the evidence:
    opening again refuses again."""
    _six_subscribers(path)
    journal(path).write_bytes(b"")
    for _ in range(2):
        with pytest.raises(StoreCorruptError, match="it has no header line") as caught:
            EmbeddedStore.open(path)
        assert caught.value.path == journal(path)
    (path.parent / f"{path.name}.lock").unlink()
    with pytest.raises(StoreCorruptError, match="truncated to 0 bytes"):
        EmbeddedStore.open(path)


def test_a_journal_cut_to_an_earlier_line_is_refused(path: Path) -> None:
    """A journal cut back to an earlier line boundary is valid line by line, but ends before
    the last change the lock file's mark records: refused, naming both numbers."""
    lines = _six_subscribers(path)
    journal(path).write_bytes(b"".join(lines[:5]))  # the header and changes 1 to 4
    before = folder_state(path.parent)
    for _ in range(2):
        with pytest.raises(StoreCorruptError) as caught:
            EmbeddedStore.open(path)
        assert caught.value.problem.startswith(
            "it was cut short: it ends at change 4, but changes up to 6 were written "
            f"({path.name}.lock records them; if you restored these files from a backup on "
            f"purpose, delete {path.name}.lock with newsdigest stopped, then start again)"
        )
        assert folder_state(path.parent) == before


def test_a_journal_missing_a_middle_line_is_refused(path: Path) -> None:
    """A line removed from the middle leaves a gap in the change numbers."""
    lines = _six_subscribers(path)
    del lines[3]  # change 3
    journal(path).write_bytes(b"".join(lines))
    gap = "line 4 of 6: it holds change 4 where change 3 comes next"
    with pytest.raises(StoreCorruptError, match=gap):
        EmbeddedStore.open(path)


def test_a_journal_from_another_generation_is_refused(path: Path) -> None:
    """A journal whose header names another snapshot (files of two copies mixed) is refused."""
    lines = _six_subscribers(path)
    journal(path).write_bytes(b'["journal",1,3]\n' + b"".join(lines[1:]))
    with pytest.raises(StoreCorruptError, match=r"line 1 is not the header of this journal"):
        EmbeddedStore.open(path)


def test_an_older_snapshot_with_its_own_journal_is_refused(
    path: Path, generations: dict[str, bytes]
) -> None:
    """A store whose lock file marks generation 2 refuses a consistent pair of generation 1
    files (an older copy put in place), until the lock file is deleted on purpose."""
    with EmbeddedStore.open(path) as store:
        store.compact()
        store.compact()  # generation 3
    path.write_bytes(generations["snapshot1"])
    journal(path).unlink()
    (path.parent / f"{path.name}.journal.1").write_bytes(generations["journal1"])
    with pytest.raises(StoreCorruptError, match="older than the store's last write"):
        EmbeddedStore.open(path)
    (path.parent / f"{path.name}.lock").unlink()
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 3


def test_the_mark_never_runs_ahead_of_a_failed_write(path: Path) -> None:
    """A write the disk refuses does not count: the next open finds the journal and the
    mark agreeing, and the change number is used by the next write that works."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
        size = journal(path).stat().st_size
        with file_size_limit(size + 50), pytest.raises(StoreWriteError):
            store.put_subscriber(subscriber(2))
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 1
        store.put_subscriber(subscriber(3))
    assert [json.loads(line)[0] for line in journal(path).read_bytes().splitlines()[1:]] == [1, 2]
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id for s in store.subscribers()} == {1, 3}


# -- folders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_missing_folders_are_created_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """Every folder the store creates on the way to its data file is mode 0700, whatever
    the umask (0o277 would even take the owner's own write bit); a folder that already
    existed keeps its mode."""
    existing = tmp_path / "srv"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    path = existing / "a" / "b" / "c" / "newsdigest.json"
    old = os.umask(umask)
    try:
        with EmbeddedStore.open(path) as store:
            store.put_subscriber(subscriber(1))
    finally:
        os.umask(old)
    for folder in (existing / "a", existing / "a" / "b", path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755


# -- upgrading ---------------------------------------------------------------------------------

SCHEMA2 = Path(__file__).parent / "data" / "schema2"


def test_a_store_written_by_the_previous_version_opens_and_is_migrated(path: Path) -> None:
    """Files written by the previous version (schema 2: no journal header, change numbers
    or mark) open with every record, the journal's changes included, and an old-style zone
    that version's configuration allowed; they are rewritten as schema 3 and both original
    files are kept byte for byte as .bak files."""
    path.parent.mkdir()
    originals = {p.name: p.read_bytes() for p in SCHEMA2.glob("newsdigest.json*")}
    for name, content in originals.items():
        (path.parent / name).write_bytes(content)
    with EmbeddedStore.open(path) as store:
        assert {s.chat_id: s.timezone for s in store.subscribers()} == {
            1000: "Europe/Berlin",
            1001: "EST5EDT",
            1002: "UTC",
            -1001234: "Asia/Tokyo",
        }
        assert store.get_subscriber(1002).status == PAUSED  # type: ignore[union-attr]  # the test created this subscriber
        assert store.count_articles() == 4
        assert store.delivered_ids(-1001234) == {"art9"}
        assert store.delivered_ids(1000) == {"art0", "art1"}
        assert store.counters(date(2026, 11, 2)) == {"digests_sent": 3}
        store.put_subscriber(subscriber(5))
    header = header_of(path)
    assert (header["schema"], header["generation"], header["seq"]) == (SCHEMA, 3, 0)
    (snapshot_bak,) = path.parent.glob("newsdigest.json.schema2-*.bak")
    (journal_bak,) = path.parent.glob("newsdigest.json.schema2-*.bak.journal.2")
    assert snapshot_bak.read_bytes() == originals["newsdigest.json"]
    assert journal_bak.read_bytes() == originals["newsdigest.json.journal.2"]
    with EmbeddedStore.open(path) as store:
        assert store.count_subscribers() == 5


# -- backups -----------------------------------------------------------------------------------


def _copy_store_files(folder: Path, to: Path) -> None:
    """Restore as the README says: the data file and its journal, into a new place."""
    to.mkdir(parents=True)
    for file in folder.glob("newsdigest.json*"):
        if not file.name.endswith(".lock"):
            shutil.copy2(file, to / file.name)


def test_backup_of_an_open_store_restores_every_record(tmp_path: Path, path: Path) -> None:
    """backup() copies a store that is open (locked) and being written, a torn write at the
    end of its journal included: restored elsewhere, the copy holds every acknowledged
    record and not the torn one, and the original files are untouched."""
    with EmbeddedStore.open(path, compact_min_bytes=1) as store:
        for chat_id in range(40):  # compacts now and then: snapshot and journal both matter
            store.put_subscriber(subscriber(chat_id, thread_id=chat_id))
        store.put_article(article(1))
        store.record_delivery(7, ["a0001"], T0)
        store.delete_subscriber(3)
        with journal(path).open("ab") as f:
            f.write(b'[99,["put","subscribers","777",{"chat_id":7')
        before = folder_state(path.parent)
        result = backup(path, tmp_path / "backup")
        assert folder_state(path.parent) == before
        expected = sorted(store.subscribers(), key=lambda s: s.chat_id)
    assert result.subscribers == 39
    assert result.articles == 1
    assert [p.parent for p in result.files] == [tmp_path / "backup"] * 2
    restored = tmp_path / "restored"
    _copy_store_files(tmp_path / "backup", restored)
    with EmbeddedStore.open(restored / "newsdigest.json") as copy:
        assert sorted(copy.subscribers(), key=lambda s: s.chat_id) == expected
        assert copy.delivered_ids(7) == {"a0001"}
        assert copy.get_article("a0001") == article(1)


def test_backup_refuses_to_overwrite_and_to_copy_damage(tmp_path: Path, path: Path) -> None:
    """A backup never replaces another store, and a damaged store is refused by name, with
    nothing left behind in the backup folder."""
    with EmbeddedStore.open(path) as store:
        store.put_subscriber(subscriber(1))
    (tmp_path / "b1").mkdir()  # an empty folder is as good as a new one
    backup(path, tmp_path / "b1")
    with pytest.raises(StoreError, match="already holds a store"):
        backup(path, tmp_path / "b1")
    lines = journal(path).read_bytes().splitlines(keepends=True)
    journal(path).write_bytes(lines[0])  # cut back to the header
    with pytest.raises(StoreCorruptError, match="cut short"):
        backup(path, tmp_path / "b2")
    assert not (tmp_path / "b2").exists() or not list((tmp_path / "b2").iterdir())
    with pytest.raises(StoreError, match="there is no store"):
        backup(tmp_path / "nothing" / "newsdigest.json", tmp_path / "b3")
    # A new or empty folder only: restoring is copying all of it.
    (tmp_path / "b4").mkdir()
    (tmp_path / "b4" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="b4 is not empty: back up into a new or empty"):
        backup(path, tmp_path / "b4")
    assert [p.name for p in (tmp_path / "b4").iterdir()] == ["notes.txt"]
    with pytest.raises(StorePathError, match=r"notes\.txt is a file"):
        backup(path, tmp_path / "b4" / "notes.txt")
    # Found by a stranger: "/dev/null is a file".
    with pytest.raises(StorePathError, match=r"^/dev/null is not a folder: back up into"):
        backup(path, Path("/dev/null"))


BACKUP_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.models import Subscriber
    from bot.store import EmbeddedStore, Store

    store = EmbeddedStore.open(Path(sys.argv[1]))
    for chat_id in range(100_000):
        store.put_subscriber(Subscriber(chat_id=chat_id, topics=("world",) * 10))
        print(chat_id, flush=True)  # only after put_subscriber returned
        if chat_id % 2:
            store.compact()
    """
)


def test_backup_while_another_process_writes_and_compacts(tmp_path: Path, path: Path) -> None:
    """Another process adds subscribers 0, 1, 2... and compacts after every other write, while
    backups are taken one after another. Each backup opens, and holds exactly subscribers 0
    to k-1 for some k no smaller than the count acknowledged before it started: a
    consistent point in time, never a mix of two compactions."""
    writer = subprocess.Popen(
        [sys.executable, "-c", BACKUP_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    try:
        acknowledged = -1
        for n in range(8):
            for _ in range(25):
                acknowledged = int(writer.stdout.readline())
            result = backup(path, tmp_path / f"b{n}")
            with EmbeddedStore.open(result.files[0]) as copy:
                chats = {s.chat_id for s in copy.subscribers()}
            assert chats == set(range(len(chats)))
            assert len(chats) > acknowledged
            assert result.seq == len(chats)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()


def test_the_snapshot_is_one_json_object_with_a_record_a_line(path: Path) -> None:
    """The snapshot is one JSON object (any JSON reader opens it), laid out with its header
    on the first line and each record on a line of its own, which is what lets the store
    read it a record at a time; a snapshot on one line (edited by hand) opens the same and
    is written a record a line at its next compaction."""
    with EmbeddedStore.open(path) as store:
        _records(store)
        store.compact()
        expected = sorted(store.dump())
    raw = path.read_bytes()
    data = json.loads(raw)
    header = data.pop("_store")["1"]
    lines = raw.splitlines()
    assert json.loads(lines[0] + b"}")["_store"]["1"] == header
    records = sum(len(table) for table in data.values())
    assert len(lines) == 1 + 2 * len(data) + records + 1
    path.write_text(json.dumps({"_store": {"1": header}, **data}))
    with EmbeddedStore.open(path) as store:
        assert sorted(store.dump()) == expected
        store.compact()
    again = path.read_bytes().splitlines()  # the next generation, laid out the same
    assert json.loads(again[0] + b"}")["_store"]["1"]["generation"] == header["generation"] + 1
    assert again[1:] == lines[1:]


@pytest.mark.parametrize("cut", [0.3, 0.999])
def test_a_snapshot_cut_short_between_records_is_refused(path: Path, cut: float) -> None:
    """A snapshot missing its end (cut at a line boundary, so every line read is a whole
    record) is refused as invalid JSON, not opened with the records it still has."""
    with EmbeddedStore.open(path) as store:
        _records(store)
        store.compact()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: max(2, int(len(lines) * cut))]))
    with pytest.raises(StoreCorruptError, match="it is not valid JSON"):
        EmbeddedStore.open(path)


def test_tinydb_reads_the_snapshot(path: Path) -> None:
    """The snapshot is a TinyDB database: ``TinyDB(path)`` opens it and reads the records
    by key (a chat id is TinyDB's integer document id), the header is document 1 of the
    table ``_store``, and the store still opens the file afterwards."""
    with EmbeddedStore.open(path) as store:
        _records(store)
        store.put_subscriber(subscriber(-1001234))
        store.compact()
        expected = {s.chat_id: s.to_dict() for s in store.subscribers()}
        an_article = next(iter(store.articles_since(T0 - timedelta(days=3650))))
    db = TinyDB(path, access_mode="r")
    try:
        assert db.tables() >= {"_store", "subscribers", "articles", "deliveries"}
        assert db.table("_store").get(doc_id=1)["schema"] == SCHEMA  # type: ignore[index]  # the header is there
        subscribers = db.table("subscribers")
        assert {doc.doc_id: dict(doc) for doc in subscribers.all()} == expected
        assert subscribers.get(doc_id=-1001234) == subscriber(-1001234).to_dict()
        articles = db.table("articles")
        # Articles are keyed by their id (text): TinyDB reads them by that key.
        assert articles.get(doc_id=an_article.id) == an_article.to_dict()  # type: ignore[call-overload]  # TinyDB types ids as int
    finally:
        db.close()
    with EmbeddedStore.open(path) as store:
        assert store.get_subscriber(-1001234) == subscriber(-1001234)
