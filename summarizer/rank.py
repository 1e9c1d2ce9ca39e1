"""``newsrank``: the default method: position-aware centrality with redundancy removal.

News puts its most important facts first, yet the first sentence alone rarely covers a
story. newsrank scores each sentence by how much of the *rest of the article* it speaks
for, looking forward more than backward (a sentence that later sentences elaborate on is
a lead; one that repeats earlier ones is a recap), multiplies in a gentle position prior
and a length prior that keeps captions and one-line quotes out, and then picks sentences
greedily, each new one penalized by its similarity to those already picked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import PreparedDocument


@dataclass(frozen=True)
class NewsRankParams:
    """The weights of newsrank; the defaults are the tuned values (see docs/summarizer.md)."""

    forward: float = 1.0
    backward: float = 0.3
    position_decay: float = 0.15
    position_weight: float = 0.5
    title_weight: float = 0.3
    min_words: int = 8
    short_penalty: float = 0.4
    redundancy: float = 0.5


DEFAULT_PARAMS = NewsRankParams()


def similarity_matrix(document: PreparedDocument) -> np.ndarray:
    """Cosine similarity of the sentences' TF-IDF vectors (sublinear tf, smoothed idf)."""
    vocabulary: dict[str, int] = {}
    rows: list[dict[int, int]] = []
    for sentence in document.sentences:
        counts: dict[int, int] = {}
        for term in sentence.terms:
            column = vocabulary.setdefault(term, len(vocabulary))
            counts[column] = counts.get(column, 0) + 1
        rows.append(counts)
    matrix = np.zeros((len(rows), len(vocabulary)))
    for i, counts in enumerate(rows):
        for column, count in counts.items():
            matrix[i, column] = 1.0 + np.log(count)
    df = (matrix > 0).sum(axis=0)
    matrix *= np.log((1 + len(rows)) / (1 + df)) + 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms == 0, 1.0, norms)
    return matrix @ matrix.T


def title_similarity(document: PreparedDocument) -> np.ndarray:
    """Share of each sentence's distinct terms that appear in the title."""
    title = set(document.title_terms)
    if not title:
        return np.zeros(len(document))
    return np.array(
        [len(title.intersection(s.terms)) / len(title) for s in document.sentences]
    )


def scores(document: PreparedDocument, params: NewsRankParams = DEFAULT_PARAMS) -> np.ndarray:
    """Salience of every sentence before redundancy removal."""
    n = len(document)
    sim = similarity_matrix(document)
    np.fill_diagonal(sim, 0.0)
    later = np.triu(sim, k=1).sum(axis=1)
    earlier = np.tril(sim, k=-1).sum(axis=1)
    centrality = params.forward * later + params.backward * earlier
    top = centrality.max()
    if top > 0:
        centrality = centrality / top
    position = np.exp(-params.position_decay * np.arange(n))
    words = np.array([s.n_words for s in document.sentences], dtype=float)
    length = np.where(words < params.min_words, params.short_penalty, 1.0)
    salience = (
        centrality
        + params.position_weight * position
        + params.title_weight * title_similarity(document)
    )
    return np.asarray(salience * length)


def newsrank(
    document: PreparedDocument, count: int, params: NewsRankParams = DEFAULT_PARAMS
) -> list[int]:
    """Rank sentences, best first, with greedy redundancy removal (MMR)."""
    n = len(document)
    salience = scores(document, params)
    sim = similarity_matrix(document)
    chosen: list[int] = []
    penalty = np.zeros(n)
    available = np.ones(n, dtype=bool)
    for _ in range(n):
        adjusted = np.where(available, salience - params.redundancy * penalty, -np.inf)
        best = int(np.argmax(adjusted))
        chosen.append(best)
        available[best] = False
        penalty = np.maximum(penalty, sim[best])
    return chosen
