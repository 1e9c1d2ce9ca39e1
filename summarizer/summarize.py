"""The public entry point: article in, summary out (sentences verbatim, in source order)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .article import Article
from .document import PreparedDocument, Sentence, prepare
from .errors import SummarizerError
from .methods import Method, get_method
from .nlp.cohesion import Lean

DEFAULT_SENTENCES = 3
# A digest item should stay around 400-600 characters.
DEFAULT_MAX_CHARS = 600
# How far back the selection reaches for the sentence a pronoun or connective points to.
MAX_ANTECEDENTS = 1
# ... and only takes it along when it ranks among the best ANTECEDENT_RANK x count.
ANTECEDENT_RANK = 2.0
# A sentence that opens with a connective but names its own subject ("But the council
# said...") may be taken without the sentence before it when its score beats the best
# self-contained sentence still open by this fraction (see docs/summarizer.md).
CONNECTIVE_MARGIN = 0.2
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Summary:
    """The chosen sentences, verbatim and in the order the article has them."""

    sentences: tuple[str, ...]
    method: str
    language: str
    truncated_input: bool = False
    # The text itself was within the summary's budget (no more sentences, no more
    # characters): a summary had nothing to shorten.
    short_text: bool = False

    @property
    def text(self) -> str:
        """The sentences joined by spaces."""
        return " ".join(self.sentences)


def select(
    document: PreparedDocument,
    ranking: Sequence[int],
    count: int,
    max_chars: int | None,
    *,
    scores: Sequence[float] | None = None,
    readable: bool = True,
    max_antecedents: int = MAX_ANTECEDENTS,
    antecedent_rank: float = ANTECEDENT_RANK,
    connective_margin: float | None = CONNECTIVE_MARGIN,
) -> list[int]:
    """Take ranked sentences while they fit the count and the character budget.

    A sentence that would overflow the budget is skipped in favour of a shorter, lower
    ranked one. When ``readable``, every sentence is also taken with what it needs to be
    understood on its own: the rest of a quotation it shares with its neighbours, and the
    sentence before it when it opens with a pronoun or a connective (up to
    ``max_antecedents`` sentences back). A sentence whose needs do not fit is left for the
    next-ranked one, except that a sentence opening with a connective and naming its own
    subject stands alone when ``scores`` (by sentence index) show it beating the best
    self-contained sentence still open by ``connective_margin`` (``None``: never).
    Sentences are never changed. Returns indices in source order.
    """
    if readable:
        # An antecedent is only worth a place when it ranks near the top itself.
        limit = int(antecedent_rank * count)
        margin = connective_margin if scores is not None else None
        picked = _select_readable(
            document, ranking, count, max_chars, max_antecedents, limit, scores, margin
        )
        if picked:
            return picked
    return _select_plain(document, ranking, count, max_chars)


def _select_plain(
    document: PreparedDocument, ranking: Sequence[int], count: int, max_chars: int | None
) -> list[int]:
    picked: list[int] = []
    used = 0
    for index in ranking:
        if len(picked) >= count:
            break
        length = len(document.sentences[index].text) + (1 if picked else 0)
        if max_chars is not None and used + length > max_chars:
            continue
        picked.append(index)
        used += length
    return sorted(picked)


def _unit(
    document: PreparedDocument,
    index: int,
    picked: set[int],
    max_antecedents: int,
    good: set[int],
) -> range | None:
    """The sentences to take with ``index`` so that it reads on its own, or None."""
    sentences = document.sentences
    group = sentences[index].group
    if group is None or sentences[index].fragment:
        return None
    first, last = group
    steps = 0
    while sentences[first].leans_back and first > 0 and first - 1 not in picked:
        previous = sentences[first - 1].group
        if steps >= max_antecedents or previous is None or first - 1 not in good:
            return None
        if sentences[first - 1].fragment:
            return None
        first = previous[0]
        steps += 1
    return range(first, last + 1)


def _self_contained(sentence: Sentence) -> bool:
    return not sentence.leans_back and sentence.group == (sentence.index, sentence.index)


def _alone(
    document: PreparedDocument,
    index: int,
    ranking: Sequence[int],
    picked: set[int],
    scores: Sequence[float],
    margin: float,
) -> range | None:
    """``index`` on its own if it only leans through a connective and clearly beats the
    best self-contained sentence still open; else None."""
    sentence = document.sentences[index]
    if sentence.lean is not Lean.CONNECTIVE or sentence.fragment:
        return None
    if sentence.group != (index, index):
        return None
    for other in ranking:
        if other in picked or other == index:
            continue
        candidate = document.sentences[other]
        if _self_contained(candidate) and not candidate.fragment:
            if scores[index] < (1.0 + margin) * scores[other]:
                return None
            break
    return range(index, index + 1)


def _select_readable(
    document: PreparedDocument,
    ranking: Sequence[int],
    count: int,
    max_chars: int | None,
    max_antecedents: int,
    antecedent_limit: int,
    scores: Sequence[float] | None,
    margin: float | None,
) -> list[int]:
    good = set(ranking[:antecedent_limit])
    picked: set[int] = set()
    seen_texts: set[str] = set()
    used = 0
    # After each pick, start again from the best-ranked sentence: a sentence left out
    # because its antecedent was missing may now have it.
    while len(picked) < count:
        for index in ranking:
            if index in picked:
                continue
            unit = _unit(document, index, picked, max_antecedents, good)
            if unit is None and scores is not None and margin is not None:
                unit = _alone(document, index, ranking, picked, scores, margin)
            if unit is None:
                continue
            new = [i for i in unit if i not in picked]
            texts = [document.sentences[i].text for i in new]
            if len(picked) + len(new) > count or seen_texts.intersection(texts):
                continue
            length = sum(len(t) for t in texts) + len(texts) - (0 if picked else 1)
            if max_chars is not None and used + length > max_chars:
                continue
            picked.update(new)
            seen_texts.update(texts)
            used += length
            break
        else:
            break
    return sorted(picked)


def _shorten(text: str, max_chars: int) -> str:
    """Cut at a word boundary and mark the cut; only used when no sentence fits at all."""
    cut = text[: max(1, max_chars - len(_ELLIPSIS))]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + _ELLIPSIS


class Summarizer:
    """A configured summarizer: ``Summarizer(method="lexrank")(article)``."""

    def __init__(
        self,
        method: str = "default",
        sentences: int = DEFAULT_SENTENCES,
        max_chars: int | None = DEFAULT_MAX_CHARS,
        language: str | None = None,
    ) -> None:
        if sentences < 1:
            raise SummarizerError("the summary needs at least one sentence")
        if max_chars is not None and max_chars < 40:
            raise SummarizerError("the character budget must be at least 40")
        self.method_name, self._method = get_method(method)
        self.sentences = sentences
        self.max_chars = max_chars
        self.language = language

    @property
    def method(self) -> Method:
        """The ranking method in use."""
        return self._method

    def summarize_document(self, document: PreparedDocument) -> Summary:
        """Summarize an already prepared document."""
        ranking = self._method(document, self.sentences)
        order = ranking.order
        picked = select(document, order, self.sentences, self.max_chars, scores=ranking.scores)
        texts = [document.sentences[i].text for i in picked]
        if not texts and order and self.max_chars is not None:
            texts = [_shorten(document.sentences[order[0]].text, self.max_chars)]
        return Summary(
            tuple(texts),
            self.method_name,
            document.language.name,
            document.truncated,
            short_text=self._within_budget(document),
        )

    def _within_budget(self, document: PreparedDocument) -> bool:
        sentences = document.sentences
        if document.truncated or not sentences or len(sentences) > self.sentences:
            return False
        length = sum(len(s.text) for s in sentences) + len(sentences) - 1
        return self.max_chars is None or length <= self.max_chars

    def __call__(self, article: Article) -> Summary:
        return self.summarize_document(prepare(article, self.language))


def summarize(
    article: Article,
    *,
    sentences: int = DEFAULT_SENTENCES,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    method: str = "default",
    language: str | None = None,
) -> Summary:
    """Summarize an article in at most ``sentences`` sentences and ``max_chars`` characters."""
    return Summarizer(method, sentences, max_chars, language)(article)
