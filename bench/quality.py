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
off, how far back it may reach for an antecedent, whether a sentence opening with a
connective may stand alone (and at what score margin), and newsrank parameters.
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
from summarizer.ranking import Ranking  # noqa: E402
from summarizer.summarize import (  # noqa: E402
    ANTECEDENT_RANK,
    CONNECTIVE_MARGIN,
    MAX_ANTECEDENTS,
    select,
)

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
    # None: a sentence opening with a connective never stands without its antecedent.
    connective_margin: float | None = CONNECTIVE_MARGIN
    params: dict[str, float] = field(default_factory=dict)
    # Experiments: pretend no sentence leans back / every sentence is its own quote group.
    ignore_leaning: bool = False
    ignore_quotes: bool = False
    note: str = ""


# newsrank's parameters before the re-tuning of issue 10 (tuned for the plain selection).
BEFORE: dict[str, float] = {
    "backward": 0.9,
    "reach_decay": 0.02,
    "centrality_power": 1.5,
    "document_weight": 0.3,
    "paragraph_weight": 0.6,
    "paragraph_decay": 0.07,
    "position_weight": 0.05,
    "position_decay": 0.05,
    "quote_penalty": 0.1,
    "length_power": 0.25,
    "redundancy": 0.3,
    "form_weight": 0.0,
    # Text without paragraph breaks was read like any other (issue 10's third pass).
    "unstructured_lead_weight": 0.0,
    "unstructured_length_power": 0.25,
}
# The second pass of issue 10: the weights tuned with the readable selection.
SECOND: dict[str, float] = {
    "centrality_power": 1.25,
    "paragraph_decay": 0.07,
    "length_power": 0.32,
}
# The default before text without paragraph breaks was read as a wire story.
ONE_PRIOR: dict[str, float] = {
    **SECOND,
    "unstructured_lead_weight": 0.0,
    "unstructured_length_power": 0.32,
}


def _before(**changes: float) -> dict[str, float]:
    """BEFORE with changes; a changed length power applies to every text, as it did."""
    if "length_power" in changes:
        changes.setdefault("unstructured_length_power", changes["length_power"])
    return {**BEFORE, **changes}


VARIANTS: dict[str, Variant] = {
    "default": Variant(note="the shipped default"),
    "one-prior": Variant(
        params=ONE_PRIOR, note="text without breaks read like any other (default before)"
    ),
    "one-prior+lead": Variant(
        params={**SECOND, "unstructured_length_power": 0.32},
        note="text without breaks: lead prior, length prior kept",
    ),
    "one-prior+length": Variant(
        params={**SECOND, "unstructured_lead_weight": 0.0},
        note="text without breaks: no length prior, no extra lead prior",
    ),
    "wire-only": Variant(
        params=SECOND, note="text without breaks as a wire story, second-pass weights"
    ),
    "plain": Variant(readable=False, note="the default's ranking, plain selection"),
    "strict": Variant(connective_margin=None, note="no sentence ever dangles"),
    "margin-0.1": Variant(connective_margin=0.1, note="connective alone at a 10% margin"),
    "margin-0.3": Variant(connective_margin=0.3, note="connective alone at a 30% margin"),
    "margin-0": Variant(connective_margin=0.0, note="connective alone when it ranks first"),
    "no-forms": Variant(params={"form_weight": 0.0}, note="stems only, as before"),
    "before-plain": Variant(
        readable=False, params=BEFORE, note="parameters and selection before issue 10"
    ),
    "before": Variant(
        connective_margin=None, params=BEFORE, note="first readable selection (strict)"
    ),
    "before+margin": Variant(params=BEFORE, note="old parameters, connective margin"),
    "before+forms": Variant(params=_before(form_weight=1.0), note="old parameters, word forms"),
    "before+forms+q0": Variant(
        params=_before(form_weight=1.0, quote_penalty=0.0), note="... and no quote penalty"
    ),
    "before+forms+q0+lp.3": Variant(
        params=_before(form_weight=1.0, quote_penalty=0.0, length_power=0.3),
        note="... and length power 0.3",
    ),
    # Coordinate descent on the CNN even half alone (strict selection, stems only): how far
    # CNN gets when BBC is ignored.
    "cnn-only": Variant(
        connective_margin=None,
        params=_before(
            reach_decay=0.03,
            document_weight=0.1,
            position_weight=0.1,
            position_decay=0.14,
            quote_penalty=0.0,
            length_power=0.15,
            redundancy=0.2,
        ),
        note="parameters tuned for the CNN even half alone",
    ),
    "skip-only": Variant(max_antecedents=0, note="leaning sentences skipped, never paired"),
    "pair-2": Variant(max_antecedents=2, note="up to two antecedents"),
    "pair-any": Variant(antecedent_rank=1000, note="antecedent taken whatever its rank"),
    "pair-top1.5": Variant(antecedent_rank=1.5, note="antecedent among the best 1.5 x count"),
    "pair-top3": Variant(antecedent_rank=3, note="antecedent only if among the best 3 x count"),
    "quotes-only": Variant(ignore_leaning=True, note="whole quotations, leaning ignored"),
    "leaning-only": Variant(ignore_quotes=True, note="antecedents, quotations ignored"),
    "before-quotes-only": Variant(
        params=BEFORE, ignore_leaning=True, note="old parameters, leaning ignored"
    ),
    "before-leaning-only": Variant(
        params=BEFORE, ignore_quotes=True, note="old parameters, quotations ignored"
    ),
    "lead": Variant(method="lead", note="Lead-3, readable selection"),
    "lead-plain": Variant(method="lead", readable=False, note="Lead-3 as before"),
    "reduction": Variant(method="reduction", note="sumy Reduction, readable selection"),
    "reduction-plain": Variant(method="reduction", readable=False, note="sumy Reduction"),
    "textrank": Variant(method="textrank", note="sumy TextRank, readable selection"),
    "textrank-plain": Variant(method="textrank", readable=False, note="sumy TextRank"),
}
MAIN = ("default", "before", "before-plain", "lead", "lead-plain", "reduction", "reduction-plain")

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


def _ranking(variant: Variant, document: PreparedDocument) -> Ranking:
    if variant.method == "newsrank" and variant.params:
        params: NewsRankParams = replace(DEFAULT_PARAMS, **variant.params)
        return newsrank(document, SENTENCES, params)
    return METHODS[variant.method](document, SENTENCES)


def _pick(
    variant: Variant, document: PreparedDocument, ranking: Ranking, max_chars: int | None
) -> list[int]:
    return select(
        document,
        ranking.order,
        SENTENCES,
        max_chars,
        scores=ranking.scores,
        readable=variant.readable,
        max_antecedents=variant.max_antecedents,
        antecedent_rank=variant.antecedent_rank,
        connective_margin=variant.connective_margin,
    )


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
            seen = _as_variant_sees_it(variant, document)
            full = _pick(variant, seen, ranking, None)
            budget = _pick(variant, seen, ranking, BUDGET)
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
