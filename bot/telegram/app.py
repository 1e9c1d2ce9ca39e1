"""Composition: the PTB ``Application`` with its handlers, jobs and services, in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import BotCommandScopeChat, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from summarizer import Summarizer

from ..config import KEEP_ARTICLES, Settings
from ..delivery.deliverer import Deliverer
from ..delivery.dispatcher import DigestService, Dispatcher
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..ingest.ingester import SEEDS_SOURCE, Ingester
from ..services.channels import Channels
from ..services.feeds import UserFeeds
from ..services.subscriptions import Subscriptions
from ..services.summaries import SummaryService
from ..sources.fetch import FetchLimits, new_client
from ..store import Store
from .context import BotData, NewsContext, RateLimits, Services
from .handlers import admin, channels, common, feeds, misc, reading, settings, topics
from .updates import ChatOrderedProcessor

logger = logging.getLogger(__name__)

NewsApp = Application[Any, NewsContext, Any, Any, BotData, Any]

DISPATCH_JOB = "digest-dispatcher"
INGEST_JOB = "ingest"
CLEANUP_JOB = "cleanup"
ERASE_JOB = "erase"
# A deleted chat's records leave the data file within this long.
ERASE_INTERVAL = timedelta(minutes=10)
WORKER_THREADS = 2


@dataclass(frozen=True)
class Options:
    """How the application runs (tests shorten intervals and swap the clock)."""

    dispatch_interval: float = 10.0
    run_jobs: bool = True
    ingest_at_start: bool = True
    rate_limiter: bool = True
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    delivery_backoff: float = 1.0
    rates: dict[str, tuple[int, float]] | None = None
    read_timeout: float = 10.0


def build_services(settings: Settings, store: Store, options: Options) -> Services:
    """The services, without Telegram (they get the bot in ``post_init``)."""
    clock = options.clock
    digests = DigestService(settings, store, clock)
    dispatcher = Dispatcher(settings, store, digests, clock)
    # Page extraction and summaries for users: a small pool, so a burst of requests queues
    # here instead of taking every core (and the event loop's share of the GIL) at once.
    executor = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="newsdigest")
    digest = settings.digest
    summarizer = Summarizer(sentences=digest.sentences, max_chars=digest.max_chars)
    subscriptions = Subscriptions(settings, store, clock, on_change=dispatcher.changed)
    ingester = Ingester(settings, store, clock=clock)
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        subscriptions=subscriptions,
        channels=Channels(store, subscriptions, clock),
        digests=digests,
        dispatcher=dispatcher,
        ingester=ingester,
        summaries=SummaryService(summarizer, FetchLimits.for_links(settings.fetch), executor),
        feeds=UserFeeds(settings, store, ingester, clock),
        executor=executor,
        rate_limits=RateLimits(options.rates),
    )


async def dispatch_job(context: NewsContext) -> None:
    """Deliver the digests that are due."""
    services = context.services
    await services.dispatcher.run_due(services.deliverer)


async def ingest_job(context: NewsContext) -> None:
    """Fetch all sources; new articles refresh the digest builder.

    The sample articles of ``seeds/`` are fiction for offline trials: they reach readers
    only when the operator asks for it (``sources.use_seeds``).
    """
    services = context.services
    report = await services.ingester.run(seeds=services.settings.use_seeds)
    if report.new:
        services.digests.invalidate()
    failed = report.failed
    logger.info("ingest: %s new articles, %s failing sources", report.new, len(failed))


async def erase_job(context: NewsContext) -> None:
    """Rewrite the data file soon after a chat's data was deleted, so that it is gone from
    the files too (until then the journal still holds what was written before)."""
    store = context.services.store
    if store.erase_pending:
        store.compact()


def forget_sample_articles(settings: Settings, store: Store) -> int:
    """Remove the sample articles an earlier version stored in a deployment's data file."""
    if settings.use_seeds:
        return 0
    removed = store.delete_articles_of_feed(SEEDS_SOURCE)
    if removed:
        logger.info("removed %s sample articles (seeds/) from %s", removed, store.location)
    return removed


async def cleanup_job(context: NewsContext) -> None:
    """Keep the store bounded: old articles, ledger entries and counters go."""
    services = context.services
    now = services.clock()
    store = services.store
    store.prune_articles(now - KEEP_ARTICLES)
    store.prune_deliveries(now - timedelta(days=7))
    store.prune_counters((now - timedelta(days=60)).date())


def add_handlers(app: NewsApp) -> None:
    """Register every handler (the single place where that happens)."""
    app.add_handler(TypeHandler(Update, misc.gate_private_mode), group=-2)
    app.add_handler(TypeHandler(Update, misc.note_contact), group=-1)
    app.add_handlers(
        [
            CommandHandler("start", topics.cmd_start),
            CommandHandler("help", misc.cmd_help),
            CommandHandler("topics", topics.cmd_topics),
            CommandHandler("subscribe", topics.cmd_subscribe),
            CommandHandler("unsubscribe", topics.cmd_unsubscribe),
            CommandHandler("follow", topics.cmd_follow),
            CommandHandler("unfollow", topics.cmd_unfollow),
            CommandHandler("exclude", topics.cmd_exclude),
            CommandHandler("unexclude", topics.cmd_unexclude),
            CommandHandler("keywords", topics.cmd_keywords),
            CommandHandler("digest", reading.cmd_digest),
            CommandHandler("summarize", reading.cmd_summarize),
            CommandHandler("time", settings.cmd_time),
            CommandHandler("timezone", settings.cmd_timezone),
            CommandHandler("empty", settings.cmd_empty),
            CommandHandler("language", settings.cmd_language),
            CommandHandler("settings", settings.cmd_settings),
            CommandHandler("pause", settings.cmd_pause),
            CommandHandler("resume", settings.cmd_resume),
            CommandHandler("stop", settings.cmd_stop),
            CommandHandler("channel", channels.cmd_channel),
            CommandHandler("addfeed", feeds.cmd_addfeed),
            CommandHandler("feeds", feeds.cmd_feeds),
            CommandHandler("removefeed", feeds.cmd_removefeed),
            CommandHandler("export", feeds.cmd_export),
            MessageHandler(
                filters.ChatType.PRIVATE
                & (filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")),
                feeds.on_opml_file,
            ),
            CommandHandler("stats", admin.cmd_stats),
            CommandHandler("sources", admin.cmd_sources),
            CallbackQueryHandler(topics.on_topic_button, pattern=f"^{common.TOPIC_PREFIX}"),
            CallbackQueryHandler(settings.on_stop_button, pattern=f"^{common.STOP_PREFIX}"),
            CallbackQueryHandler(settings.on_language_button, pattern=f"^{common.LANGUAGE_PREFIX}"),
            CallbackQueryHandler(channels.on_chat_button, pattern=f"^{common.CHANNEL_PREFIX}"),
            CallbackQueryHandler(
                feeds.on_removefeed_button, pattern=f"^{common.REMOVE_FEED_PREFIX}"
            ),
            CallbackQueryHandler(misc.on_unknown_button),
            ChatMemberHandler(channels.on_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.COMMAND, misc.on_unknown_command),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.FORWARDED & (filters.TEXT | filters.CAPTION),
                channels.on_forward,
            ),
            MessageHandler(
                filters.ChatType.PRIVATE & (filters.TEXT | filters.CAPTION), reading.on_text
            ),
            MessageHandler(
                filters.ChatType.PRIVATE
                & filters.UpdateType.MESSAGE
                & ~filters.StatusUpdate.ALL
                & ~filters.TEXT
                & ~filters.CAPTION,
                misc.on_other_message,
            ),
        ]
    )
    app.add_error_handler(misc.on_error)


async def set_commands(app: NewsApp, settings: Settings) -> None:
    """The command menu in every language: the public commands, and every command in the
    admins' chats. Telegram shows each user the list of their app's language, else the
    one without a language (English)."""
    bot = app.bot
    await bot.set_my_commands(common.command_menu(DEFAULT_LANGUAGE))
    for language in LANGUAGES:
        if language != DEFAULT_LANGUAGE:
            await bot.set_my_commands(common.command_menu(language), language_code=language)
    for admin_chat in settings.admin_chat_ids:
        scope = BotCommandScopeChat(admin_chat)
        try:
            await bot.set_my_commands(
                common.command_menu(DEFAULT_LANGUAGE, admin=True), scope=scope
            )
            for language in LANGUAGES:
                if language != DEFAULT_LANGUAGE:
                    await bot.set_my_commands(
                        common.command_menu(language, admin=True),
                        scope=scope,
                        language_code=language,
                    )
        except Exception:  # an admin chat the bot cannot see must not stop the start
            logger.warning("could not set admin commands for chat %s", admin_chat, exc_info=True)


def schedule_jobs(app: NewsApp, settings: Settings, options: Options) -> None:
    """The repeating jobs: dispatcher, ingest, cleanup, erasure (named, to be found again)."""
    jobs = app.job_queue
    if not options.run_jobs or jobs is None:
        return
    # A pass may outlast the interval (a morning peak at 30 messages/s): the next instance
    # then returns at once (the dispatcher's lock) instead of APScheduler logging "maximum
    # number of running instances reached" every 10 s.
    jobs.run_repeating(
        dispatch_job,
        interval=options.dispatch_interval,
        first=1.0,
        name=DISPATCH_JOB,
        job_kwargs={"max_instances": 2},
    )
    if settings.ingest_in_bot:  # else `newsdigest worker` processes ingest
        jobs.run_repeating(
            ingest_job,
            interval=settings.ingest_interval_minutes * 60,
            first=2.0 if options.ingest_at_start else None,
            name=INGEST_JOB,
        )
    jobs.run_repeating(cleanup_job, interval=timedelta(hours=6), first=60.0, name=CLEANUP_JOB)
    jobs.run_repeating(erase_job, interval=ERASE_INTERVAL, first=ERASE_INTERVAL, name=ERASE_JOB)


def forget_removed_feeds(settings: Settings, store: Store) -> int:
    """Drop the remembered state (validators, backoff, errors) of feeds neither configured
    nor read by a chat (a chat's own feed keeps its title, counts and backoff across
    restarts)."""
    kept = {feed.url for feed in settings.feeds} | set(store.chat_feed_urls())
    gone = [state.url for state in store.feed_states() if state.url not in kept]
    for url in gone:
        store.delete_feed_state(url)
    if gone:
        logger.info("forgot the state of %s feeds no longer configured or read", len(gone))
    return len(gone)


def _builder(
    settings: Settings,
    services: Services,
    options: Options,
    token: str,
    base_url: str | None,
    base_file_url: str | None,
) -> Any:  # PTB's builder changes its generic parameters with each call
    builder: Any = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=NewsContext, bot_data=BotData))
        .read_timeout(options.read_timeout)
        # Arrivals are timed on the rate limiter's clock: that is what they are counted on.
        .concurrent_updates(ChatOrderedProcessor(monotonic=lambda: services.rate_limits.now()))
        .get_updates_read_timeout(40.0)
    )
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    if options.rate_limiter:
        # max_retries=0: 429s reach the deliverer, which waits, retries and counts them.
        builder = builder.rate_limiter(
            AIORateLimiter(overall_max_rate=settings.messages_per_second, max_retries=0)
        )
    return builder


def build_application(
    settings: Settings,
    store: Store,
    *,
    token: str,
    options: Options | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
) -> NewsApp:
    """The bot, ready for ``bot.telegram.lifecycle.running`` (or ``async with app``)."""
    options = options or Options()
    services = build_services(settings, store, options)

    async def post_init(app: NewsApp) -> None:
        async def unreachable(chat_id: int) -> bool:
            return await channels.channel_lost(app.bot, services, chat_id)

        services._deliverer = Deliverer(
            app.bot,
            store,
            services.clock,
            backoff=options.delivery_backoff,
            on_unreachable=unreachable,
        )
        services._http = new_client(services.summaries.limits)
        await set_commands(app, settings)
        forget_sample_articles(settings, store)
        forget_removed_feeds(settings, store)
        services.dispatcher.rebuild()
        logger.info("%s subscribers scheduled", len(services.dispatcher.index))
        schedule_jobs(app, settings, options)

    async def post_shutdown(app: NewsApp) -> None:
        if services._http is not None:
            await services._http.aclose()
        services.executor.shutdown(wait=False, cancel_futures=True)

    builder = _builder(settings, services, options, token, base_url, base_file_url)
    app: NewsApp = builder.post_init(post_init).post_shutdown(post_shutdown).build()
    app.bot_data.services = services
    add_handlers(app)
    return app


ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
