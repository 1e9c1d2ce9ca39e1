"""``newsrank``: the default method: centrality, topic sentences, redundancy removal.

A sentence matters if much of the rest of the article speaks of the same things
(centrality over shared content words, compared both as stems and as the words written:
two sentences that use the same word form agree more closely than two that share a
stem), plus its similarity to the document as a whole. To that it adds a position prior
that follows the article's own structure: the first sentence of a paragraph is usually
its topic sentence (Baxendale's finding), so the prior decays with the position *inside*
the paragraph. A length prior relative to the article's mean sentence favours full
sentences over captions and fragments. Sentences are then picked greedily, each new one
penalized by its similarity to those already picked (MMR).

Text without paragraph breaks (one block, as wire copy, pasted text and many feeds
arrive) has no topic sentences to find and none of the captions, list items and
headings that come as paragraphs of their own. It is read as a news story in inverted
pyramid form: a steep lead prior over the whole text instead, and no length prior.

The weights were tuned, together with the readable selection of ``summarize``, on two
English development sets that pull in opposite directions (long machine-picked BBC
extracts reward centrality and long sentences, short human CNN highlights reward the
lead; its articles arrive without paragraph breaks); see docs/summarizer.md for the
numbers. Directed centrality (``backward``,
``reach_decay``), a lead prior over every article and a quotation discount are off in the
default but kept as parameters: they reproduce the earlier default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import PreparedDocument
from .ranking import Ranking

# Characters that open a direct quotation in the languages we support.
_OPENING_QUOTES = frozenset("\"“'‘«„")
# Ranking beyond the first few picks only matters when the character budget skips
# sentences; past this many picks per requested sentence the rest keep salience order.
_MMR_DEPTH = 3


@dataclass(frozen=True)
class NewsRankParams:
    """The weights of newsrank; the defaults are the tuned values (see docs/summarizer.md)."""

    # Centrality: similarity to earlier sentences counts this much relative to later ones.
    backward: float = 1.0
    # Similarity to sentence j counts exp(-reach_decay * j): the opening sets the topic.
    reach_decay: float = 0.0
    # Sharpens the centrality (normalized to a maximum of 1) before priors are added.
    centrality_power: float = 1.5
    # Weight of the TF-IDF cosine between the sentence and the whole document.
    document_weight: float = 0.3
    # Topic-sentence prior: weight * exp(-decay * index of the sentence in its paragraph).
    paragraph_weight: float = 0.7
    paragraph_decay: float = 0.03
    # Lead prior over the whole article: weight * exp(-decay * sentence index).
    position_weight: float = 0.0
    position_decay: float = 0.05
    # Text without paragraph breaks: a lead prior weight * exp(-decay * sentence index) on
    # top, and its own length power in place of length_power.
    unstructured_lead_weight: float = 0.6
    unstructured_lead_decay: float = 0.3
    unstructured_length_power: float = 0.0
    # Multiplies a sentence that opens with a quotation by (1 - quote_penalty).
    quote_penalty: float = 0.0
    # Multiplies salience by (words / mean words per sentence) ** length_power.
    length_power: float = 0.36
    # MMR: salience minus redundancy times the highest similarity to a picked sentence.
    redundancy: float = 0.3
    # Sentences are compared on their stems and, with this weight, on their word forms.
    form_weight: float = 1.0


DEFAULT_PARAMS = NewsRankParams()


@dataclass(frozen=True)
class _Matrices:
    """What newsrank compares, computed from the terms in one pass."""

    overlap: np.ndarray  # cosine of the sentences' binary term vectors, diagonal zero
    to_document: np.ndarray  # TF-IDF cosine of each sentence with the whole document


def _matrices(document: PreparedDocument, form_weight: float) -> _Matrices:
    """Both views from sparse (sentence, term) entries: no dense sentence-by-vocabulary
    matrix, whose product costs far more than the few shared terms that matter (and on
    a busy machine a multi-threaded BLAS call for it can cost milliseconds)."""
    n = len(document)
    vocabulary: dict[str, int] = {}
    columns = [
        vocabulary.setdefault(term, len(vocabulary))
        for sentence in document.sentences
        for term in sentence.terms
    ]
    size = max(1, len(vocabulary))
    rows = np.repeat(np.arange(n), [len(s.terms) for s in document.sentences])
    keys, tf = np.unique(rows * size + np.asarray(columns, dtype=np.int64), return_counts=True)
    row, col = keys // size, keys % size
    df = np.bincount(col, minlength=size)

    # Binary cosine over the distinct stems and, weighted, the distinct word forms: shared
    # entries over the geometric mean of the sentences' entries. A sentence without terms
    # cannot come out of prepare(); the guards keep one harmless.
    entry_row, entry_col, entry_weight = row, col, np.ones(len(row))
    if form_weight:
        forms: dict[str, int] = {}
        form_columns = [
            size + forms.setdefault(form, len(forms))
            for sentence in document.sentences
            for form in sentence.forms
        ]
        form_rows = np.repeat(np.arange(n), [len(s.forms) for s in document.sentences])
        entry_row = np.r_[row, form_rows]
        entry_col = np.r_[col, np.asarray(form_columns, dtype=np.int64)]
        entry_weight = np.r_[entry_weight, np.full(len(form_rows), form_weight**2)]
    entry_df = np.bincount(entry_col)
    norms = np.sqrt(np.bincount(entry_row, weights=entry_weight, minlength=n))
    norms = np.maximum(norms, 1e-12)
    shared = _shared_term_counts(entry_row, entry_col, entry_weight, entry_df, n)
    overlap = shared / np.outer(norms, norms)
    np.fill_diagonal(overlap, 0.0)

    # TF-IDF (sublinear tf, smoothed idf), rows L2-normalized, against their sum.
    weight = (1.0 + np.log(tf)) * (np.log((1 + n) / (1 + df[col])) + 1.0)
    weight /= np.maximum(np.sqrt(np.bincount(row, weights=weight**2, minlength=n)), 1e-12)[row]
    centroid = np.bincount(col, weights=weight, minlength=size)
    norm = max(float(np.linalg.norm(centroid)), 1e-12)
    to_document = np.bincount(row, weights=weight * centroid[col], minlength=n) / norm
    return _Matrices(overlap, to_document)


def _shared_term_counts(
    row: np.ndarray, col: np.ndarray, weight: np.ndarray, df: np.ndarray, n: int
) -> np.ndarray:
    """The weight of the distinct terms each pair of sentences shares (diagonal not
    meaningful).

    Every term found in k >= 2 sentences adds its weight to each of its k * k pairs.
    """
    keep = df[col] >= 2
    row, col, weight = row[keep], col[keep], weight[keep]
    if not len(row):
        return np.zeros((n, n))
    order = np.argsort(col, kind="stable")
    row, col, weight = row[order], col[order], weight[order]
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    sizes = np.diff(np.r_[starts, len(col)])
    # Entry e of a group of size k pairs with the k entries of its group.
    per_entry = np.repeat(sizes, sizes)
    group_start = np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(row)), per_entry)
    first = np.repeat(np.cumsum(per_entry) - per_entry, per_entry)
    right = np.repeat(group_start, per_entry) + (np.arange(len(left)) - first)
    pairs = row[left] * n + row[right]
    return np.bincount(pairs, weights=weight[left], minlength=n * n).reshape(n, n)


def _normalized(values: np.ndarray) -> np.ndarray:
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else values


def _index_in_paragraph(document: PreparedDocument) -> np.ndarray:
    out = np.zeros(len(document))
    previous, run = None, 0
    for i, sentence in enumerate(document.sentences):
        run = run + 1 if sentence.paragraph == previous else 0
        previous = sentence.paragraph
        out[i] = run
    return out


def _unstructured(document: PreparedDocument) -> bool:
    """The text came as one block, without paragraph breaks."""
    first = document.sentences[0].paragraph
    return all(s.paragraph == first for s in document.sentences)


def _salience(
    document: PreparedDocument, matrices: _Matrices, params: NewsRankParams
) -> np.ndarray:
    n = len(document)
    index = np.arange(n)
    weighted = matrices.overlap * np.exp(-params.reach_decay * index)[None, :]
    later = np.triu(weighted, k=1).sum(axis=1)
    earlier = np.tril(weighted, k=-1).sum(axis=1)
    centrality = _normalized(later + params.backward * earlier) ** params.centrality_power
    centrality = centrality + params.document_weight * _normalized(matrices.to_document)
    topic_sentence = np.exp(-params.paragraph_decay * _index_in_paragraph(document))
    lead = np.exp(-params.position_decay * index)
    salience = centrality + params.paragraph_weight * topic_sentence + params.position_weight * lead
    length_power = params.length_power
    if _unstructured(document):
        wire_lead = np.exp(-params.unstructured_lead_decay * index)
        salience = salience + params.unstructured_lead_weight * wire_lead
        length_power = params.unstructured_length_power
    quoted = np.array([s.text[:1] in _OPENING_QUOTES for s in document.sentences])
    salience = salience * np.where(quoted, 1.0 - params.quote_penalty, 1.0)
    words = np.array([s.n_words for s in document.sentences], dtype=float)
    relative = words / max(1.0, float(words.mean()))
    return np.asarray(salience * relative**length_power)


def newsrank(
    document: PreparedDocument, count: int, params: NewsRankParams = DEFAULT_PARAMS
) -> Ranking:
    """Rank sentences, best first, with greedy redundancy removal (MMR); the scores are
    the saliences before redundancy removal."""
    n = len(document)
    matrices = _matrices(document, params.form_weight)
    salience = _salience(document, matrices, params)
    chosen: list[int] = []
    penalty = np.zeros(n)
    available = np.ones(n, dtype=bool)
    for _ in range(min(n, max(1, count) * _MMR_DEPTH)):
        adjusted = np.where(available, salience - params.redundancy * penalty, -np.inf)
        best = int(np.argmax(adjusted))
        chosen.append(best)
        available[best] = False
        penalty = np.maximum(penalty, matrices.overlap[best])
    rest = np.argsort(-(salience - params.redundancy * penalty), kind="stable")
    chosen.extend(int(i) for i in rest if available[i])
    return Ranking(chosen, salience.tolist())
