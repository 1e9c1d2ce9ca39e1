"""``newsdigest run``, ``chat`` and ``backup``: the bot as a service, and around it."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import re
import sys
import traceback
from pathlib import Path
from types import TracebackType

from ..store import backup, open_store
from .errors import RuntimeFailure, UsageError
from .news import settings_of
from .wording import counted


def _secrets(token: str) -> tuple[str, ...]:
    """What of the token must never be shown: the token, and its secret part alone (the
    text after the bot's id and colon), which a URL can split off: a Bot API address
    without its path made httpx report the secret part as a port it could not read."""
    _bot_id, colon, secret = token.partition(":")
    return (token, secret) if colon and len(secret) >= 8 else (token,)


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:  # the whole token first
        text = text.replace(secret, "<token>")
    return text


class _RedactToken(logging.Filter):
    """Replace the bot token, or its secret part, wherever it would appear in a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.secrets = _secrets(token)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _redact(message, self.secrets)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            redacted = _redact(text, self.secrets)
            if redacted != text:
                record.exc_text = redacted
        return True


def protect_token(token: str) -> None:
    """Keep the token out of every log handler (httpx logs URLs, which contain it) and out
    of any traceback that would reach the terminal uncaught."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactToken(token))
    previous = sys.excepthook
    secrets = _secrets(token)

    def redacting_hook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, tb))
        redacted = _redact(text, secrets)
        if redacted != text:
            sys.stderr.write(redacted)
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


# What @BotFather's tokens look like: the bot's id, a colon, then the secret part.
BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
# The options of webhook mode (``newsdigest run --webhook-url``), as argparse names them.
WEBHOOK_OPTIONS = ("listen", "port", "webhook_path")


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook) until SIGTERM or SIGINT."""
    from telegram.error import InvalidToken, TelegramError

    from ..telegram.app import Options, build_application
    from ..telegram.lifecycle import Webhook, serve

    settings = settings_of(args)
    given = [f"--{name.replace('_', '-')}" for name in WEBHOOK_OPTIONS if getattr(args, name)]
    if given and not args.webhook_url:
        raise UsageError(
            f"{', '.join(given)}: for webhook mode only; give --webhook-url too, or leave "
            f"{'it' if len(given) == 1 else 'them'} out to use long polling"
        )
    token = settings.token
    if not token:
        raise UsageError(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then export "
            "TELEGRAM_BOT_TOKEN=... (or try the bot first with `newsdigest chat`)."
        )
    if not BOT_TOKEN.fullmatch(token):  # the token itself is a secret: not shown
        raise UsageError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (@BotFather gives one like "
            "123456789:AAH..., digits, a colon, then letters): check what was exported"
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
            listen=args.listen or "127.0.0.1",
            port=args.port or 8443,
            path=args.webhook_path or "telegram",
            secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
        )
    protect_token(token)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    with open_store(settings) as store:
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
    settings = settings_of(args)
    if settings.database_url:
        raise UsageError(
            "the store is in PostgreSQL: back it up with pg_dump, or copy it into a data "
            "file with `newsdigest migrate --to FILE`"
        )
    if not args.folder.strip():
        raise UsageError("give the folder to back up into (a new or empty one)")
    result = backup(settings.data_file, Path(args.folder))
    print(
        f"Backed up {counted(result.subscribers, 'subscriber')} and "
        f"{counted(result.articles, 'article')} (every change up to number "
        f"{result.seq}) to {', '.join(map(str, result.files))}"
    )
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """Try the bot in the terminal: a local simulation of Telegram."""
    from .chat import run_chat

    return run_chat(
        settings_of(args),
        data_file=Path(args.data_file) if args.data_file else None,
        offline=not args.feeds,
        fresh=args.fresh,
    )
