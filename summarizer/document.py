"""Stage 3 of the pipeline: an article cut into sentences and stemmed terms, once.

Every method works from this prepared form, so the text is tokenized and stemmed a single
time whatever method runs, and the limits that keep huge inputs bounded live here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .article import Article
from .errors import SummarizerError
from .nlp.cohesion import Lean, is_fragment, lean, quote_groups
from .nlp.detect import detect_language
from .nlp.languages import Language, get_language
from .nlp.tokenize import content_words, split_sentences, terms

# About 30,000 words: longer than any news article. Longer input is cut, not refused.
MAX_INPUT_CHARS = 200_000
MAX_SENTENCES = 600
# A "sentence" longer than this is a run-on table or a wall of text without periods.
MAX_SENTENCE_CHARS = 2_000
NO_SENTENCE_BREAKS = (
    "nothing to summarize: the text has no sentence breaks (no sentence ends within "
    f"{MAX_SENTENCE_CHARS:,} characters)"
)
# A quotation spread over more sentences than this is never taken whole.
MAX_QUOTE_SENTENCES = 1


@dataclass(frozen=True)
class Sentence:
    """One sentence, verbatim, with where it sits and what it says."""

    text: str
    index: int
    paragraph: int
    terms: tuple[str, ...]
    n_words: int
    # The distinct content words as written (lower-cased, not stemmed): two sentences that
    # share a word form agree more closely than two that only share its stem.
    forms: frozenset[str] = frozenset()
    # Opens with a pronoun, demonstrative or connective, or quotes a bare pronoun: how much
    # it needs the sentence before it to be understood.
    lean: Lean = Lean.NONE
    # The first and last index of the sentences it must be taken with so that every
    # quotation is whole (itself alone for most sentences); None if that is impossible.
    group: tuple[int, int] | None = None
    # Too short to be a sentence, or cut out of one: a reader cannot use it alone.
    fragment: bool = False

    @property
    def leans_back(self) -> bool:
        """Needs the sentence before it, whether for its subject or for its connective."""
        return self.lean is not Lean.NONE


@dataclass(frozen=True)
class PreparedDocument:
    """A tokenized article ready for any summarization method."""

    title: str
    title_terms: tuple[str, ...]
    language: Language
    sentences: tuple[Sentence, ...]
    truncated: bool

    def __len__(self) -> int:
        return len(self.sentences)


def resolve_language(article: Article, language: str | None = None) -> Language:
    """The explicit language, else the article's, else one detected from the text.

    A named language that is not supported gets the generic fallback rather than a guess:
    detection only runs when nobody said what the language is.
    """
    name = language or article.language
    if name:
        return get_language(name)
    return get_language(detect_language(f"{article.title}\n{article.text[:20_000]}"))


def _with_quote_groups(paragraph: list[Sentence]) -> list[Sentence]:
    """The sentences of one paragraph with the span of their quotation group."""
    starts = quote_groups([s.text for s in paragraph], MAX_QUOTE_SENTENCES)
    ends: dict[int, int] = {}
    for position, start in enumerate(starts):
        if start is not None:
            ends[start] = position
    offset = paragraph[0].index if paragraph else 0
    return [
        replace(s, group=None if start is None else (offset + start, offset + ends[start]))
        for s, start in zip(paragraph, starts, strict=True)
    ]


def prepare(article: Article, language: str | None = None) -> PreparedDocument:
    """Split, tokenize and stem an article; raise ``SummarizerError`` if nothing is left."""
    lang = resolve_language(article, language)
    sentences: list[Sentence] = []
    budget = MAX_INPUT_CHARS
    truncated = False
    overlong = False  # a sentence left out for its length: text without full stops
    for p_index, paragraph in enumerate(article.paragraphs):
        if budget <= 0 or len(sentences) >= MAX_SENTENCES:
            truncated = True
            break
        if len(paragraph) > budget:
            paragraph = paragraph[:budget]
            truncated = True
        budget -= len(paragraph)
        kept: list[Sentence] = []
        for text in split_sentences(paragraph, lang):
            if len(sentences) + len(kept) >= MAX_SENTENCES:
                truncated = True
                break
            if len(text) > MAX_SENTENCE_CHARS:
                overlong = True
                continue
            forms = content_words(text, lang)
            if not forms:
                continue
            sentence_terms = tuple(lang.stemmer(w) for w in forms)
            n_words = len(text.split())
            index = len(sentences) + len(kept)
            kept.append(
                Sentence(
                    text,
                    index,
                    p_index,
                    sentence_terms,
                    n_words,
                    forms=frozenset(forms),
                    lean=lean(text, lang),
                    fragment=is_fragment(text, n_words),
                )
            )
        sentences.extend(_with_quote_groups(kept))
    if not sentences:
        if not article.text.strip():
            raise SummarizerError("nothing to summarize: the text is empty")
        if overlong:
            raise SummarizerError(NO_SENTENCE_BREAKS)
        raise SummarizerError("nothing to summarize: no sentences with words were found")
    return PreparedDocument(
        title=article.title,
        title_terms=tuple(terms(article.title, lang)),
        language=lang,
        sentences=tuple(sentences),
        truncated=truncated,
    )
