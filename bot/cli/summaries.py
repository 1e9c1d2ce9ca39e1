"""``newsdigest summarize`` and ``newsdigest eval``: the summarizer from the terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

from summarizer import METHODS, Article, Summarizer, parse_bytes, parse_file
from summarizer.evaluation import load_jsonl

from ..config import load_settings
from ..paths import SEED_ARTICLE
from ..sources.fetch import FetchError, FetchLimits, new_client
from ..sources.pages import fetch_article
from .errors import UsageError
from .wording import counted

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
# A pasted article or a file larger than this is surely not one article.
MAX_STDIN_BYTES = 10_000_000


def method_names() -> str:
    return ", ".join(["default", *METHODS])


async def _fetch_article(url: str, limits: FetchLimits) -> Article:
    async with new_client(limits) as client:
        article, _ = await fetch_article(url, limits, client)
    return article


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
        try:
            return asyncio.run(_fetch_article(target, limits or FetchLimits()))
        except FetchError as exc:
            if exc.kind == "blocked":
                raise UsageError(
                    f"{exc}; add --allow-private-addresses to fetch from your own network"
                ) from None
            raise
    scheme = _SCHEME.match(target)
    if scheme and len(scheme.group(1)) > 1:  # "C:" is a Windows drive, not a scheme
        raise UsageError(
            f"only http(s) links can be fetched, not {scheme.group(1)}:; for a file on this "
            "machine give its path"
        )
    path = Path(target)
    if not path.exists():
        raise UsageError(f"no such file: {target}")
    if path.is_dir():
        raise UsageError(f"{target} is a folder; give one article file")
    if not path.is_file():  # a device, a pipe: endless or waiting, not an article
        raise UsageError(f"{target} is not a file; give one article file, or - for standard input")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_STDIN_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
    if len(data) > MAX_STDIN_BYTES:
        raise UsageError(
            f"{target} is over {MAX_STDIN_BYTES // 1_000_000} MB: that is not one article"
        )
    return parse_bytes(data)


def cmd_summarize(args: argparse.Namespace) -> int:
    """Print the title and the summary of one article."""
    settings = load_settings(args.config)  # what the options do not say, the bot's settings do
    fetch, digest = settings.fetch, settings.digest
    limits = replace(
        FetchLimits.for_links(fetch),
        timeout=args.timeout or fetch.timeout,
        max_bytes=args.max_bytes or fetch.max_bytes,
        allow_private=args.allow_private_addresses or fetch.allow_private_addresses,
    )
    article = load_article(args.target, limits)
    summarizer = Summarizer(
        args.method,
        sentences=args.sentences or digest.sentences,
        max_chars=args.max_chars or digest.max_chars,
        language=args.language,
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

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    names = methods or list(METHODS)
    for name in names:  # fail before the long run, not after it
        Summarizer(name)
    items = load_jsonl(args.file)
    if not items:
        raise UsageError(f"{args.file} holds no evaluation records (lines of text and summary)")
    if args.limit:
        items = items[: args.limit]
    with tqdm(total=len(items) * len(names), file=sys.stderr, unit="article") as bar:
        results = evaluate(
            items, names, sentences=args.sentences, max_chars=None, on_progress=bar.update
        )
    if args.json:
        print(json.dumps({name: score.as_dict() for name, score in results.items()}, indent=2))
        return 0
    print(f"{args.file}: {counted(len(items), 'article')}, {args.sentences} sentences, F1 x 100")
    print(f"{'method':<12} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-L':>8} {'ms/article':>11}")
    for name, score in results.items():
        print(
            f"{name:<12} {100 * score.rouge1:8.2f} {100 * score.rouge2:8.2f} "
            f"{100 * score.rougeL:8.2f} {score.ms_per_article:11.2f}"
        )
    return 0
