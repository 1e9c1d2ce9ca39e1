"""Ingest into a real store and compose digests: seeds, feeds from loopback, filters, dedup."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Feed, Settings, load_settings
from bot.digest import builder as builder_module
from bot.digest.builder import DigestBuilder
from bot.digest.render import render_digest_html
from bot.ingest.ingester import Ingester
from bot.memory import BoundedCache
from bot.models import StoredArticle, Subscriber
from bot.paths import BUNDLED_CONFIG
from bot.services.subscriptions import Subscriptions
from bot.store import EmbeddedStore, Store
from tests.feedserver import FeedServer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Wire</title>
<link>http://127.0.0.1/</link><description>test</description>
<item><title>Ministers agree &lt;b&gt;new&lt;/b&gt; climate treaty &amp; funding</title>
<link>{base}/story-1?utm_source=rss</link><pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate>
<description>Government ministers from forty countries agreed a new climate treaty on
Wednesday after two weeks of talks. The treaty sets binding targets for 2035. Funding for
poorer countries doubles. Scientists welcomed the deal but said it came late.</description></item>
</channel></rss>"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shipped configuration with its data file in tmp_path and no feeds."""
    base = load_settings(BUNDLED_CONFIG, {})
    return replace(base, data_file=tmp_path / "nd.json", feeds=())


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with EmbeddedStore.open(settings.data_file) as opened:
        yield opened


async def _ingest(settings: Settings, store: Store) -> None:
    await Ingester(settings, store, clock=lambda: NOW).run(feeds=True)


async def test_seeds_are_ingested_once_with_summaries_and_topics(
    settings: Settings, store: Store
) -> None:
    """Every seed is stored once, summarized and filed under its topics; a rerun adds none."""
    report = await Ingester(settings, store, clock=lambda: NOW).run()
    seeds = len(list(settings.seeds_dir.glob("*.txt")))  # type: ignore[union-attr]  # the shipped configuration sets seeds_dir
    assert report.new == seeds == store.count_articles()
    again = await Ingester(settings, store, clock=lambda: NOW).run()
    assert again.new == 0
    by_title = {a.title: a for a in store.articles_since(NOW - timedelta(days=1))}
    expected = {
        "Late Ferrante Header Sends Northbridge City Top of the League": {"sport"},
        "Southern Ocean Is Absorbing Less Carbon in Winter Than Models Assumed, Study Finds": {
            "science"
        },
        "Startup Lumen Silicon Unveils AI Chip It Says Runs on a Tenth of the Power": {
            "technology"
        },
        "Lakeshore Museum of Art Reopens After $120 Million Renovation": {"culture"},
    }
    for title, topics in expected.items():
        assert topics <= set(by_title[title].topics), title
    for article in by_title.values():
        assert 1 <= len(article.summary) <= 3
        assert len(" ".join(article.summary)) <= settings.digest.max_chars
    french = next(a for a in by_title.values() if a.title.startswith("Le Grand Prix"))
    assert french.language == "french"


async def test_same_story_appears_once_naming_the_other_outlets(
    settings: Settings, store: Store
) -> None:
    """The three reports of the rate cut are one item that names the two other outlets."""
    await _ingest(settings, store)
    builder = DigestBuilder(store.articles_since(NOW - timedelta(days=1)), now=NOW, max_items=50)
    digest = builder.build(Subscriber(chat_id=1, topics=("business",)))
    rate_items = [i for i in digest.items if "Meridia" in i.title]
    assert len(rate_items) == 1
    outlets = {rate_items[0].source, *(s for s, _ in rate_items[0].also)}
    assert outlets == {"Meridian Ledger", "Northbridge Herald", "Continental Wire"}


async def test_filters_topics_follow_exclude(settings: Settings, store: Store) -> None:
    """Topics narrow the digest, followed words add to it, excluded words remove."""
    await _ingest(settings, store)
    builder = DigestBuilder(store.articles_since(NOW - timedelta(days=1)), now=NOW, max_items=50)
    sport = builder.build(Subscriber(chat_id=1, topics=("sport",)))
    assert {i.title.split()[0] for i in sport.items} == {"Late", "Sharks"}
    no_rugby = builder.build(Subscriber(chat_id=1, topics=("sport",), exclude=("rugby",)))
    assert [i.title.split()[0] for i in no_rugby.items] == ["Late"]
    follow = builder.build(Subscriber(chat_id=1, topics=("sport",), follow=("asteroid",)))
    assert any("Asteroid" in i.title for i in follow.items)


async def test_nothing_twice(settings: Settings, store: Store) -> None:
    """Articles before the last digest, and stories already delivered, are left out."""
    await _ingest(settings, store)
    articles = store.articles_since(NOW - timedelta(days=1))
    builder = DigestBuilder(articles, now=NOW, max_items=50)
    reader = Subscriber(chat_id=1, topics=("business",))
    first = builder.build(reader)
    assert first.items
    delivered = {first.items[0].article_id}
    second = builder.build(reader, delivered)
    assert first.items[0].title not in [i.title for i in second.items]
    caught_up = builder.build(reader.evolve(last_digest=NOW))
    assert caught_up.empty
    [message] = render_digest_html(caught_up, now=NOW)
    assert "Nothing new" in message


def _report(
    article_id: str, source: str, *, hours: int, title: str, topic: str, words: list[str]
) -> StoredArticle:
    """An English article of ``source`` fetched and published ``hours`` before NOW."""
    return StoredArticle(
        id=article_id,
        url=f"https://news.example/{article_id}",
        title=title,
        source=source,
        published=NOW - timedelta(hours=hours),
        fetched=NOW - timedelta(hours=hours),
        language="english",
        topics=(topic,),
        summary=("A sentence.",),
        words=tuple(words),
    )


def test_readers_share_a_choice_only_when_the_same_articles_are_new_to_them() -> None:
    """The builder composes a combination once for readers whose last digests differ in
    the instant but not in the articles that came after; a reader whose last digest came
    after an article does not get it from another reader's choice."""
    articles = [
        _report(
            f"a{hours}",
            f"Outlet {hours}",
            hours=hours,
            title=title,
            topic="world",
            words=title.lower().split(),
        )
        for hours, title in (
            (3, "Harbour bridge reopens after repairs"),
            (2, "Central bank holds interest rates"),
            (1, "Vaccine trial reports early results"),
        )
    ]
    builder = DigestBuilder(articles, now=NOW)
    readers = [
        Subscriber(chat_id=n, topics=("world",), last_digest=NOW - timedelta(minutes=minutes))
        for n, minutes in enumerate((150, 140, 90, 150))
    ]
    got = [[i.article_id for i in builder.build(r).items] for r in readers]
    assert got == [["a1", "a2"], ["a1", "a2"], ["a1"], ["a1", "a2"]]
    for reader, ids in zip(readers, got, strict=True):  # a builder with nothing remembered
        assert [i.article_id for i in DigestBuilder(articles, now=NOW).build(reader).items] == ids


def test_an_outlet_whose_report_has_an_excluded_word_is_not_named() -> None:
    """A story reported by three outlets: a reader excluding a word only the third's
    report has gets the story naming the second outlet alone; readers excluding nothing,
    or a word no report has, are named both. The same in whichever order they come."""
    title = "Harbour Bridge Reopens After Two Year Repair Works"
    texts = {
        "lead": "harbour bridge reopens repair works city council engineers traffic",
        "second": "harbour bridge reopens repair works city council engineers ferries",
        "third": "harbour bridge reopens repair works city council engineers cyclists",
    }
    articles = [
        _report(
            name,
            f"The {name.title()} Post",
            hours=hours,
            title=title,
            topic="local",
            words=text.split(),
        )
        for hours, (name, text) in enumerate(texts.items(), start=1)
    ]
    readers = {
        "nothing": Subscriber(chat_id=1, topics=("local",)),
        "cyclists": Subscriber(chat_id=2, topics=("local",), exclude=("cyclist",)),
        "unknown": Subscriber(chat_id=3, topics=("local",), exclude=("weather",)),
    }
    named = {
        "nothing": ["The Second Post", "The Third Post"],
        "cyclists": ["The Second Post"],
        "unknown": ["The Second Post", "The Third Post"],
    }
    for order in (list(readers), list(reversed(readers))):
        builder = DigestBuilder(articles, now=NOW)
        for who in order:
            [item] = builder.build(readers[who]).items
            assert item.article_id == "lead"
            assert [source for source, _url in item.also] == named[who], who


@pytest.mark.parametrize("max_items", [3, 8])
def test_readers_of_words_get_what_a_builder_remembering_nothing_gives(max_items: int) -> None:
    """Readers excluding words share the choice of their combination without them only
    when no article of it mentions one; readers following words get their topics' choice
    merged with their words'. Over many readers (stories told by several outlets, words
    in some picked reports, in some other outlets' reports, in none; ledgers; own feeds;
    digests shorter than the candidates), each digest equals the one a new builder
    composes for that reader alone."""
    rng = random.Random(5)
    topics = ["world", "science", "sport"]
    vocabulary = [f"w{n}" for n in range(40)]
    articles = []
    for story in range(24):
        title = " ".join(
            f"{word}{story}"
            for word in rng.sample(
                ["harbour", "bridge", "bank", "rates", "vaccine", "trial", "league", "cup"], 5
            )
        )
        for outlet in range(rng.choice((1, 1, 2, 3))):
            article = _report(
                f"s{story}o{outlet}",
                f"Outlet {outlet}",
                hours=1 + (story * 7 + outlet) % 30,
                title=title,
                topic=topics[story % 3],
                words=[*title.lower().split(), *rng.sample(vocabulary, 6)],
            )
            if story % 5 == 0:
                article = replace(article, feed_urls=(f"https://feed{story % 2}.example/rss",))
            articles.append(article)
    readers = []
    for chat_id in range(1, 400):
        chosen = tuple(sorted(rng.sample(topics, rng.randint(1, 2))))
        words = tuple(rng.sample(vocabulary, rng.choice((0, 1, 1, 2))))
        followed = tuple(rng.sample(vocabulary, rng.choice((0, 0, 1, 2))))
        feeds = ("https://feed0.example/rss",) if chat_id % 9 == 0 else ()
        readers.append(
            Subscriber(
                chat_id=chat_id,
                topics=chosen,
                follow=followed,
                exclude=words,
                feeds=feeds,
                last_digest=NOW - timedelta(hours=rng.choice((12, 24, 36))),
            )
        )
    ids = [a.id for a in articles]
    ledgers = [set(rng.sample(ids, 2)) if n % 4 == 0 else set() for n in range(len(readers))]
    shared = DigestBuilder(articles, now=NOW, max_items=max_items)
    reused = 0
    for reader, ledger in zip(readers, ledgers, strict=True):
        digest = shared.build(reader, ledger)
        alone = DigestBuilder(articles, now=NOW, max_items=max_items).build(reader, ledger)
        assert digest == alone, reader
        reused += bool(reader.exclude) and any(
            any(word in a.words for word in reader.exclude)
            for a in articles
            if a.topics[0] in reader.topics
        )
    # Not vacuous: excluded words the candidates have, and followed words without feeds.
    assert reused > 100
    assert sum(bool(r.follow) and not r.feeds for r in readers) > 100


def test_a_story_delivered_from_one_outlet_does_not_come_again_from_another() -> None:
    """A reader whose ledger holds one outlet's report of a story does not get the story
    again when another outlet's report of it comes later; a reader who was not sent it
    does. The same whichever reader comes first."""
    title = "Harbour Bridge Reopens After Two Year Repair Works"
    words = title.lower().split()
    first = _report("first", "The Early Post", hours=20, title=title, topic="local", words=words)
    later = _report("later", "The Late Post", hours=2, title=title, topic="local", words=words)
    other = _report(
        "other",
        "The Other Post",
        hours=3,
        title="Council Approves New Cycle Lanes",
        topic="local",
        words=["council", "approves", "cycle", "lanes"],
    )
    reader = Subscriber(chat_id=1, topics=("local",), last_digest=NOW - timedelta(hours=10))
    sent: tuple[set[str], set[str]] = ({"first"}, set())
    expected = (["other"], ["later", "other"])
    for order in ((0, 1), (1, 0)):
        builder = DigestBuilder([first, later, other], now=NOW)
        for n in order:
            got = [i.article_id for i in builder.build(reader, sent[n]).items]
            assert got == expected[n], n


def loopback_feeds(settings: Settings, *feeds: tuple[str, str]) -> Settings:
    """The settings with only these (url, name) feeds of the world topic, served from
    loopback, and no seeds."""
    return replace(
        settings,
        seeds_dir=None,
        fetch=replace(settings.fetch, allow_private_addresses=True, timeout=5),
        feeds=tuple(
            Feed(url=url, name=name, topics=("world",), full_text=False) for url, name in feeds
        ),
    )


async def test_feed_from_loopback_and_a_failing_feed(settings: Settings, store: Store) -> None:
    """A good feed is stored with escaped-safe text; a broken one is recorded, not fatal."""
    with FeedServer() as server:
        good = server.serve(
            "/rss",
            RSS.format(base=server.base_url),
            headers={"Content-Type": "application/rss+xml"},
        )
        bad = server.serve(
            "/broken", "<html><body>not a feed</body></html>", headers={"Content-Type": "text/html"}
        )
        config = loopback_feeds(settings, (good, "Loopback Wire"), (bad, "Broken"))
        report = await Ingester(config, store, clock=lambda: NOW).run()
    assert [s.new for s in report.sources] == [1, 0]
    assert report.failed[0].name == "Broken"
    [article] = store.articles_since(NOW - timedelta(hours=1))
    # Feed titles are HTML: markup is dropped, entities become characters.
    assert article.title == "Ministers agree new climate treaty & funding"
    assert "utm_source" not in article.url
    assert "world" in article.topics
    state = store.get_feed_state(bad)
    assert state is not None
    assert state.failures == 1
    assert state.next_attempt is not None


def _item(title: str, link: str, published: str) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><pubDate>{published}</pubDate>"
        f"<description>{title} was reported on the day. Officials confirmed it later. "
        "Residents were told to expect changes.</description></item>"
    )


async def test_a_feeds_archive_is_not_news_and_a_shared_link_is_counted_once(
    settings: Settings, store: Store
) -> None:
    """Found by a stranger: at a feed's first fetch an entry of last year came into the
    digest as news, and a link two feeds carried (or one feed twice) was counted as two
    new articles while one was stored ("13 new (the store holds 12)")."""
    recent, old = "Wed, 25 Nov 2026 08:00:00 GMT", "Mon, 27 Oct 2025 08:00:00 GMT"
    with FeedServer() as server:

        def feed(path: str, *items: str) -> str:
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
                f"<link>http://127.0.0.1/</link>{''.join(items)}</channel></rss>"
            )
            return server.serve(path, body, headers={"Content-Type": "application/rss+xml"})

        shared = f"{server.base_url}/shared-story"
        first = feed(
            "/a",
            _item("Ancient summit story", f"{server.base_url}/ancient", old),
            _item("Harbour reopens", f"{server.base_url}/harbour", recent),
            _item("Shared story", shared, recent),
            _item("Shared story again", shared, recent),
        )
        second = feed("/b", _item("Shared story", shared, recent))
        config = loopback_feeds(settings, (first, "First"), (second, "Second"))
        report = await Ingester(config, store, clock=lambda: NOW).run()
    stored = store.articles_since(NOW - timedelta(hours=1))
    assert sorted(a.title for a in stored) == ["Harbour reopens", "Shared story"]
    assert report.new == len(stored) == 2
    # Which feed stores the shared link first depends on the order the two polls end in:
    # per feed it may be new to both, the run's count says it once.
    by_name = {s.name: s for s in report.sources}
    assert (by_name["First"].too_old, by_name["Second"].too_old) == (1, 0)
    assert 2 <= by_name["First"].new + by_name["Second"].new <= 3


def test_cli_digest_of_the_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`newsdigest digest` on an empty store reads the seeds and prints real stories."""
    config = tmp_path / "nd.toml"
    text = BUNDLED_CONFIG.read_text()
    text = text.replace(
        'data_file = "../data/newsdigest.json"', f'data_file = "{tmp_path / "nd.json"}"'
    )
    seeds = BUNDLED_CONFIG.parent.parent / "seeds"
    text = text.replace('seeds_dir = "../seeds"', f'seeds_dir = "{seeds}"')
    config.write_text(text)
    assert main(["--config", str(config), "digest", "--topics", "business", "--items", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Your news digest")
    assert out.count("\n1. ") == 1
    assert "Also reported by" in out
    assert main(["--config", str(config), "digest", "--topics", "nonsense"]) == 2
    assert "unknown topic nonsense" in capsys.readouterr().err
    # Found by a reviewer: nothing left said "since your last digest", which a terminal
    # digest does not have.
    assert main(["--config", str(config), "digest", "--exclude", "the,a,of", "--hours", "48"]) == 0
    assert capsys.readouterr().out == (
        "No stories in the 48 hours before the latest ingest for these topics and words.\n"
    )


def test_a_bounded_cache_holds_its_limit_and_keeps_what_recurs() -> None:
    """The builder's and the renderer's memos hold at most their limit, whatever the number
    of distinct keys (subscribers' combinations grow with the subscribers), and a key used
    again and again survives a stream of keys seen once."""
    cache: BoundedCache[int, str] = BoundedCache(4)
    assert cache[1] is None  # not remembered: None, nothing stored
    assert len(cache) == 0
    assert cache.put(0, "0") == "0"
    for n in range(1, 1000):
        cache.put(n, str(n))
        assert len(cache) <= 4
        assert cache[0] == "0"  # used while others come: kept
    assert cache[998] == "998"
    assert cache[999] == "999"
    assert cache[1] is None  # seen once, long ago: forgotten
    cache.clear()
    assert len(cache) == 0
    assert cache[0] is None


async def test_digests_are_the_same_when_the_builder_forgets_its_memos(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A builder that remembers one combination at a time composes the same digests as
    one that remembers them all (the memos save work, they decide nothing)."""
    await _ingest(settings, store)
    articles = store.articles_since(NOW - timedelta(days=3650))
    people = [
        Subscriber(chat_id=1, topics=("technology",)),
        Subscriber(chat_id=2, topics=("business",), exclude=("bank",)),
        Subscriber(chat_id=3, follow=("novel",)),
        Subscriber(chat_id=4),
    ]
    roomy = DigestBuilder(articles, now=NOW, window=timedelta(days=3650))
    expected = [roomy.build(p) for p in people * 2]
    monkeypatch.setattr(builder_module, "CHOICES_KEPT", 1)
    monkeypatch.setattr(builder_module, "ITEMS_KEPT", 1)
    forgetful = DigestBuilder(articles, now=NOW, window=timedelta(days=3650))
    assert [forgetful.build(p) for p in people * 2] == expected
    assert any(d.items for d in expected)


def test_the_index_counts_the_public_articles_that_mention_a_word() -> None:
    """``mentioning`` counts as a followed word matches (the word or its plurals, each
    article once) among the public articles, and only those."""
    articles = [
        _report("a1", "Outlet 1", hours=1, title="Votes", topic="world", words=["vote"]),
        _report("a2", "Outlet 2", hours=2, title="Votes", topic="world", words=["votes"]),
        _report("a3", "Outlet 3", hours=3, title="Votes", topic="world", words=["vote", "votes"]),
        _report("a4", "Outlet 4", hours=4, title="Rain", topic="world", words=["rain"]),
        replace(
            _report("a5", "Own feed", hours=5, title="Vote", topic="world", words=["vote"]),
            private=True,
        ),
    ]
    builder = DigestBuilder(articles, now=NOW)
    assert builder.mentioning("vote") == (3, 4)
    assert builder.mentioning("rain") == (1, 4)
    assert builder.mentioning("snow") == (0, 4)
    assert DigestBuilder([], now=NOW).mentioning("vote") == (0, 0)


@pytest.mark.parametrize(
    ("found", "total", "common"),
    [(10, 20, True), (9, 20, False), (19, 19, False), (0, 0, False), (30, 30, True)],
)
def test_a_word_is_common_in_half_the_recent_articles_once_there_are_twenty(
    found: int, total: int, common: bool
) -> None:
    """The rule behind the note on /follow and /exclude: at least half of 20 or more."""
    counted = Subscriptions.common("the", lambda word: (found, total))
    assert counted == ((found, total) if common else None)
