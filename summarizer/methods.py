"""Stage 4: summarization methods. Each ranks the sentences of a prepared document.

A method is a callable ``(document, count) -> Ranking``: sentence indices, best first,
and the sentences' scores when the method's scores can be compared as ratios. The
selection of the final sentences (count, character budget, source order) is shared and
lives in ``summarize``. Every sumy summarizer is available by name, next to a ``lead``
baseline and ``newsrank``, the default (see ``rank.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sumy.models.dom import ObjectDocumentModel, Paragraph
from sumy.models.dom import Sentence as SumySentence
from sumy.summarizers.edmundson import EdmundsonSummarizer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

from .document import PreparedDocument
from .errors import UnknownMethodError
from .nlp.tokenize import SumyTokenizer
from .rank import newsrank
from .ranking import Ranking

Method = Callable[[PreparedDocument, int], Ranking]

DEFAULT_METHOD = "newsrank"

_SUMY_CLASSES: dict[str, Callable[..., Any]] = {
    "lexrank": LexRankSummarizer,
    "textrank": TextRankSummarizer,
    "lsa": LsaSummarizer,
    "luhn": LuhnSummarizer,
    "edmundson": EdmundsonSummarizer,
    "kl": KLSummarizer,
    "sumbasic": SumBasicSummarizer,
    "reduction": ReductionSummarizer,
}
# Edmundson's cue method needs words that make a sentence less likely to be chosen.
_STIGMA_WORDS = ("advertisement", "subscribe", "newsletter", "cookie", "click", "sign")


def to_sumy_document(document: PreparedDocument) -> ObjectDocumentModel:
    """The same sentences as a sumy document model, for sumy's summarizers."""
    tokenizer = SumyTokenizer(document.language)
    paragraphs: dict[int, list[SumySentence]] = {}
    for sentence in document.sentences:
        paragraphs.setdefault(sentence.paragraph, []).append(SumySentence(sentence.text, tokenizer))
    return ObjectDocumentModel([Paragraph(p) for p in paragraphs.values()])


def _configure(name: str, document: PreparedDocument) -> Any:
    language = document.language
    summarizer = _SUMY_CLASSES[name](language.stemmer)
    if name == "edmundson":
        # Edmundson's methods refuse empty word sets; title words are the classic bonus words.
        summarizer.null_words = language.stop_words or {"the"}
        summarizer.bonus_words = set(document.title.lower().split()) - language.stop_words or {
            "said"
        }
        summarizer.stigma_words = _STIGMA_WORDS
    else:
        summarizer.stop_words = language.stop_words
    return summarizer


def sumy_method(name: str) -> Method:
    """Rank sentences with the sumy summarizer of that name."""

    def rank(document: PreparedDocument, count: int) -> Ranking:
        summarizer = _configure(name, document)
        ranked: list[Any] = []

        def capture(infos: Sequence[Any]) -> Sequence[Any]:
            # sumy hands the "count" callable every sentence sorted by rating: keep them all.
            ranked.extend(infos)
            return infos[:count]

        summarizer(to_sumy_document(document), capture)
        positions: dict[str, list[int]] = {}
        for sentence in document.sentences:
            positions.setdefault(sentence.text, []).append(sentence.index)
        order: list[int] = []
        for info in ranked:
            slots = positions.get(str(info.sentence))
            if slots:
                order.append(slots.pop(0))
        # sumy's ratings differ in sign and scale from one summarizer to the next.
        return Ranking(order)

    rank.__name__ = f"sumy_{name}"
    return rank


def lead(document: PreparedDocument, count: int) -> Ranking:
    """The first sentences: the classic news baseline."""
    return Ranking(list(range(len(document))))


METHODS: dict[str, Method] = {
    DEFAULT_METHOD: newsrank,
    "lead": lead,
    **{name: sumy_method(name) for name in _SUMY_CLASSES},
}


def get_method(name: str) -> tuple[str, Method]:
    """The canonical name and the method for a name; ``default`` names the default."""
    key = name.strip().lower()
    if key == "default":
        key = DEFAULT_METHOD
    try:
        return key, METHODS[key]
    except KeyError:
        known = ", ".join(["default", *METHODS])
        raise UnknownMethodError(f"unknown method {name!r}; choose one of: {known}") from None
