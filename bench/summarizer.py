"""Time per article of the default summarizer against sumy's LexRank, in the same run.

Both go the whole way a digest does, from the ``Article`` to the ``Summary``: prepare
(split, tokenize, stem), rank, select 3 sentences within the 600-character budget.
LexRank runs through the same offline tokenizer adapter as every sumy method here.

    python bench/summarizer.py [--file PATH] [--limit N] [--rounds R]

To keep drift (CPU frequency, other processes) from favouring either method, the two are
interleaved article by article, the order alternating, over several rounds, after a
warm-up round that fills the shared caches (stemmer, Punkt) for both.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and its name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from summarizer.article import Article  # noqa: E402  (needs the sys.path fix above)
from summarizer.evaluation import load_jsonl  # noqa: E402
from summarizer.summarize import Summarizer  # noqa: E402

REPO = HERE.parent
DEFAULT_FILE = REPO.parent / "shared" / "eval" / "bbc_dev.jsonl"
TARGET_RATIO = 0.5


def _time_one(summarizer: Summarizer, article: Article) -> float:
    start = time.perf_counter()
    summarizer(article)
    return time.perf_counter() - start


def run(articles: list[Article], rounds: int) -> dict[str, float]:
    """Mean seconds per article of each method, interleaved."""
    methods = {name: Summarizer(name) for name in ("default", "lexrank")}
    for summarizer in methods.values():
        for article in articles:
            summarizer(article)
    totals = dict.fromkeys(methods, 0.0)
    names = list(methods)
    gc.collect()
    for round_ in range(rounds):
        for i, article in enumerate(articles):
            order = names if (i + round_) % 2 == 0 else names[::-1]
            for name in order:
                totals[name] += _time_one(methods[name], article)
    count = rounds * len(articles)
    return {name: total / count for name, total in totals.items()}


def main(argv: list[str] | None = None) -> int:
    """Print ms/article of both methods and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="JSONL evaluation set")
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"skipped: no evaluation set at {args.file} (pass --file PATH)")
        return 0
    items = load_jsonl(args.file)
    if args.limit:
        items = items[: args.limit]
    articles = [item.article() for item in items]
    if not articles:
        print(f"skipped: {args.file} has no articles")
        return 0
    seconds = run(articles, max(1, args.rounds))
    default, lexrank = seconds["default"], seconds["lexrank"]
    print(f"{args.file.name}: {len(articles)} articles x {args.rounds} rounds, interleaved")
    print(f"default (newsrank) {1000 * default:8.3f} ms/article")
    print(f"lexrank            {1000 * lexrank:8.3f} ms/article")
    ratio = default / lexrank
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio default/lexrank {ratio:.3f} ({verdict} the {TARGET_RATIO} target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
