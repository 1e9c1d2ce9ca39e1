"""The ``newsdigest`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from summarizer import METHODS, Article, Summarizer, SummarizerError, parse_bytes, parse_file
from summarizer.evaluation import load_jsonl

from .fetch import FetchError, FetchLimits, fetch, new_client
from .paths import SEED_ARTICLE

# A pasted article larger than this is surely not one article.
MAX_STDIN_BYTES = 10_000_000


def _method_names() -> str:
    return ", ".join(["default", *METHODS])


async def _fetch_article(url: str, limits: FetchLimits) -> Article:
    async with new_client(limits) as client:
        result = await fetch(url, limits, client, accept="text/html,text/plain;q=0.9,*/*;q=0.5")
    return parse_bytes(result.content, url=result.final_url)


def load_article(target: str | None, limits: FetchLimits | None = None) -> Article:
    """Read an article from a path, ``-`` (standard input), an http(s) URL or the seed."""
    if target is None:
        return parse_file(SEED_ARTICLE)
    if target == "-":
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            data = data[:MAX_STDIN_BYTES]
        return parse_bytes(data)
    if target.startswith(("http://", "https://")):
        return asyncio.run(_fetch_article(target, limits or FetchLimits()))
    path = Path(target)
    if not path.exists():
        raise SummarizerError(f"no such file: {target}")
    if path.is_dir():
        raise SummarizerError(f"{target} is a folder; give one article file")
    return parse_file(path)


def cmd_summarize(args: argparse.Namespace) -> int:
    """Print the title and the summary of one article."""
    limits = FetchLimits(
        timeout=args.timeout, max_bytes=args.max_bytes, allow_private=args.allow_private_addresses
    )
    article = load_article(args.target, limits)
    summarizer = Summarizer(
        args.method, sentences=args.sentences, max_chars=args.max_chars, language=args.language
    )
    summary = summarizer(article)
    if article.title:
        print(article.title)
        print("=" * min(len(article.title), 80))
    for sentence in summary.sentences:
        print(f"- {sentence}")
    if summary.truncated_input:
        print("(the text was very long: only its beginning was summarized)", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print ROUGE F1 and speed of summarization methods on a JSON-lines data set."""
    from tqdm import tqdm

    from summarizer.evaluation import evaluate

    items = load_jsonl(args.file)
    if args.limit:
        items = items[: args.limit]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    names = methods or list(METHODS)
    for name in names:  # fail before the long run, not after it
        Summarizer(name)
    with tqdm(total=len(items) * len(names), file=sys.stderr, unit="article") as bar:
        results = evaluate(
            items, names, sentences=args.sentences, max_chars=None, on_progress=bar.update
        )
    if args.json:
        print(json.dumps({name: score.as_dict() for name, score in results.items()}, indent=2))
        return 0
    print(f"{args.file}: {len(items)} articles, {args.sentences} sentences, F1 x 100")
    print(f"{'method':<12} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-L':>8} {'ms/article':>11}")
    for name, score in results.items():
        print(
            f"{name:<12} {100 * score.rouge1:8.2f} {100 * score.rouge2:8.2f} "
            f"{100 * score.rougeL:8.2f} {score.ms_per_article:11.2f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="newsdigest", description="Self-hosted news digests for Telegram."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    summ = sub.add_parser("summarize", help="summarize one article (file, URL or stdin)")
    summ.add_argument(
        "target", nargs="?", metavar="PATH|URL|-", help="article to summarize (default: the seed)"
    )
    summ.add_argument("-n", "--sentences", type=int, default=3, help="sentences (default 3)")
    summ.add_argument("--method", default="default", help=f"one of: {_method_names()}")
    summ.add_argument("--language", help="language code or name (default: detected)")
    summ.add_argument(
        "--max-chars", type=int, default=600, help="character budget (default 600)"
    )
    summ.add_argument("--timeout", type=float, default=15.0, help="URL fetch timeout (s)")
    summ.add_argument(
        "--max-bytes", type=int, default=5_000_000, help="URL fetch size cap (bytes)"
    )
    summ.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="allow URLs on loopback/private networks (off: refused as a safety measure)",
    )
    summ.set_defaults(func=cmd_summarize)

    ev = sub.add_parser("eval", help="ROUGE scores of summarization methods on a JSONL set")
    ev.add_argument("file", help="JSON lines with text and summary fields")
    ev.add_argument("--methods", help=f"comma-separated (default: all): {_method_names()}")
    ev.add_argument("--sentences", type=int, default=3, help="sentences per summary (default 3)")
    ev.add_argument("--limit", type=int, default=0, help="only the first N articles")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsdigest`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Every Bot API URL contains the token: never let the HTTP client log URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except (SummarizerError, FetchError, OSError) as exc:
        print(f"newsdigest: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
