"""The ``newsdigest`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from types import TracebackType

from summarizer import METHODS, Article, Summarizer, SummarizerError, parse_bytes, parse_file
from summarizer.evaluation import load_jsonl

from .config import ConfigError, Settings, load_settings
from .digest import DigestBuilder
from .fetch import FetchError, FetchLimits, fetch, new_client
from .ingest import Ingester, IngestReport, SourceReport
from .models import Subscriber, now_utc
from .paths import BUNDLED_CONFIG, SEED_ARTICLE
from .render import render_digest_text
from .store import Store, StoreError, backup
from .topics import KeywordError, normalize_keyword

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


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _print_source(report: SourceReport) -> None:
    if report.waiting:
        status = f"waiting (backing off after: {report.error})"
    elif report.error and not report.new:
        status = f"FAILED: {report.error}"
    elif report.not_modified:
        status = "not modified"
    else:
        status = f"{report.new} new, {report.known} known"
        if report.skipped:
            status += f", {report.skipped} skipped"
        if report.error:
            status += f" (problems: {report.error})"
    print(f"  {report.name}: {status}")


async def _ingest(
    settings: Settings, store: Store, *, feeds: bool, quiet: bool = False
) -> IngestReport:
    from tqdm import tqdm

    total = len(settings.feeds) * feeds + (settings.seeds_dir is not None)
    with tqdm(total=total, file=sys.stderr, unit="source", disable=quiet, leave=False) as bar:
        return await Ingester(settings, store).run(
            feeds=feeds, force=True, on_source=lambda _: bar.update()
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Fetch every source once and store what is new."""
    settings = _settings(args)
    with Store.open(settings.data_file) as store:
        report = asyncio.run(_ingest(settings, store, feeds=not args.seeds_only))
        print(f"Ingested {report.new} new articles ({store.count_articles()} stored):")
        for source in report.sources:
            _print_source(source)
        failed = report.failed
        if failed:
            names = ", ".join(s.name for s in failed)
            print(f"{len(failed)} source(s) failed: {names}", file=sys.stderr)
    return 0


def _words(values: list[str] | None) -> tuple[str, ...]:
    words: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    words.append(normalize_keyword(part))
                except KeywordError as exc:
                    raise SummarizerError(str(exc)) from None
    return tuple(words)


def cmd_digest(args: argparse.Namespace) -> int:
    """Print a digest of the stored articles (the bundled seeds if the store is empty)."""
    settings = _settings(args)
    topics = tuple(t.strip().lower() for t in (args.topics or "").split(",") if t.strip())
    unknown = [t for t in topics if settings.topic(t) is None]
    if unknown:
        known = ", ".join(settings.topic_names)
        raise SummarizerError(f"unknown topic {', '.join(unknown)}; choose from: {known}")
    with Store.open(settings.data_file) as store:
        if store.count_articles() == 0:
            print("The store is empty: reading the bundled seeds first.", file=sys.stderr)
            asyncio.run(_ingest(settings, store, feeds=False, quiet=True))
        hours = args.hours or settings.digest.window_hours
        # Anchor the window at the latest ingest, so a terminal digest shows the last
        # stored news even when nothing was fetched today.
        newest = max(
            (a.fetched for a in store.articles_since(now_utc() - timedelta(days=3650))),
            default=now_utc(),
        )
        since = newest - timedelta(hours=hours)
        articles = store.articles_since(since)
    reader = Subscriber(
        chat_id=0,
        topics=topics,
        follow=_words(args.follow),
        exclude=_words(args.exclude),
        timezone=args.timezone or settings.default_timezone,
        last_digest=since - timedelta(microseconds=1),
    )
    builder = DigestBuilder(
        articles,
        now=now_utc(),
        max_items=args.items or settings.digest.max_items,
        window=timedelta(hours=hours),
    )
    print(render_digest_text(builder.build(reader)))
    return 0


class _RedactToken(logging.Filter):
    """Replace the bot token wherever it would appear in a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self.token in text:
                record.exc_text = text.replace(self.token, "<token>")
        return True


def protect_token(token: str) -> None:
    """Keep the token out of every log handler (httpx logs URLs, which contain it) and out
    of any traceback that would reach the terminal uncaught."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactToken(token))
    previous = sys.excepthook

    def redacting_hook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, tb))
        if token in text:
            sys.stderr.write(text.replace(token, "<token>"))
        else:
            previous(kind, error, tb)

    sys.excepthook = redacting_hook


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook)."""
    from telegram.error import InvalidToken

    settings = _settings(args)
    token = settings.token
    if not token:
        print(
            "newsdigest: TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then "
            "export TELEGRAM_BOT_TOKEN=... (or try the bot first with `newsdigest chat`).",
            file=sys.stderr,
        )
        return 2
    protect_token(token)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    with Store.open(settings.data_file) as store:
        try:
            return _run(args, settings, store, token)
        except InvalidToken:
            print(
                "newsdigest: Telegram rejected the bot token. Check TELEGRAM_BOT_TOKEN (and "
                "TELEGRAM_API_BASE_URL, if you set it).",
                file=sys.stderr,
            )
            return 2


def _run(args: argparse.Namespace, settings: Settings, store: Store, token: str) -> int:
    """Build the bot and run it until it is stopped (SIGINT/SIGTERM)."""
    from .app import ALLOWED_UPDATES, Options, build_application

    app = build_application(
        settings,
        store,
        token=token,
        options=Options(),
        base_url=settings.api_base_url,
        base_file_url=settings.api_base_file_url,
    )
    if args.webhook_url:
        app.run_webhook(
            listen=args.listen,
            port=args.port,
            url_path=args.webhook_path,
            webhook_url=args.webhook_url,
            secret_token=os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the store into a new folder; safe while the bot is running."""
    result = backup(_settings(args).data_file, Path(args.folder))
    people = f"{result.subscribers} subscriber{'' if result.subscribers == 1 else 's'}"
    print(
        f"Backed up {people} and {result.articles} articles (every change up to number "
        f"{result.seq}) to {', '.join(map(str, result.files))}"
    )
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """Try the bot in the terminal: a local simulation of Telegram."""
    from .chat import run_chat

    return run_chat(
        _settings(args),
        data_file=Path(args.data_file) if args.data_file else None,
        offline=not args.feeds,
        fresh=args.fresh,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="newsdigest", description="Self-hosted news digests for Telegram."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument(
        "--version", action="version", version=f"newsdigest {version('newsdigest')}"
    )
    parser.add_argument(
        "--config", default=str(BUNDLED_CONFIG), help="configuration file (default: bundled)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ing = sub.add_parser("ingest", help="fetch every source once and store new articles")
    ing.add_argument("--seeds-only", action="store_true", help="only the seeds folder")
    ing.set_defaults(func=cmd_ingest)

    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook-url", help="use a webhook at this public URL instead of polling")
    run.add_argument("--listen", default="127.0.0.1", help="webhook listen address")
    run.add_argument("--port", type=int, default=8443, help="webhook port (default 8443)")
    run.add_argument("--webhook-path", default="telegram", help="webhook URL path")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="try the bot in the terminal, without Telegram")
    chat.add_argument("--fresh", action="store_true", help="start over with an empty store")
    chat.add_argument("--feeds", action="store_true", help="also fetch the configured feeds")
    chat.add_argument("--data-file", help="data file for the session (default: chat-demo.json)")
    chat.set_defaults(func=cmd_chat)

    dig = sub.add_parser("digest", help="print a digest of the stored news in the terminal")
    dig.add_argument("--topics", help="comma-separated topics (default: all)")
    dig.add_argument("--follow", action="append", help="also include articles with this word")
    dig.add_argument("--exclude", action="append", help="leave out articles with this word")
    dig.add_argument("--items", type=int, help="number of stories (default: from config)")
    dig.add_argument("--hours", type=int, help="window before the latest ingest (default 24)")
    dig.add_argument("--timezone", help="show times in this IANA zone")
    dig.set_defaults(func=cmd_digest)

    summ = sub.add_parser("summarize", help="summarize one article (file, URL or stdin)")
    summ.add_argument(
        "target", nargs="?", metavar="PATH|URL|-", help="article to summarize (default: the seed)"
    )
    summ.add_argument("-n", "--sentences", type=int, default=3, help="sentences (default 3)")
    summ.add_argument("--method", default="default", help=f"one of: {_method_names()}")
    summ.add_argument("--language", help="language code or name (default: detected)")
    summ.add_argument("--max-chars", type=int, default=600, help="character budget (default 600)")
    summ.add_argument("--timeout", type=float, default=15.0, help="URL fetch timeout (s)")
    summ.add_argument("--max-bytes", type=int, default=5_000_000, help="URL fetch size cap (bytes)")
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

    bak = sub.add_parser("backup", help="copy the data files into a new folder (bot may run)")
    bak.add_argument("folder", help="where to write the copy (a new or empty folder)")
    bak.set_defaults(func=cmd_backup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsdigest`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # PTB 22: durations such as RetryAfter.retry_after as timedelta, without deprecation noise.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Every Bot API URL contains the token: never let the HTTP client log URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except (SummarizerError, FetchError, ConfigError, StoreError, OSError) as exc:
        print(f"newsdigest: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
