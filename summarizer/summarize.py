"""The public entry point: article in, summary out (sentences verbatim, in source order)."""

from __future__ import annotations

from dataclasses import dataclass

from .article import Article
from .document import PreparedDocument, prepare
from .errors import SummarizerError
from .methods import Method, get_method

DEFAULT_SENTENCES = 3
# A digest item should stay around 400-600 characters.
DEFAULT_MAX_CHARS = 600
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Summary:
    """The chosen sentences, verbatim and in the order the article has them."""

    sentences: tuple[str, ...]
    method: str
    language: str
    truncated_input: bool = False

    @property
    def text(self) -> str:
        """The sentences joined by spaces."""
        return " ".join(self.sentences)


def select(
    document: PreparedDocument, ranking: list[int], count: int, max_chars: int | None
) -> list[int]:
    """Take ranked sentences while they fit the count and the character budget.

    A sentence that would overflow the budget is skipped in favour of a shorter, lower
    ranked one. Returns indices in source order.
    """
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
        picked = select(document, ranking, self.sentences, self.max_chars)
        texts = [document.sentences[i].text for i in picked]
        if not texts and ranking and self.max_chars is not None:
            texts = [_shorten(document.sentences[ranking[0]].text, self.max_chars)]
        return Summary(tuple(texts), self.method_name, document.language.name, document.truncated)

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
