"""The ``newsdigest`` command line's arguments: every subcommand, every value checked."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import version
from typing import NoReturn, TypeAlias

from summarizer import METHODS
from summarizer.nlp.languages import GENERIC, ISO_CODES, normalize_language

from ..config import DIGEST_LIMITS, MAX_FETCH_BYTES, MAX_FETCH_SECONDS
from ..ingest.topics import KeywordError, normalize_keyword
from ..paths import BUNDLED_CONFIG
from ..timeparse import ScheduleError, parse_timezone
from .errors import EXIT_USAGE
from .migrate import cmd_migrate
from .news import cmd_digest, cmd_ingest
from .serve import cmd_backup, cmd_chat, cmd_run
from .summaries import cmd_eval, cmd_summarize, method_names
from .worker import cmd_worker

MAX_HOURS = 24 * 365
MAX_SENTENCES = 50


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block above them)."""

    def error(self, message: str) -> NoReturn:
        message = message.removesuffix(".")  # "... I know (see ...)", not "know. (see"
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_FETCH_SECONDS:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_FETCH_SECONDS} s")
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


def _words(text: str) -> str:
    """Comma-separated keywords, each checked as the bot checks a user's."""
    for part in text.split(","):
        if part.strip():
            try:
                normalize_keyword(part)
            except KeywordError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _method(text: str) -> str:
    if text != "default" and text not in METHODS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a method; use one of {method_names()}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="newsdigest", description="Self-hosted news digests for Telegram.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument(
        "--version", action="version", version=f"newsdigest {version('newsdigest')}"
    )
    parser.add_argument(
        "--config",
        default=str(BUNDLED_CONFIG),
        help="configuration file (default: the shipped config/newsdigest.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_service_commands(sub)
    _add_news_commands(sub)
    _add_summarizer_commands(sub)
    for command in sub.choices.values():
        # Also after the command's name ("newsdigest run -v"), where people type them; an
        # option left out there keeps what was given before the name.
        command.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="log more detail",
        )
        command.add_argument(
            "--config", default=argparse.SUPPRESS, help="configuration file (as before the command)"
        )
    return parser


# argparse's type for the subcommand group (private in argparse, generic only to mypy).
Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _add_service_commands(sub: Subparsers) -> None:
    """run, chat, backup, migrate: the bot itself and its store."""
    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook-url", help="use a webhook at this public URL instead of polling")
    run.add_argument("--listen", help="webhook listen address (default 127.0.0.1)")
    run.add_argument("--port", type=_whole(1, 65535), help="webhook port (default 8443)")
    run.add_argument("--webhook-path", help="webhook URL path (default telegram)")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="try the bot in the terminal, without Telegram")
    chat.add_argument("--fresh", action="store_true", help="start over with an empty store")
    chat.add_argument("--feeds", action="store_true", help="also fetch the configured feeds")
    chat.add_argument("--data-file", help="data file for the session (default: chat-demo.json)")
    chat.set_defaults(func=cmd_chat)

    bak = sub.add_parser("backup", help="copy the data files into a new folder (bot may run)")
    bak.add_argument("folder", help="where to write the copy (a new or empty folder)")
    bak.set_defaults(func=cmd_backup)

    mig = sub.add_parser(
        "migrate", help="copy the store into a new one: a data file into PostgreSQL, or back"
    )
    mig.add_argument(
        "--to", required=True, metavar="URL|FILE", help="a postgresql:// URL or a new data file"
    )
    mig.add_argument(
        "--from",
        dest="source",
        metavar="URL|FILE",
        help="the store to copy (default: the configured one)",
    )
    mig.set_defaults(func=cmd_migrate)


def _add_news_commands(sub: Subparsers) -> None:
    """ingest, worker, digest: the news pipeline."""
    ing = sub.add_parser("ingest", help="fetch every feed once and store new articles")
    ing.set_defaults(func=cmd_ingest)

    work = sub.add_parser(
        "worker", help="fetch and summarize the feeds into PostgreSQL until stopped"
    )
    work.add_argument("--once", action="store_true", help="one pass, then exit")
    work.set_defaults(func=cmd_worker)

    dig = sub.add_parser("digest", help="print a digest of the stored news in the terminal")
    dig.add_argument("--topics", help="comma-separated topics (default: all)")
    dig.add_argument(
        "--follow", action="append", type=_words, help="also include articles with this word"
    )
    dig.add_argument(
        "--exclude", action="append", type=_words, help="leave out articles with this word"
    )
    dig.add_argument(
        "--items",
        type=_whole(*DIGEST_LIMITS["max_items"]),
        help="number of stories (default: digest.max_items, 8 as shipped)",
    )
    dig.add_argument(
        "--hours",
        type=_whole(1, MAX_HOURS),
        help="window before the latest ingest (default: digest.window_hours, 24 as shipped)",
    )
    dig.add_argument("--timezone", type=_zone, help="show times in this IANA zone")
    dig.set_defaults(func=cmd_digest)


def _add_summarizer_commands(sub: Subparsers) -> None:
    """summarize, eval: the summarizer."""
    summ = sub.add_parser("summarize", help="summarize one article (file, URL or stdin)")
    summ.add_argument(
        "target",
        nargs="?",
        metavar="PATH|URL|-",
        help="article to summarize (default: a real article of 2024, in seeds/reference/)",
    )
    summ.add_argument(
        "-n",
        "--sentences",
        type=_whole(*DIGEST_LIMITS["sentences"]),
        help="sentences (default: digest.sentences, 3 as shipped)",
    )
    summ.add_argument("--method", type=_method, default="default", help=f"one of: {method_names()}")
    summ.add_argument(
        "--language", type=_language, help="language code or name (default: detected)"
    )
    summ.add_argument(
        "--max-chars",
        type=_whole(*DIGEST_LIMITS["max_chars"]),
        help="character budget (default: digest.max_chars, 600 as shipped)",
    )
    summ.add_argument(
        "--timeout",
        type=_seconds,
        help="URL fetch timeout in seconds (default: fetch.timeout_seconds, 15 as shipped)",
    )
    summ.add_argument(
        "--max-bytes",
        type=_whole(1, MAX_FETCH_BYTES),
        help="URL fetch size cap in bytes (default: fetch.max_bytes, 5000000 as shipped)",
    )
    summ.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="allow URLs on loopback/private networks (default: "
        "fetch.allow_private_addresses, off as shipped: refused as a safety measure)",
    )
    summ.set_defaults(func=cmd_summarize)

    ev = sub.add_parser("eval", help="ROUGE scores of summarization methods on a JSONL set")
    ev.add_argument("file", help="JSON lines with text and summary fields")
    ev.add_argument("--methods", help=f"comma-separated (default: all): {method_names()}")
    ev.add_argument(
        "--sentences",
        type=_whole(1, MAX_SENTENCES),
        default=3,
        help="sentences per summary (default 3)",
    )
    ev.add_argument("--limit", type=_whole(1, 10_000_000), help="only the first N articles")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)
