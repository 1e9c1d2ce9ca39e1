"""Summary quality on the development sets: ROUGE and readability, per variant and half.

    python bench/quality.py                      # the main variants, both sets, all halves
    python bench/quality.py --variants default,plain --sets cnn --halves even
    python bench/quality.py --list               # every variant this harness knows

For each article of ``../shared/eval/bbc_dev.jsonl`` and ``cnn_dev.jsonl`` (not part of
this repository) and each variant, it summarizes with the project's own pipeline
(``prepare`` -> method -> ``select``) and reports:

- ROUGE-1/2/L F1 x 100 (``rouge-score``, Porter stemming), 3 sentences, no character
  budget: exactly what ``newsdigest eval`` computes;
- the share of summaries with a *dangling reference* and with an *unbalanced quote*,
  3 sentences within 600 characters (the digest's budget), by the definitions of
  ``../shared/eval/readability.py``: a summary sentence dangles when it opens with
  He/She/They/It/His/Her/Their/Its/This/These/That/Those/But/However/Also/Still/Yet (after
  opening quotes or brackets) or attributes a quote to a bare pronoun ("..., he said."),
  and the article sentence right before it is not in the summary (the first sentence never
  dangles); a run of consecutive summary sentences has an unbalanced quote when a curly
  double quote closes without opening or stays open, or its straight double quotes are odd.

Halves: the articles are split by the parity of the last number in their id; the
parameters of the default were tuned on the even half and checked on the odd half.

The variants are defined in ``VARIANTS`` below: a method, the readable selection on or
off, how far back it may reach for an antecedent, and newsrank parameters.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and its name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from rouge_score import rouge_scorer  # noqa: E402  (needs the sys.path fix above)

from summarizer.document import PreparedDocument, prepare  # noqa: E402
from summarizer.evaluation import EvalItem, load_jsonl  # noqa: E402
from summarizer.methods import METHODS  # noqa: E402
from summarizer.nlp.cohesion import Lean  # noqa: E402
from summarizer.rank import DEFAULT_PARAMS, NewsRankParams, newsrank  # noqa: E402
from summarizer.summarize import ANTECEDENT_RANK, MAX_ANTECEDENTS, select  # noqa: E402

REPO = HERE.parent
EVAL = REPO.parent / "shared" / "eval"
SETS = {"bbc": EVAL / "bbc_dev.jsonl", "cnn": EVAL / "cnn_dev.jsonl"}
SENTENCES = 3
BUDGET = 600


@dataclass(frozen=True)
class Variant:
    """One way of summarizing: a method, a selection and (for newsrank) its parameters."""

    method: str = "newsrank"
    readable: bool = True
    max_antecedents: int = MAX_ANTECEDENTS
    antecedent_rank: float = ANTECEDENT_RANK
    params: dict[str, float] = field(default_factory=dict)
    # Experiments: pretend no sentence leans back / every sentence is its own quote group.
    ignore_leaning: bool = False
    ignore_quotes: bool = False
    note: str = ""


VARIANTS: dict[str, Variant] = {
    "default": Variant(note="the shipped default"),
    "plain": Variant(readable=False, note="newsrank, selection before this work"),
    "skip-only": Variant(max_antecedents=0, note="leaning sentences skipped, never paired"),
    "pair-2": Variant(max_antecedents=2, note="up to two antecedents"),
    "pair-any": Variant(antecedent_rank=1000, note="antecedent taken whatever its rank"),
    "pair-top1": Variant(antecedent_rank=1, note="antecedent only if among the best 1 x count"),
    "pair-top1.5": Variant(antecedent_rank=1.5, note="antecedent among the best 1.5 x count"),
    "pair-top3": Variant(antecedent_rank=3, note="antecedent only if among the best 3 x count"),
    "quotes-only": Variant(ignore_leaning=True, note="whole quotations, leaning ignored"),
    "leaning-only": Variant(ignore_quotes=True, note="antecedents, quotations ignored"),
    "lean-0.3": Variant(params={"lean_penalty": 0.3}),
    "lean-0.6": Variant(params={"lean_penalty": 0.6}),
    "lean-1": Variant(params={"lean_penalty": 1.0}),
    "lean-1-q1": Variant(params={"lean_penalty": 1.0, "split_quote_penalty": 1.0}),
    "lean-0.6-q0.3": Variant(params={"lean_penalty": 0.6, "split_quote_penalty": 0.3}),
    "lead": Variant(method="lead", note="Lead-3, readable selection"),
    "lead-plain": Variant(method="lead", readable=False, note="Lead-3 as before"),
    "reduction": Variant(method="reduction", note="sumy Reduction, readable selection"),
    "reduction-plain": Variant(method="reduction", readable=False, note="sumy Reduction"),
    "textrank-plain": Variant(method="textrank", readable=False, note="sumy TextRank"),
}
MAIN = ("default", "plain", "lead", "lead-plain", "reduction", "reduction-plain")

_OPENERS = re.compile(
    r"^[\"'“‘(\[]*\s*(?:He|She|They|It|His|Her|Their|Its|This|These|That|Those|But|However"
    r"|Also|Still|Yet)\b"
)
_ATTRIBUTION = re.compile(
    r"\b(?:he|she|they)\s+(?:said|says|added|adds|told|tells|explained|noted|continued|wrote)"
    r"\b[^.!?]*[.!?]?[\"”']?\s*$",
    re.IGNORECASE,
)


def dangles(sentence: str) -> bool:
    """The readability check's definition of a sentence that leans on the one before."""
    return bool(_OPENERS.match(sentence) or _ATTRIBUTION.search(sentence))


def unbalanced(text: str) -> bool:
    """The readability check's definition of a cut quotation."""
    depth = 0
    for char in text:
        if char == "“":
            depth += 1
        elif char == "”":
            if depth == 0:
                return True
            depth -= 1
    return depth != 0 or text.count('"') % 2 == 1


def half_of(item_id: str) -> str:
    """'even' or 'odd' by the last number in the id."""
    numbers = re.findall(r"\d+", item_id)
    return "odd" if numbers and int(numbers[-1]) % 2 else "even"


def _as_variant_sees_it(variant: Variant, document: PreparedDocument) -> PreparedDocument:
    if not (variant.ignore_leaning or variant.ignore_quotes):
        return document
    sentences = tuple(
        replace(
            s,
            lean=Lean.NONE if variant.ignore_leaning else s.lean,
            group=(s.index, s.index) if variant.ignore_quotes else s.group,
        )
        for s in document.sentences
    )
    return replace(document, sentences=sentences)


def _ranking(variant: Variant, document: PreparedDocument) -> list[int]:
    if variant.method == "newsrank" and variant.params:
        params: NewsRankParams = replace(DEFAULT_PARAMS, **variant.params)
        return newsrank(document, SENTENCES, params)
    return METHODS[variant.method](document, SENTENCES)


@dataclass
class Tally:
    """Running sums for one variant on one half of one set."""

    n: int = 0
    rouge: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_TYPES, 0.0))
    dangling: int = 0
    quotes: int = 0

    def row(self) -> str:
        n = max(1, self.n)
        r1, r2, rl = (100 * self.rouge[k] / n for k in _TYPES)
        return (
            f"{r1:6.2f} {r2:6.2f} {rl:6.2f}   {100 * self.dangling / n:5.1f}% "
            f"{100 * self.quotes / n:5.1f}%   {self.n:5d}"
        )


_TYPES = ("rouge1", "rouge2", "rougeL")


def readability_flags(document: PreparedDocument, picked: list[int]) -> tuple[bool, bool]:
    """(has a dangling sentence, has an unbalanced quote) for picked indices."""
    texts = [s.text for s in document.sentences]
    # The readability check finds each summary sentence by its first occurrence.
    picked = sorted({texts.index(texts[i]) for i in picked})
    chosen = set(picked)
    dangling = any(i > 0 and i - 1 not in chosen and dangles(texts[i]) for i in picked)
    runs: list[list[int]] = []
    for index in picked:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    quotes = any(unbalanced(" ".join(texts[i] for i in run)) for run in runs)
    return dangling, quotes


def measure(
    items: list[EvalItem], variants: dict[str, Variant], halves: Iterable[str]
) -> dict[tuple[str, str], Tally]:
    """Tallies per (variant, half) over the items."""
    scorer = rouge_scorer.RougeScorer(list(_TYPES), use_stemmer=True)
    wanted = set(halves)
    tallies: dict[tuple[str, str], Tally] = {}
    for item in items:
        half = half_of(item.id)
        document = prepare(item.article())
        for name, variant in variants.items():
            ranking = _ranking(variant, document)
            options = {
                "readable": variant.readable,
                "max_antecedents": variant.max_antecedents,
                "antecedent_rank": variant.antecedent_rank,
            }
            seen = _as_variant_sees_it(variant, document)
            full = select(seen, ranking, SENTENCES, None, **options)
            budget = select(seen, ranking, SENTENCES, BUDGET, **options)
            summary = "\n".join(document.sentences[i].text for i in full)
            score = scorer.score(item.reference, summary)
            dangling, quotes = readability_flags(document, budget)
            for key in (half, "all"):
                if key not in wanted:
                    continue
                tally = tallies.setdefault((name, key), Tally())
                tally.n += 1
                for rouge_type in _TYPES:
                    tally.rouge[rouge_type] += score[rouge_type].fmeasure
                tally.dangling += dangling
                tally.quotes += quotes
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(MAIN), help="comma-separated names")
    parser.add_argument("--sets", default="bbc,cnn", help="bbc, cnn or both")
    parser.add_argument("--halves", default="even,odd,all", help="even, odd, all")
    parser.add_argument("--limit", type=int, default=0, help="first N articles of each set")
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="add a default-variant copy per value of a newsrank parameter (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, variant in VARIANTS.items():
            print(f"{name:18} {variant.note}")
        return 0
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)} (see --list)")
    variants = {name: VARIANTS[name] for name in names}
    for spec in args.grid:
        key, _, values = spec.partition("=")
        if not hasattr(DEFAULT_PARAMS, key):
            parser.error(f"--grid: newsrank has no parameter {key!r}")
        for value in values.split(","):
            variants[f"{key}={value}"] = Variant(params={key: float(value)})
    halves = [h.strip() for h in args.halves.split(",") if h.strip()]
    for set_name in (s.strip() for s in args.sets.split(",")):
        path = SETS[set_name]
        if not path.is_file():
            print(f"{path} is missing: the development sets live in ../shared/eval/")
            return 2
        items = load_jsonl(path)
        if args.limit:
            items = items[: args.limit]
        start = time.perf_counter()
        tallies = measure(items, variants, halves)
        print(
            f"\n{path.name}: {len(items)} articles, {SENTENCES} sentences "
            f"({time.perf_counter() - start:.0f} s)"
        )
        print(f"{'variant':18} {'half':5}     R1     R2     RL   dangling quotes  articles")
        for name in variants:
            for half in halves:
                tally = tallies.get((name, half))
                if tally:
                    print(f"{name:18} {half:5} {tally.row()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
