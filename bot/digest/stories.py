"""Grouping reports of the same story from different outlets.

Two articles are the same story when they were published within two days of each other,
are in the same language, and either their titles share most of their words or their
texts share enough *distinctive* words (names, places, figures: words that are rare in
the rest of the news), weighted by how rare they are. Same-story groups are computed once
per batch of articles, not per subscriber.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta

from summarizer.nlp.languages import get_language

from ..models import StoredArticle

MAX_APART = timedelta(hours=48)
TITLE_OVERLAP = 0.6
TEXT_SIMILARITY = 0.16
# The story is told in the title and the first paragraphs.
WORDS_PER_ARTICLE = 250
# Words in more than this share of the articles say nothing about which story it is.
COMMON_SHARE = 0.05
# Each article is compared with those sharing two of its rarest words.
SIGNATURE_WORDS = 12
# A word in more articles than this names no single story (a story is rarely told by more
# outlets), so it is not used to find candidates: the pairs it would make grow with the
# square of its articles (10k articles over a flat vocabulary: 30 s and 600 MB).
MAX_STORY_ARTICLES = 64


def _fold(word: str) -> str:
    # A light, language-neutral normalization (plural and possessive "s"), much cheaper
    # than a stemmer over thousands of articles: enough to match the same story's words.
    return word[:-2] if word.endswith("'s") else word[:-1] if word.endswith("s") else word


def _content_words(article: StoredArticle) -> set[str]:
    stop = get_language(article.language).stop_words
    return {_fold(w) for w in article.words[:WORDS_PER_ARTICLE] if len(w) > 2 and w not in stop}


def _title_words(article: StoredArticle) -> set[str]:
    stop = get_language(article.language).stop_words
    return {
        w
        for w in (t.strip(".,:;!?\"'“”‘’()").lower() for t in article.title.split())
        if len(w) > 2 and w not in stop
    }


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _close_in_time(a: StoredArticle, b: StoredArticle) -> bool:
    return abs(a.when - b.when) <= MAX_APART and a.language == b.language


def story_groups(articles: Sequence[StoredArticle]) -> list[list[int]]:
    """Indices of ``articles`` grouped by story (singletons included), in input order.

    Cost stays near-linear in the number of articles: each article is compared only with
    those sharing at least two of its most distinctive words (its *signature*).
    """
    n = len(articles)
    # Tuples, not sets: a set of 250 words takes four times the memory (10k articles:
    # 20 MB instead of 80 MB, which was the peak of a whole digest run, bench/memory.py).
    words = [tuple(_content_words(a)) for a in articles]
    df: Counter[str] = Counter(w for ws in words for w in ws)
    common = max(3, int(COMMON_SHARE * n))
    groups = _UnionFind(n)
    _join_by_text(articles, words, df, common, groups)
    del words
    _join_by_title(articles, df, common, groups)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[groups.find(i)].append(i)
    return [members[root] for root in sorted(members)]


def _join_by_text(
    articles: Sequence[StoredArticle],
    words: list[tuple[str, ...]],
    df: Counter[str],
    common: int,
    groups: _UnionFind,
) -> None:
    """Join articles whose distinctive words are close (IDF-weighted cosine), comparing
    only pairs that share at least two signature words and were published close in time."""
    n = len(articles)
    signature_df = min(common, MAX_STORY_ARTICLES)
    postings: dict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(words):
        shared_words = sorted(
            (w for w in ws if 2 <= df[w] <= signature_df),
            key=lambda w: (df[w], w),  # ties by the word: the same groups in every process
        )
        for w in shared_words[:SIGNATURE_WORDS]:
            postings[w].append(i)
    hits: dict[tuple[int, int], int] = defaultdict(int)
    for ids in postings.values():
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                hits[(ids[x], ids[y])] += 1
    pairs = [
        (i, j)
        for (i, j), count in hits.items()
        if count >= 2 and _close_in_time(articles[i], articles[j])
    ]
    del hits, postings
    # Only the articles of candidate pairs need their distinctive words weighted: each
    # with its squared IDF.
    weights: dict[int, dict[str, float]] = {
        i: {w: math.log((n + 1) / df[w]) ** 2 for w in words[i] if df[w] <= common}
        for i in sorted({i for pair in pairs for i in pair})
    }
    norms = {i: math.sqrt(sum(ws.values())) or 1.0 for i, ws in weights.items()}
    for i, j in pairs:
        mine = weights[i]
        dot = sum(mine[w] for w in mine.keys() & weights[j].keys())
        if dot / (norms[i] * norms[j]) >= TEXT_SIMILARITY:
            groups.union(i, j)


def _join_by_title(
    articles: Sequence[StoredArticle], df: Counter[str], common: int, groups: _UnionFind
) -> None:
    """Join articles whose titles share most of their (not too common) words."""
    titles = [_title_words(a) for a in articles]
    by_title_word: dict[str, list[int]] = defaultdict(list)
    for i, tw in enumerate(titles):
        for w in tw:
            if df.get(w, 0) <= common:
                by_title_word[w].append(i)
    # Each article's partners are gathered for it alone (a set per article, not one of
    # every pair: a title word shared by a few hundred articles makes tens of thousands
    # of pairs, 35 MB for 10k articles in bench/memory.py).
    for i, tw in enumerate(titles):
        if len(tw) < 3:
            continue
        partners = {j for w in tw for j in by_title_word.get(w, ()) if j > i}
        for j in partners:
            small = min(len(tw), len(titles[j]))
            if (
                small >= 3
                and len(tw & titles[j]) / small >= TITLE_OVERLAP
                and _close_in_time(articles[i], articles[j])
            ):
                groups.union(i, j)
