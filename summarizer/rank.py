"""``newsrank``: the default method: position-aware centrality with redundancy removal.

A sentence matters if much of the rest of the article speaks of the same things
(centrality over shared content words), counted a little more towards what follows it
than what precedes it and more towards the opening of the article than its tail, plus
its similarity to the document as a whole. To that it adds a position prior that follows
the article's own structure: the first sentence of a paragraph is usually its topic
sentence (Baxendale's finding), so the prior decays with the position *inside* the
paragraph, with a faint extra prior for the article's opening. Text without paragraph
breaks is one paragraph, and the same prior then acts as a plain lead prior. A length
prior relative to the article's mean sentence favours full sentences over captions and
fragments; sentences opening with a quotation are mildly discounted. Sentences are then
picked greedily, each new one penalized by its similarity to those already picked (MMR).

The weights were tuned on two English development sets that pull in opposite directions
(long machine-picked BBC extracts reward centrality and long sentences, short human CNN
highlights reward the lead); see docs/summarizer.md for the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import PreparedDocument

# Characters that open a direct quotation in the languages we support.
_OPENING_QUOTES = frozenset("\"“'‘«„")
# Ranking beyond the first few picks only matters when the character budget skips
# sentences; past this many picks per requested sentence the rest keep salience order.
_MMR_DEPTH = 3


@dataclass(frozen=True)
class NewsRankParams:
    """The weights of newsrank; the defaults are the tuned values (see docs/summarizer.md)."""

    # Centrality: similarity to earlier sentences counts this much relative to later ones.
    backward: float = 0.9
    # Similarity to sentence j counts exp(-reach_decay * j): the opening sets the topic.
    reach_decay: float = 0.02
    # Sharpens the centrality (normalized to a maximum of 1) before priors are added.
    centrality_power: float = 1.5
    # Weight of the TF-IDF cosine between the sentence and the whole document.
    document_weight: float = 0.3
    # Topic-sentence prior: weight * exp(-decay * index of the sentence in its paragraph).
    paragraph_weight: float = 0.6
    paragraph_decay: float = 0.07
    # Lead prior over the whole article: weight * exp(-decay * sentence index).
    position_weight: float = 0.05
    position_decay: float = 0.05
    # Multiplies a sentence that opens with a quotation by (1 - quote_penalty).
    quote_penalty: float = 0.1
    # Multiplies salience by (words / mean words per sentence) ** length_power.
    length_power: float = 0.25
    # MMR: salience minus redundancy times the highest similarity to a picked sentence.
    redundancy: float = 0.3
    # Multiplies a sentence that leans on the one before it (a pronoun or connective
    # opening it) by (1 - lean_penalty), and one whose quotation cannot be taken whole by
    # (1 - split_quote_penalty): the selection would have to skip them or pair them.
    lean_penalty: float = 0.0
    split_quote_penalty: float = 0.0


DEFAULT_PARAMS = NewsRankParams()


@dataclass(frozen=True)
class _Matrices:
    """What newsrank compares, computed from the terms in one pass."""

    overlap: np.ndarray  # cosine of the sentences' binary term vectors, diagonal zero
    to_document: np.ndarray  # TF-IDF cosine of each sentence with the whole document


def _matrices(document: PreparedDocument) -> _Matrices:
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

    # Binary cosine: shared distinct terms over the geometric mean of distinct terms.
    # A sentence without terms cannot come out of prepare(); the guards keep one harmless.
    norms = np.maximum(np.sqrt(np.bincount(row, minlength=n)), 1e-12)
    shared = _shared_term_counts(row, col, df, n)
    overlap = shared / np.outer(norms, norms)
    np.fill_diagonal(overlap, 0.0)

    # TF-IDF (sublinear tf, smoothed idf), rows L2-normalized, against their sum.
    weight = (1.0 + np.log(tf)) * (np.log((1 + n) / (1 + df[col])) + 1.0)
    weight /= np.maximum(np.sqrt(np.bincount(row, weights=weight**2, minlength=n)), 1e-12)[row]
    centroid = np.bincount(col, weights=weight, minlength=size)
    norm = max(float(np.linalg.norm(centroid)), 1e-12)
    to_document = np.bincount(row, weights=weight * centroid[col], minlength=n) / norm
    return _Matrices(overlap, to_document)


def _shared_term_counts(row: np.ndarray, col: np.ndarray, df: np.ndarray, n: int) -> np.ndarray:
    """How many distinct terms each pair of sentences shares (diagonal not meaningful).

    Every term found in k >= 2 sentences adds one to each of its k * k sentence pairs.
    """
    keep = df[col] >= 2
    row, col = row[keep], col[keep]
    if not len(row):
        return np.zeros((n, n))
    order = np.argsort(col, kind="stable")
    row, col = row[order], col[order]
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    sizes = np.diff(np.r_[starts, len(col)])
    # Entry e of a group of size k pairs with the k entries of its group.
    per_entry = np.repeat(sizes, sizes)
    group_start = np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(row)), per_entry)
    first = np.repeat(np.cumsum(per_entry) - per_entry, per_entry)
    right = np.repeat(group_start, per_entry) + (np.arange(len(left)) - first)
    pairs = row[left] * n + row[right]
    return np.bincount(pairs, minlength=n * n).reshape(n, n).astype(float)


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
    quoted = np.array([s.text[:1] in _OPENING_QUOTES for s in document.sentences])
    salience = salience * np.where(quoted, 1.0 - params.quote_penalty, 1.0)
    leaning = np.array([s.leans_back and s.index > 0 for s in document.sentences])
    salience = salience * np.where(leaning, 1.0 - params.lean_penalty, 1.0)
    split = np.array([s.group is None or s.group[0] != s.group[1] for s in document.sentences])
    salience = salience * np.where(split, 1.0 - params.split_quote_penalty, 1.0)
    words = np.array([s.n_words for s in document.sentences], dtype=float)
    relative = words / max(1.0, float(words.mean()))
    return np.asarray(salience * relative**params.length_power)


def scores(document: PreparedDocument, params: NewsRankParams = DEFAULT_PARAMS) -> np.ndarray:
    """Salience of every sentence before redundancy removal."""
    return _salience(document, _matrices(document), params)


def newsrank(
    document: PreparedDocument, count: int, params: NewsRankParams = DEFAULT_PARAMS
) -> list[int]:
    """Rank sentences, best first, with greedy redundancy removal (MMR)."""
    n = len(document)
    matrices = _matrices(document)
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
    return chosen
