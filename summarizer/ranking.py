"""What a summarization method returns: the sentences best first, and maybe their scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Ranking(NamedTuple):
    """Sentence indices, best first, and the score of every sentence (by index) when the
    method has scores that can be compared as ratios (positive, higher is better).

    The selection uses the scores to decide close calls, such as whether a sentence that
    opens with a connective is worth taking without the sentence before it.
    """

    order: list[int]
    scores: Sequence[float] | None = None
