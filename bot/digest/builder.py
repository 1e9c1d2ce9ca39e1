"""Building digests: which stories each subscriber gets, ranked, deduplicated, top N.

``DigestBuilder`` is built once per batch from the stored articles (story groups, scores,
per-topic rankings and a word index are computed there, once), then composes any number
of subscribers' digests cheaply: it walks the already-ranked lists of the subscriber's
topics and followed words and stops as soon as it has enough items. Summaries are
computed at ingest time, never per subscriber.

Rules for one subscriber:
  * candidates: articles of their topics (all topics if they chose none), articles
    mentioning a followed word, and the entries of the chat's own feeds (``feeds``);
    articles mentioning an excluded word are dropped. An entry only chats' own feeds
    brought (``private``) goes to the chats that added one of those feeds, never to a
    topic's or a word's readers, and is never named as another outlet of a story;
  * new only: fetched after their last digest (or within the window for a first digest),
    and no article of the same story already delivered to them;
  * one item per story, naming the other outlets that reported it;
  * ranked by recency and by how many outlets reported the story; top ``max_items``, plus
    up to ``max_items`` entries of the chat's own feeds (which a busy news day must not
    crowd out: the reader asked for them by name).
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from ..ingest.topics import keyword_forms
from ..memory import BoundedCache
from ..models import StoredArticle, Subscriber
from .model import Digest, DigestItem
from .stories import story_groups

RECENCY_HALF_LIFE_HOURS = 12.0
COVERAGE_WEIGHT = 0.6
# How many subscriber combinations the builder remembers (about 380 bytes each, the items
# shared), and how many items as a combination shows them. Over 1M readers of the
# benchmark (bench/digest.py), whose combinations recur some 30k times apart, 20k kept
# had a third of the readers choose afresh, 40k a quarter: 10 µs less per digest.
CHOICES_KEPT = 40_000
ITEMS_KEPT = 20_000
WORDS_KEPT = 4_096


# A combination's choice: the articles picked, their items, and the ids of every article
# of their stories (a ledger holding none of them changes nothing: one set test, in C; a
# tuple, a fifth of a frozenset's memory, 40,000 choices kept).
_Choice = tuple[tuple[int, ...], tuple[DigestItem, ...], tuple[str, ...]]


# A set of ranks: ints of CHUNK bits each, bit ``r % CHUNK`` of int ``r // CHUNK`` for
# rank ``r``. Sets are joined with ``|`` and walked from the lowest bit, so in rank order.
# One int for all the ranks would make each step of the walk cost as much as the number
# of articles (10k articles: 1.2 µs a step); an int of 1024 bits costs a tenth of that.
RankSet = tuple[int, ...]
CHUNK = 1024


def _rank_set(ranks: Iterable[int], size: int) -> RankSet:
    """The set of ``ranks`` (each below ``size``)."""
    width = CHUNK // 8
    flags = bytearray(-(-size // CHUNK) * width)
    for rank in ranks:
        flags[rank >> 3] |= 1 << (rank & 7)
    return tuple(
        int.from_bytes(flags[at : at + width], "little") for at in range(0, len(flags), width)
    )


def _disjoint(delivered: Collection[str], ids: tuple[str, ...]) -> bool:
    """Whether a ledger holds none of ``ids`` (a set's ``isdisjoint`` when it is one)."""
    if isinstance(delivered, (set, frozenset)):
        return delivered.isdisjoint(ids)
    return not any(id_ in delivered for id_ in ids)


def feeds_of(article: StoredArticle, feeds: Collection[str]) -> bool:
    """True when one of ``feeds`` carried the article."""
    return any(url in feeds for url in article.feed_urls)


class DigestBuilder:
    """Composes digests from one snapshot of the stored articles."""

    def __init__(
        self,
        articles: Sequence[StoredArticle],
        *,
        now: datetime,
        max_items: int = 8,
        window: timedelta = timedelta(hours=24),
    ) -> None:
        self.now = now
        self.max_items = max_items
        self.window = window
        self._window_hours = max(1, round(window.total_seconds() / 3600))
        self._articles = list(articles)
        self._story: list[int] = [0] * len(self._articles)
        self._members: list[list[int]] = story_groups(self._articles)
        for story, members in enumerate(self._members):
            for index in members:
                self._story[index] = story
        self._score = [self._rank_score(i) for i in range(len(self._articles))]
        order = sorted(range(len(self._articles)), key=lambda i: -self._score[i])
        # Every index holds ranks (positions in ``order``), not article indexes: the
        # word lists are sorted as they are filled by walking ``order``, and a topic's
        # or a feed's articles are a RankSet; a subscriber's candidates are the union of
        # theirs, walked in the order of the articles by (-score, index).
        self._order = order
        self._rank = [0] * len(order)
        for rank, i in enumerate(order):
            self._rank[i] = rank
        self._fetched = [a.fetched for a in self._articles]
        self._fetched_sorted = sorted(self._fetched)
        all_ranks: list[int] = []
        by_topic: dict[str, list[int]] = defaultdict(list)
        by_feed: dict[str, list[int]] = defaultdict(list)
        # The word index is the builder's largest part (10k articles of 300 words: 3M
        # entries), so its lists are arrays of 4-byte ints: half a list's memory
        # (``bench/memory.py``). Private articles are in it too: their excluded words are
        # looked up here (``_mentions``); a followed word's list leaves them out
        # (``_public``).
        self._by_word: dict[str, array[int]] = {}
        for rank, i in enumerate(order):
            article = self._articles[i]
            for url in article.feed_urls:
                by_feed[url].append(rank)
            for word in dict.fromkeys(article.words):
                ranks = self._by_word.get(word)
                if ranks is None:
                    ranks = self._by_word[word] = array("i")
                ranks.append(rank)
            if article.private:
                continue
            all_ranks.append(rank)
            for topic in article.topics:
                by_topic[topic].append(rank)
        self._all = _rank_set(all_ranks, len(order))  # the public articles
        self._by_topic = {t: _rank_set(ranks, len(order)) for t, ranks in by_topic.items()}
        self._by_feed = {u: _rank_set(ranks, len(order)) for u, ranks in by_feed.items()}
        # The public articles with a followed word: one set per word followed, a bit per
        # article each (10k articles: 1.3 kB), so bounded.
        self._public_words: BoundedCache[str, RankSet] = BoundedCache(WORDS_KEPT)
        # The article ids of each story: a ledger holding one of them holds the story.
        self._story_ids = [frozenset(self._articles[m].id for m in ms) for ms in self._members]
        # Excluded words are looked up in the word index, not in a set of words per
        # article: those sets took more memory than everything else (10k articles of 300
        # words: ~150 MB), for a check most subscribers never ask for.
        self._mentioning: dict[str, frozenset[int]] = {}
        # A combination's choice and its items; an item as one combination shows it. Both
        # bounded: the distinct combinations grow with the subscribers (a whole run over
        # 1M subscribers kept 100 MB of them, bench/digest.py --store postgresql).
        self._cache: BoundedCache[tuple[object, ...], _Choice] = BoundedCache(CHOICES_KEPT)
        self._items: BoundedCache[tuple[int, tuple[str, ...], tuple[str, ...]], DigestItem] = (
            BoundedCache(ITEMS_KEPT)
        )
        # The articles picked among a followed word's alone (``_with_followed``).
        self._followed: BoundedCache[
            tuple[tuple[str, ...], tuple[str, ...], int], tuple[int, ...]
        ] = BoundedCache(WORDS_KEPT)

    def _mentions(self, index: int, keyword: str) -> bool:
        """Whether article ``index`` has the keyword or its plural among its words (what
        ``bot.ingest.topics.mentions`` tells from the words themselves)."""
        found = self._mentioning.get(keyword)
        if found is None:
            forms = keyword_forms(keyword)
            found = frozenset(r for form in forms for r in self._by_word.get(form, ()))
            self._mentioning[keyword] = found
        return self._rank[index] in found

    def mentioning(self, keyword: str) -> tuple[int, int]:
        """How many of the public articles mention ``keyword`` (or its plural, as a
        followed or excluded word matches), and how many public articles there are."""
        sets = [self._public(f) for f in keyword_forms(keyword) if f in self._by_word]
        found = sum(
            functools.reduce(operator.or_, parts, 0).bit_count()
            for parts in zip(*sets, strict=True)
        )
        return found, sum(part.bit_count() for part in self._all)

    def _rank_score(self, index: int) -> float:
        article = self._articles[index]
        age_hours = max(0.0, (self.now - article.when).total_seconds() / 3600)
        recency = math.pow(0.5, age_hours / RECENCY_HALF_LIFE_HOURS)
        outlets = len({self._articles[m].source for m in self._members[self._story[index]]})
        return recency + COVERAGE_WEIGHT * math.log2(outlets)

    def since(self, subscriber: Subscriber) -> datetime:
        """The start of the subscriber's next digest."""
        return subscriber.last_digest or (self.now - self.window)

    def _public(self, word: str) -> RankSet:
        """The public articles with ``word``."""
        found = self._public_words[word]
        if found is None:
            ranks = _rank_set(self._by_word[word], len(self._order))
            found = self._public_words.put(
                word, tuple(a & b for a, b in zip(ranks, self._all, strict=True))
            )
        return found

    def _by_rank(self, sets: list[RankSet]) -> Iterator[int]:
        """The articles of the union of ``sets``, best ranked first."""
        order = self._order
        base = 0
        for parts in zip(*sets, strict=True):
            bits = 0
            for part in parts:
                bits |= part
            while bits:
                lowest = bits & -bits
                yield order[base + lowest.bit_length() - 1]
                bits ^= lowest
            base += CHUNK

    def _candidates(self, subscriber: Subscriber) -> Iterator[int]:
        topics = self._by_topic
        sets = [topics[t] for t in subscriber.topics if t in topics]
        if not subscriber.topics:
            sets.append(self._all)
        for word in subscriber.follow:
            for form in keyword_forms(word):
                if form in self._by_word:
                    sets.append(self._public(form))
        return self._by_rank(sets)

    def _own_entries(self, subscriber: Subscriber) -> Iterator[int]:
        feeds = self._by_feed
        return self._by_rank([feeds[url] for url in subscriber.feeds if url in feeds])

    def _select(self, subscriber: Subscriber, delivered: Collection[str]) -> tuple[int, ...]:
        """Up to ``max_items`` stories of the chat's topics and words, plus up to
        ``max_items`` new entries of its own feeds (a story is never there twice), by rank."""
        stories: set[int] = set()
        picked = self._pick(self._candidates(subscriber), subscriber, delivered, stories)
        if not subscriber.feeds:
            return tuple(picked)  # picked as walked: best ranked first
        picked += self._pick(self._own_entries(subscriber), subscriber, delivered, stories)
        return tuple(sorted(picked, key=self._rank.__getitem__))

    def _pick(
        self,
        candidates: Iterator[int],
        subscriber: Subscriber,
        delivered: Collection[str],
        stories: set[int],
    ) -> list[int]:
        since = self.since(subscriber)
        exclude = subscriber.exclude
        fetched, story_of, story_ids = self._fetched, self._story, self._story_ids
        picked: list[int] = []
        for index in candidates:
            story = story_of[index]
            if fetched[index] <= since or story in stories:
                continue
            if exclude and any(self._mentions(index, word) for word in exclude):
                continue
            if delivered and not story_ids[story].isdisjoint(delivered):
                continue
            stories.add(story)
            picked.append(index)
            if len(picked) >= self.max_items:
                break
        return picked

    def _item(self, index: int, exclude: Sequence[str], feeds: Collection[str]) -> DigestItem:
        article = self._articles[index]
        also: list[tuple[str, str]] = []
        sources = {article.source}
        for m in self._members[self._story[index]]:
            other = self._articles[m]
            if other.source in sources:
                continue
            if other.private and not feeds_of(other, feeds):
                continue
            if any(self._mentions(m, word) for word in exclude):
                continue
            sources.add(other.source)
            also.append((other.source, other.url))
        return DigestItem(
            article_id=article.id,
            title=article.title,
            url=article.url,
            source=article.source,
            when=article.when,
            summary=article.summary,
            also=tuple(also),
        )

    def _cached_item(
        self, index: int, exclude: tuple[str, ...], feeds: tuple[str, ...]
    ) -> DigestItem:
        if exclude:  # only the words the story's other articles mention change the item
            members = self._members[self._story[index]]
            exclude = tuple(
                [w for w in exclude if any(self._mentions(m, w) for m in members if m != index)]
            )
        key = (index, exclude, feeds)
        item = self._items[key]
        if item is None:
            item = self._items.put(key, self._item(index, exclude, feeds))
        return item

    def _items_of(self, picked: tuple[int, ...], subscriber: Subscriber) -> tuple[DigestItem, ...]:
        return tuple(self._cached_item(i, subscriber.exclude, subscriber.feeds) for i in picked)

    def _choice(self, subscriber: Subscriber) -> _Choice:
        """The subscriber's combination's choice, whatever their ledger holds (memoized:
        many subscribers share the same topics, words, feeds and new articles)."""
        # Each reader's last digest is an instant of its own; what matters of it is which
        # articles came after it, told by how many came before.
        newer = bisect.bisect_right(self._fetched_sorted, self.since(subscriber))
        key = (subscriber.topics, subscriber.follow, subscriber.exclude, subscriber.feeds, newer)
        cached = self._cache[key]
        if cached is None:
            picked = self._unexcluded(subscriber, newer) if subscriber.exclude else None
            if picked is None and subscriber.follow and not subscriber.feeds:
                picked = self._with_followed(subscriber, newer)
            if picked is None:
                picked = self._select(subscriber, ())
            story_of, story_ids = self._story, self._story_ids
            ids = tuple([id_ for i in picked for id_ in story_ids[story_of[i]]])
            cached = self._cache.put(key, (picked, self._items_of(picked, subscriber), ids))
        return cached

    def _unexcluded(self, subscriber: Subscriber, newer: int) -> tuple[int, ...] | None:
        """The articles of the subscriber's choice when their excluded words change
        nothing: those the same combination without the words picked (when remembered),
        if none of them mentions one of the words; else None.

        Excluding drops the articles that mention a word, and nothing else: the walk
        over the candidates skips them where the other walk took them, and takes the
        same articles wherever it did not meet one. So when none of the articles picked
        without the words mentions one, the articles picked with them are the same. A
        reader excluding words of their own (most combinations with excluded words are
        one reader's) is then spared a walk. The items still leave out the outlets whose
        reports mention a word (``_cached_item``).
        """
        plain = self._cache[(subscriber.topics, subscriber.follow, (), subscriber.feeds, newer)]
        if plain is None:
            return None
        picked = plain[0]
        if any(self._mentions(i, word) for i in picked for word in subscriber.exclude):
            return None
        return picked

    def _with_followed(self, subscriber: Subscriber, newer: int) -> tuple[int, ...] | None:
        """The articles of the choice of a subscriber following words (and no feeds of
        their own): the choice of their topics alone (when remembered) merged with that
        of their followed words alone; else None.

        The walk over both sets of candidates takes, for each story, its best ranked
        article that passes, in rank order, until it has ``max_items``. A story among
        those has fewer than ``max_items`` stories before it in either set alone, so
        each walk alone takes it too, through the same article when it is that walk's
        candidate: merging the two by rank, one article per story (the first), and
        keeping ``max_items`` gives the same articles. A reader who follows a word of
        their own is then spared the walk over their topics (the one most readers share),
        and the walk over a word's few articles is remembered for every reader of it.
        """
        plain = self._cache[(subscriber.topics, (), subscriber.exclude, subscriber.feeds, newer)]
        if plain is None:
            return None
        key = (subscriber.follow, subscriber.exclude, newer)
        followed = self._followed[key]
        if followed is None:
            sets = [
                self._public(form)
                for word in subscriber.follow
                for form in keyword_forms(word)
                if form in self._by_word
            ]
            followed = self._followed.put(
                key, tuple(self._pick(self._by_rank(sets), subscriber, (), set()))
            )
        story_of = self._story
        stories: set[int] = set()
        picked: list[int] = []
        for index in sorted(plain[0] + followed, key=self._rank.__getitem__):
            if story_of[index] not in stories:
                stories.add(story_of[index])
                picked.append(index)
                if len(picked) >= self.max_items:
                    break
        return tuple(picked)

    def build(self, subscriber: Subscriber, delivered: Collection[str] = ()) -> Digest:
        """The subscriber's digest (possibly empty)."""
        # Many subscribers share the same choices: compose each combination once. The
        # ledger changes the choice only when it holds one of the chosen stories (it
        # usually holds older ones): then the choice is made again without them.
        _picked, items, ids = self._choice(subscriber)
        if delivered and not _disjoint(delivered, ids):
            items = self._items_of(self._select(subscriber, delivered), subscriber)
        return Digest(
            chat_id=subscriber.chat_id,
            items=items,
            timezone=subscriber.timezone,
            created=self.now,
            topics=subscriber.topics,
            language=subscriber.digest_language,
            first_hours=None if subscriber.last_digest else self._window_hours,
        )
