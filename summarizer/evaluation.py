"""ROUGE evaluation of summarization methods on JSON-lines data sets.

Each line is ``{"id", "title", "text", "summary"}``; ``text`` has paragraphs separated by
blank lines and ``summary`` is the reference, one sentence per line. Scores are F1 of
ROUGE-1, ROUGE-2 and ROUGE-L (``rouge-score`` with Porter stemming), as fractions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import rouge_scorer

from .article import Article
from .errors import SummarizerError
from .summarize import Summarizer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class EvalItem:
    """One article with its reference summary."""

    id: str
    title: str
    text: str
    reference: str

    def article(self, language: str = "english") -> Article:
        """The item as an article (paragraphs from blank lines)."""
        paragraphs = tuple(p.strip() for p in self.text.split("\n\n") if p.strip())
        return Article(title=self.title, paragraphs=paragraphs, language=language)


@dataclass(frozen=True)
class MethodScore:
    """Mean F1 scores and time of one method over a data set."""

    rouge1: float
    rouge2: float
    rougeL: float  # the metric's own name
    ms_per_article: float
    failures: int = 0

    def as_dict(self) -> dict[str, float]:
        """The figures as the JSON output prints them."""
        return {
            "rouge1": self.rouge1,
            "rouge2": self.rouge2,
            "rougeL": self.rougeL,
            "ms_per_article": self.ms_per_article,
        }


def _record(path: str | Path, number: int, line: str) -> EvalItem:
    """One line of an evaluation set: a JSON object whose "text" and "summary" are
    texts; else ``SummarizerError`` saying what is wrong, in words."""
    where = f"{path}:{number}: not an evaluation record"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SummarizerError(f"{where} (not JSON: {exc.msg}, column {exc.colno})") from None
    if not isinstance(row, dict):
        raise SummarizerError(f'{where} (a JSON object with "text" and "summary" is expected)')
    for field in ("text", "summary"):
        if field not in row:
            raise SummarizerError(f'{where} (it has no "{field}")')
        if not isinstance(row[field], str):
            raise SummarizerError(f'{where} (its "{field}" is not a text)')
        if not row[field].strip():  # it would score 0 and pull the mean down unseen
            raise SummarizerError(f'{where} (its "{field}" is empty)')
    return EvalItem(
        id=str(row.get("id", number)),
        title=str(row.get("title") or ""),
        text=row["text"],
        reference=row["summary"],
    )


def load_jsonl(path: str | Path) -> list[EvalItem]:
    """Read an evaluation set; a missing or unreadable file, or a malformed line, raises
    ``SummarizerError`` naming it."""
    items: list[EvalItem] = []
    try:
        with Path(path).open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                items.append(_record(path, number, line))
    except UnicodeDecodeError:
        raise SummarizerError(
            f'{path} is not a UTF-8 text file of JSON lines ({{"text", "summary"}} per line)'
        ) from None
    except OSError as exc:
        raise SummarizerError(f"cannot read {path}: {exc.strerror or exc}") from None
    return items


def evaluate(
    items: Sequence[EvalItem],
    methods: Iterable[str],
    *,
    sentences: int = 3,
    max_chars: int | None = None,
    on_progress: Callable[[], None] | None = None,
) -> dict[str, MethodScore]:
    """Score each method over the items. Time covers the whole pipeline per article."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    results: dict[str, MethodScore] = {}
    articles = [item.article() for item in items]
    for name in methods:
        summarizer = Summarizer(name, sentences=sentences, max_chars=max_chars)
        totals = dict.fromkeys(ROUGE_TYPES, 0.0)
        elapsed = 0.0
        failures = 0
        for item, article in zip(items, articles, strict=True):
            start = time.perf_counter()
            try:
                summary = summarizer(article)
            except SummarizerError:
                failures += 1
                text = ""
            else:
                text = "\n".join(summary.sentences)
            elapsed += time.perf_counter() - start
            score = scorer.score(item.reference, text)
            for key in ROUGE_TYPES:
                totals[key] += score[key].fmeasure
            if on_progress is not None:
                on_progress()
        n = max(1, len(items))
        results[summarizer.method_name] = MethodScore(
            rouge1=totals["rouge1"] / n,
            rouge2=totals["rouge2"] / n,
            rougeL=totals["rougeL"] / n,
            ms_per_article=1000 * elapsed / n,
            failures=failures,
        )
    return results
