"""The ``newsdigest`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from summarizer import METHODS, Article, Summarizer, SummarizerError, parse_bytes, parse_file
from summarizer.evaluation import load_jsonl
from summarizer.nlp.languages import GENERIC, ISO_CODES, normalize_language

from .config import ConfigError, Settings, load_settings
from .digest.builder import DigestBuilder
from .digest.render import render_digest_text
from .ingest.ingester import Ingester, IngestReport, SourceReport
from .ingest.topics import KeywordError, normalize_keyword
from .models import StoredArticle, Subscriber, now_utc
from .paths import BUNDLED_CONFIG, SEED_ARTICLE
from .sources.fetch import FetchError, FetchLimits, new_client
from .sources.pages import fetch_article
from .store import Store, StoreError, backup
from .timeparse import ScheduleError, parse_timezone


class UsageError(Exception):
    """Bad input on the command line (arguments, files, configuration): exit code 2."""


class RuntimeFailure(Exception):
    """The input was fine but something around the command failed: exit code 1."""


EXIT_FAILURE = 1
EXIT_USAGE = 2
# Bounds of the numeric options (what a sensible call can ask for).
MAX_ITEMS = 100
MAX_HOURS = 24 * 365
MAX_SENTENCES = 50
MAX_TIMEOUT = 600.0
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)

# The offline demo's own data file, next to the deployment's: sample articles live there.
DEMO_DATA_FILE = "demo.json"
# A pasted article larger than this is surely not one article.
MAX_STDIN_BYTES = 10_000_000


def _method_names() -> str:
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
    settings: Settings, store: Store, *, feeds: bool, seeds: bool, quiet: bool = False
) -> IngestReport:
    from tqdm import tqdm

    total = len(settings.feeds) * feeds + (seeds and settings.seeds_dir is not None)
    with tqdm(total=total, file=sys.stderr, unit="source", disable=quiet, leave=False) as bar:
        return await Ingester(settings, store).run(
            feeds=feeds, seeds=seeds, force=True, on_source=lambda _: bar.update()
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Fetch every source once and store what is new."""
    settings = _settings(args)
    with Store.open(settings.data_file) as store:
        report = asyncio.run(_ingest(settings, store, feeds=True, seeds=settings.use_seeds))
        print(f"Ingested {report.new} new articles ({store.count_articles()} stored):")
        for source in report.sources:
            _print_source(source)
        failed = report.failed
        if not report.sources:
            raise UsageError("nothing to ingest: the configuration has no feeds")
        if failed:
            names = ", ".join(s.name for s in failed)
            print(f"{len(failed)} source(s) failed: {names}", file=sys.stderr)
        if len(failed) == len(report.sources):
            return EXIT_FAILURE
    return 0


def _words(values: list[str] | None) -> tuple[str, ...]:
    words: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    words.append(normalize_keyword(part))
                except KeywordError as exc:
                    raise UsageError(str(exc)) from None
    return tuple(words)


def _latest_news(store: Store, hours: int) -> tuple[datetime, list[StoredArticle]]:
    """The stored articles of the ``hours`` before the latest ingest, and where that starts.

    The window is anchored at the latest ingest, so a terminal digest shows the last stored
    news even when nothing was fetched today.
    """
    newest = max(
        (a.fetched for a in store.articles_since(now_utc() - timedelta(days=3650))),
        default=now_utc(),
    )
    since = newest - timedelta(hours=hours)
    return since, store.articles_since(since)


def _demo_news(settings: Settings, hours: int) -> tuple[datetime, list[StoredArticle]]:
    """The bundled sample articles, from a demo data file of their own (filled on first
    use): the deployment's data file never receives them."""
    path = settings.data_file.with_name(DEMO_DATA_FILE)
    with Store.open(path) as demo:
        if demo.count_articles() == 0:
            asyncio.run(_ingest(settings, demo, feeds=False, seeds=True, quiet=True))
        return _latest_news(demo, hours)


def cmd_digest(args: argparse.Namespace) -> int:
    """Print a digest of the stored articles (the bundled samples if none are stored)."""
    settings = _settings(args)
    topics = tuple(t.strip().lower() for t in (args.topics or "").split(",") if t.strip())
    unknown = [t for t in topics if settings.topic(t) is None]
    if unknown:
        known = ", ".join(settings.topic_names)
        raise UsageError(f"unknown topic {', '.join(unknown)}; choose from: {known}")
    follow, exclude = _words(args.follow), _words(args.exclude)
    hours = args.hours or settings.digest.window_hours
    articles: list[StoredArticle] = []
    if settings.data_file.exists():
        with Store.open(settings.data_file) as store:
            since, articles = _latest_news(store, hours)
    if not articles:
        print(
            f"No news stored in {settings.data_file} yet: here are the bundled sample "
            "articles (fiction, for trying newsdigest offline).",
            file=sys.stderr,
        )
        since, articles = _demo_news(settings, hours)
    reader = Subscriber(
        chat_id=0,
        topics=topics,
        follow=follow,
        exclude=exclude,
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


def _webhook_support() -> bool:
    """PTB's webhook server needs its ``webhooks`` extra (tornado)."""
    return importlib.util.find_spec("tornado") is not None


def quiet_libraries(verbose: bool) -> None:
    """At the default level, no per-job lines from APScheduler (one every 10 s otherwise),
    and no traceback from PTB's rate limiter for each 429: it is built to pass them on
    (``max_retries=0``), and the deliverer waits, retries, counts and logs them itself."""
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook) until SIGTERM or SIGINT."""
    from telegram.error import InvalidToken, TelegramError

    from .telegram.app import Options, build_application
    from .telegram.lifecycle import Webhook, serve

    settings = _settings(args)
    token = settings.token
    if not token:
        raise UsageError(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then export "
            "TELEGRAM_BOT_TOKEN=... (or try the bot first with `newsdigest chat`)."
        )
    webhook = None
    if args.webhook_url:
        if not _webhook_support():
            raise UsageError(
                "webhook mode needs python-telegram-bot's webhooks extra: "
                "pip install 'python-telegram-bot[webhooks]' (or run without --webhook-url "
                "to use long polling)"
            )
        webhook = Webhook(
            url=args.webhook_url,
            listen=args.listen,
            port=args.port,
            path=args.webhook_path,
            secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
        )
    protect_token(token)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    with Store.open(settings.data_file) as store:
        app = build_application(
            settings,
            store,
            token=token,
            options=Options(),
            base_url=settings.api_base_url,
            base_file_url=settings.api_base_file_url,
        )
        try:
            asyncio.run(serve(app, webhook=webhook))
        except InvalidToken:
            raise UsageError(
                "Telegram rejected the bot token. Check TELEGRAM_BOT_TOKEN (and "
                "TELEGRAM_API_BASE_URL, if you set it)."
            ) from None
        except TelegramError as exc:
            raise RuntimeFailure(
                f"the Telegram Bot API answered with an error: {exc.message}"
            ) from None
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


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block above them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, not {value:,}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_TIMEOUT:g} s")
    return value


def _zone(text: str) -> str:
    try:
        return parse_timezone(text)
    except ScheduleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _language(text: str) -> str:
    if normalize_language(text) == GENERIC:
        codes = ", ".join(sorted(set(ISO_CODES)))
        raise argparse.ArgumentTypeError(f"{text!r} is not a language I know; use one of {codes}")
    return text


def _method(text: str) -> str:
    if text != "default" and text not in METHODS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a method; use one of {_method_names()}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="newsdigest", description="Self-hosted news digests for Telegram.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument(
        "--version", action="version", version=f"newsdigest {version('newsdigest')}"
    )
    parser.add_argument(
        "--config", default=str(BUNDLED_CONFIG), help="configuration file (default: bundled)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ing = sub.add_parser("ingest", help="fetch every feed once and store new articles")
    ing.set_defaults(func=cmd_ingest)

    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook-url", help="use a webhook at this public URL instead of polling")
    run.add_argument("--listen", default="127.0.0.1", help="webhook listen address")
    run.add_argument("--port", type=_whole(1, 65535), default=8443,
                     help="webhook port (default 8443)")
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
    dig.add_argument("--items", type=_whole(1, MAX_ITEMS),
                     help="number of stories (default: from config)")
    dig.add_argument("--hours", type=_whole(1, MAX_HOURS),
                     help="window before the latest ingest (default 24)")
    dig.add_argument("--timezone", type=_zone, help="show times in this IANA zone")
    dig.set_defaults(func=cmd_digest)

    summ = sub.add_parser("summarize", help="summarize one article (file, URL or stdin)")
    summ.add_argument(
        "target", nargs="?", metavar="PATH|URL|-", help="article to summarize (default: the seed)"
    )
    summ.add_argument("-n", "--sentences", type=_whole(1, MAX_SENTENCES), default=3,
                      help="sentences (default 3)")
    summ.add_argument("--method", type=_method, default="default",
                      help=f"one of: {_method_names()}")
    summ.add_argument("--language", type=_language,
                      help="language code or name (default: detected)")
    summ.add_argument("--max-chars", type=_whole(20, 100_000), default=600,
                      help="character budget (default 600)")
    summ.add_argument("--timeout", type=_seconds, default=15.0, help="URL fetch timeout (s)")
    summ.add_argument("--max-bytes", type=_whole(1, 1_000_000_000), default=5_000_000,
                      help="URL fetch size cap (bytes)")
    summ.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="allow URLs on loopback/private networks (off: refused as a safety measure)",
    )
    summ.set_defaults(func=cmd_summarize)

    ev = sub.add_parser("eval", help="ROUGE scores of summarization methods on a JSONL set")
    ev.add_argument("file", help="JSON lines with text and summary fields")
    ev.add_argument("--methods", help=f"comma-separated (default: all): {_method_names()}")
    ev.add_argument("--sentences", type=_whole(1, MAX_SENTENCES), default=3,
                    help="sentences per summary (default 3)")
    ev.add_argument("--limit", type=_whole(1, 10_000_000), help="only the first N articles")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)

    bak = sub.add_parser("backup", help="copy the data files into a new folder (bot may run)")
    bak.add_argument("folder", help="where to write the copy (a new or empty folder)")
    bak.set_defaults(func=cmd_backup)
    return parser


def _exit_code(error: BaseException) -> int:
    """2 for what the caller gave (arguments, files, configuration), 1 for the rest."""
    if isinstance(error, FetchError):
        return EXIT_USAGE if error.kind == "bad_url" else EXIT_FAILURE
    usage = (UsageError, ConfigError, SummarizerError, KeywordError)
    return EXIT_USAGE if isinstance(error, usage) else EXIT_FAILURE


def _quiet_stdout() -> None:
    """The reader of our output went away (``| head``): stop writing, like other tools."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsdigest`` console script.

    Every failure is one line on standard error and an exit code: 2 for bad input
    (arguments, files, configuration), 1 for failures around the command (network, disk,
    Telegram). ``-v`` adds the details (tracebacks included) to the log.
    """
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
    quiet_libraries(args.verbose)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except (UsageError, RuntimeFailure, SummarizerError, FetchError, ConfigError, StoreError,
            KeywordError, OSError) as exc:
        print(f"newsdigest: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except Exception as exc:  # a bug: one line for the operator, the traceback with -v
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(
            f"newsdigest: unexpected error ({type(exc).__name__}: {exc}); run with -v for "
            "the details",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
