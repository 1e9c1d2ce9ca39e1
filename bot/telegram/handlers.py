"""Telegram command and button handlers: parse, call the service layer, reply.

Each handler is small: it reads the command's arguments, calls ``Subscriptions`` /
``DigestService`` / the summarizer, and answers. Bad input is answered where it happens
(``UserError`` messages, "Usage: ..."); anything unexpected goes to ``on_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from ..delivery.deliverer import SENT
from ..delivery.schedule import next_slot
from ..digest.render import (
    clean_text,
    clip,
    escape,
    local_time,
    render_summary_html,
    split_messages,
)
from ..models import ACTIVE, PAUSED, Subscriber
from ..services.subscriptions import NOT_SUBSCRIBED, UserError
from ..services.summaries import STILL_WORKING, URL, Claim, SummaryError
from ..store import StoreWriteError
from .context import NewsContext, Services
from .updates import ChatOrderedProcessor

logger = logging.getLogger(__name__)

# (command, description, admin only). The order is the order of /help.
COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("start", "Start and pick your topics", False),
    ("topics", "Choose topics with buttons", False),
    ("subscribe", "Add topics: /subscribe world science", False),
    ("unsubscribe", "Remove topics: /unsubscribe sport", False),
    ("digest", "Your digest now", False),
    ("summarize", "Summarize a link or text (or reply to a message)", False),
    ("follow", "Always include stories with a word: /follow climate", False),
    ("unfollow", "Stop following a word", False),
    ("exclude", "Leave out stories with a word: /exclude football", False),
    ("unexclude", "Stop excluding a word", False),
    ("keywords", "List followed and excluded words", False),
    ("time", "Daily digest time, 24 h: /time 07:30", False),
    ("timezone", "Your time zone: /timezone Europe/Berlin", False),
    ("empty", "When nothing is new: /empty skip or /empty show", False),
    ("settings", "All your settings", False),
    ("pause", "Pause daily digests", False),
    ("resume", "Resume daily digests", False),
    ("stop", "Stop and delete all your data", False),
    ("help", "What I can do", False),
    ("stats", "Bot statistics (admins)", True),
    ("sources", "Feed health (admins)", True),
)
PUBLIC_COMMANDS = [BotCommand(c, d) for c, d, admin in COMMANDS if not admin]
ALL_COMMANDS = [BotCommand(c, d) for c, d, _ in COMMANDS]

# Pasted text at least this long (or any forwarded text) is summarized without a command.
PASTE_MIN_CHARS = 280
RESTARTING = "Sorry, I'm restarting and could not finish that. Please send it again in a minute."
RESTART_NOTE_SECONDS = 2.0
# Telegram shows at most 200 characters in a button's answer.
MAX_ALERT = 200
TOPIC_PREFIX = "t:"
STOP_PREFIX = "stop:"


def help_text(admin: bool = False) -> str:
    """The /help message: every command with its description."""
    lines = [
        "<b>newsdigest</b> sends you a short digest of the day's news, every day at your "
        "time, and summarizes articles on request.",
        "",
    ]
    for command, description, admin_only in COMMANDS:
        if admin_only and not admin:
            continue
        lines.append(f"/{command} · {escape(description)}")
    lines += ["", "You can also send me a link or paste a long text to get a summary."]
    return "\n".join(lines)


# --- small helpers -----------------------------------------------------------------------


def _message(update: Update) -> Message:
    message = update.effective_message
    assert message is not None  # every handler here is registered for messages
    return message


async def _reply(update: Update, text: str, **kwargs: object) -> None:
    await _message(update).reply_text(
        clean_text(text),
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _args(context: NewsContext) -> list[str]:
    return list(context.args or [])


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


def _thread_id(update: Update) -> int | None:
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def is_chat_admin(update: Update, context: NewsContext) -> bool:
    """True in private chats, and for a group's administrators (anonymous ones included)."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    services = context.services
    now = services.clock()
    cached = services.admin_cache.get(chat.id, user.id, now)
    if cached is not None:
        return cached
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        logger.warning("could not check admin rights in %s", chat.id, exc_info=True)
        return False
    allowed = member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    services.admin_cache.put(chat.id, user.id, allowed, now)
    return allowed


async def _settings_allowed(update: Update, context: NewsContext) -> bool:
    if await is_chat_admin(update, context):
        return True
    await _reply(update, "Only this group's administrators can change its digest settings.")
    return False


def _chat_type(update: Update) -> tuple[str, int | None]:
    """What creating this chat's subscription needs: its type and forum thread."""
    chat = update.effective_chat
    assert chat is not None
    return chat.type, _thread_id(update)


def _subscriber(update: Update, context: NewsContext) -> Subscriber | None:
    """The chat's subscription, if it has one (reading never creates one)."""
    return context.services.subscriptions.get(_chat_id(update))


async def _require_subscriber(update: Update, context: NewsContext) -> Subscriber | None:
    """The chat's subscription; without one, the user is told to /start and gets None."""
    subscriber = _subscriber(update, context)
    if subscriber is None:
        await _reply(update, NOT_SUBSCRIBED)
    return subscriber


def topic_keyboard(services: Services, subscriber: Subscriber) -> InlineKeyboardMarkup:
    """One button per topic, ticked when subscribed, two per row, and a Done button."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if t.name in subscriber.topics else '▫️'} {t.label}",
            callback_data=f"{TOPIC_PREFIX}{t.name}",
        )
        for t in services.settings.topics
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton("Done", callback_data=f"{TOPIC_PREFIX}done")])
    return InlineKeyboardMarkup(rows)


def _topics_line(services: Services, subscriber: Subscriber) -> str:
    if not subscriber.topics:
        return "all topics (you have not picked any)"
    labels = {t.name: t.label for t in services.settings.topics}
    return ", ".join(labels.get(t, t) for t in subscriber.topics)


# --- start, help, topics -------------------------------------------------------------------


async def cmd_start(update: Update, context: NewsContext) -> None:
    """Welcome the chat and show the topic picker."""
    if not await _settings_allowed(update, context):
        return
    chat_type, thread_id = _chat_type(update)
    services = context.services
    subscriber = services.subscriptions.start(_chat_id(update), chat_type, thread_id)
    text = (
        "👋 <b>Welcome to newsdigest!</b>\n"
        f"Every day at <b>{', '.join(subscriber.times)}</b> ({escape(subscriber.timezone)}) "
        "I will send you a short digest of the news in your topics.\n\n"
        "Pick your topics below (tap again to remove). Change the time with /time and "
        "your time zone with /timezone. /help lists everything."
    )
    await _reply(update, text, reply_markup=topic_keyboard(services, subscriber))


async def cmd_help(update: Update, context: NewsContext) -> None:
    """List the commands."""
    await _reply(
        update, help_text(admin=_chat_id(update) in context.services.settings.admin_chat_ids)
    )


async def cmd_topics(update: Update, context: NewsContext) -> None:
    """Show the topic picker."""
    if not await _settings_allowed(update, context):
        return
    subscriber = await _require_subscriber(update, context)
    if subscriber is None:
        return
    await _reply(
        update,
        f"Your topics: {escape(_topics_line(context.services, subscriber))}.\nTap to change:",
        reply_markup=topic_keyboard(context.services, subscriber),
    )


async def on_topic_button(update: Update, context: NewsContext) -> None:
    """Toggle a topic from the picker (or close it)."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await query.answer(
            "Only this group's administrators can change its topics.", show_alert=True
        )
        return
    name = query.data.removeprefix(TOPIC_PREFIX)
    services = context.services
    if name == "done":
        await query.answer()
        subscriber = _subscriber(update, context)
        if subscriber is None:
            await query.edit_message_text(NOT_SUBSCRIBED)
            return
        await query.edit_message_text(
            f"Your topics: {escape(_topics_line(services, subscriber))}. "
            "Send /digest to read them now.",
            parse_mode=ParseMode.HTML,
        )
        return
    try:
        # Tapping a topic is an explicit subscribing action: it may create the subscription.
        subscriber, added = services.subscriptions.toggle_topic(
            _chat_id(update), name, create=_chat_type(update)
        )
    except UserError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    label = services.settings.topic(name)
    await query.answer(f"{'Added' if added else 'Removed'} {label.label if label else name}")
    await query.edit_message_reply_markup(topic_keyboard(services, subscriber))


async def _change_topics(update: Update, context: NewsContext, add: bool) -> None:
    if not await _settings_allowed(update, context):
        return
    command = "subscribe" if add else "unsubscribe"
    services = context.services
    args = _args(context)
    if not args:
        await _reply(
            update,
            f"Usage: /{command} &lt;topic&gt; … Topics: "
            f"{', '.join(services.settings.topic_names)}.",
        )
        return
    subscriptions = services.subscriptions
    try:
        names = subscriptions.topic_names(args)
        if add:  # /subscribe is an explicit subscribing action: it may create one
            change = subscriptions.subscribe(_chat_id(update), names, create=_chat_type(update))
        else:
            change = subscriptions.unsubscribe(_chat_id(update), names)
    except UserError as exc:
        await _reply(update, escape(str(exc)))
        return
    verb = "Added" if add else "Removed"
    parts = []
    if change.changed:
        parts.append(f"{verb}: {', '.join(change.changed)}.")
    if change.unchanged:
        state = "already subscribed" if add else "not subscribed"
        parts.append(f"{', '.join(change.unchanged)}: {state}.")
    parts.append(f"Your topics: {_topics_line(services, change.subscriber)}.")
    await _reply(update, escape(" ".join(parts)))


async def cmd_subscribe(update: Update, context: NewsContext) -> None:
    """Add topics by name."""
    await _change_topics(update, context, add=True)


async def cmd_unsubscribe(update: Update, context: NewsContext) -> None:
    """Remove topics by name."""
    await _change_topics(update, context, add=False)


# --- keywords ------------------------------------------------------------------------------


async def _keyword(update: Update, context: NewsContext, kind: str, add: bool) -> None:
    if not await _settings_allowed(update, context):
        return
    command = {
        ("follow", True): "follow",
        ("follow", False): "unfollow",
        ("exclude", True): "exclude",
        ("exclude", False): "unexclude",
    }[(kind, add)]
    args = _args(context)
    if len(args) != 1:
        await _reply(
            update, f"Usage: /{command} &lt;word&gt; (one plain word), e.g. /{command} climate"
        )
        return
    subscriptions = context.services.subscriptions
    try:
        if add:
            _, word, changed = subscriptions.add_keyword(_chat_id(update), kind, args[0])
        else:
            _, word, changed = subscriptions.remove_keyword(_chat_id(update), kind, args[0])
    except UserError as exc:
        await _reply(update, escape(str(exc)))
        return
    if kind == "follow":
        text = (
            f"Following “{word}”: stories mentioning it are always included."
            if add
            else f"No longer following “{word}”."
        )
        if not changed:
            text = f"You already follow “{word}”." if add else f"You were not following “{word}”."
    else:
        text = (
            f"Excluding “{word}”: stories mentioning it are left out."
            if add
            else f"No longer excluding “{word}”."
        )
        if not changed:
            text = f"You already exclude “{word}”." if add else f"You were not excluding “{word}”."
    await _reply(update, escape(text))


async def cmd_follow(update: Update, context: NewsContext) -> None:
    """Follow a word."""
    await _keyword(update, context, "follow", add=True)


async def cmd_unfollow(update: Update, context: NewsContext) -> None:
    """Stop following a word."""
    await _keyword(update, context, "follow", add=False)


async def cmd_exclude(update: Update, context: NewsContext) -> None:
    """Exclude a word."""
    await _keyword(update, context, "exclude", add=True)


async def cmd_unexclude(update: Update, context: NewsContext) -> None:
    """Stop excluding a word."""
    await _keyword(update, context, "exclude", add=False)


async def cmd_keywords(update: Update, context: NewsContext) -> None:
    """List followed and excluded words."""
    subscriber = await _require_subscriber(update, context)
    if subscriber is None:
        return
    follow = ", ".join(subscriber.follow) or "none (add with /follow word)"
    exclude = ", ".join(subscriber.exclude) or "none (add with /exclude word)"
    await _reply(update, escape(f"Following: {follow}\nExcluding: {exclude}"))


# --- digest and summaries ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def typing(update: Update, context: NewsContext) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (Telegram clears it after 5 s)."""
    chat_id, thread_id = _chat_id(update), _thread_id(update)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(4.5)
            with contextlib.suppress(TelegramError):
                await context.bot.send_chat_action(
                    chat_id, ChatAction.TYPING, message_thread_id=thread_id
                )

    # The first action is sent before the work starts, so it never arrives after the reply.
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _user_key(update: Update) -> int:
    user = update.effective_user
    return user.id if user is not None else _chat_id(update)


def _rate_limited(update: Update, context: NewsContext, action: str) -> str | None:
    """The refusal if the user is over the limit; counted at the update's arrival."""
    processor = context.application.update_processor
    arrived = processor.arrived(update) if isinstance(processor, ChatOrderedProcessor) else None
    wait = context.services.rate_limits.hit(action, _user_key(update), at=arrived)
    if wait is None:
        return None
    return f"Easy there: you can use /{action} again in {max(1, round(wait))} s."


async def cmd_digest(update: Update, context: NewsContext) -> None:
    """Send the chat's digest now."""
    subscriber = await _require_subscriber(update, context)
    if subscriber is None:
        return
    limited = _rate_limited(update, context, "digest")
    if limited:
        await _reply(update, limited)
        return
    services = context.services
    async with typing(update, context):
        outcome = await services.digests.deliver(
            subscriber.evolve(skip_empty=False), services.deliverer
        )
    if outcome.status != SENT:
        await _reply(
            update, "Sorry, I could not send your digest just now. Please try again in a minute."
        )


async def _summarize_and_reply(update: Update, context: NewsContext, source: str) -> None:
    """Start a summary in the background: the chat's next updates need not wait for it."""
    summaries = context.services.summaries
    user = _user_key(update)
    if summaries.busy(user):  # refused before counting: it was never started
        await _reply(update, escape(STILL_WORKING))
        return
    limited = _rate_limited(update, context, "summarize")
    if limited:
        await _reply(update, limited)
        return
    claim = summaries.claim(user)
    summaries.track(
        context.application.create_task(
            _summarize_in_background(update, context, source, claim), update=update
        )
    )


async def _summarize_in_background(
    update: Update, context: NewsContext, source: str, claim: Claim
) -> None:
    services = context.services
    with claim:
        try:
            async with typing(update, context):
                result = await services.summaries.summarize(source, services.http)
        except SummaryError as exc:
            await _reply(update, escape(str(exc)))
            return
        except asyncio.CancelledError:
            # The bot is stopping: say so rather than leave the request unanswered.
            with contextlib.suppress(TelegramError, TimeoutError):
                async with asyncio.timeout(RESTART_NOTE_SECONDS):
                    await _reply(update, RESTARTING)
            raise
        await _reply(update, render_summary_html(result.article, result.sentences))


def _text_of(message: Message) -> str:
    # A broken client can send unpaired surrogates, which no encoder downstream accepts.
    return clean_text(message.text or message.caption or "")


async def cmd_summarize(update: Update, context: NewsContext) -> None:
    """Summarize a URL or text given after the command, or the message replied to."""
    message = _message(update)
    text = _text_of(message)
    _, _, rest = text.partition(" ")
    rest = rest.strip() if text.startswith("/") else text
    if not rest and message.reply_to_message is not None:
        replied = message.reply_to_message
        rest = _text_of(replied)
        urls = URL.findall(rest)
        if urls and len(rest) < PASTE_MIN_CHARS:
            rest = urls[0]
    if not rest:
        await _reply(
            update,
            "Usage: /summarize &lt;link or text&gt;, or reply /summarize to a "
            "message. You can also just paste a long text or send a link.",
        )
        return
    await _summarize_and_reply(update, context, rest)


async def on_text(update: Update, context: NewsContext) -> None:
    """Plain text in a private chat: a link or a long/forwarded text is summarized."""
    message = _message(update)
    text = _text_of(message).strip()
    if URL.fullmatch(text) or message.forward_origin is not None or len(text) >= PASTE_MIN_CHARS:
        await _summarize_and_reply(update, context, text)
        return
    await _reply(
        update,
        "Send me a link or paste a longer text to get a summary. /help lists everything I can do.",
    )


# --- time, settings, state ------------------------------------------------------------------


async def cmd_time(update: Update, context: NewsContext) -> None:
    """Set the daily delivery time(s)."""
    if not await _settings_allowed(update, context):
        return
    if await _require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_times(_chat_id(update), _args(context))
    except UserError as exc:
        await _reply(update, escape(str(exc)))
        return
    await _reply(
        update,
        escape(
            f"Your digest will arrive daily at {', '.join(subscriber.times)} "
            f"({subscriber.timezone}). {_next_line(context, subscriber)}"
        ),
    )


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    """Set the time zone."""
    if not await _settings_allowed(update, context):
        return
    args = _args(context)
    if not args:
        await _reply(
            update,
            "Usage: /timezone &lt;Area/City&gt;, e.g. /timezone Europe/Berlin "
            "or /timezone America/New_York",
        )
        return
    if await _require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_timezone(_chat_id(update), " ".join(args))
    except UserError as exc:
        await _reply(update, escape(str(exc)))
        return
    await _reply(
        update, escape(f"Time zone set to {subscriber.timezone}. {_next_line(context, subscriber)}")
    )


def _next_line(context: NewsContext, subscriber: Subscriber) -> str:
    if not subscriber.active:
        return "Digests are paused: /resume to restart them."
    slot = next_slot(subscriber, context.services.clock())
    if slot is None:
        return ""
    return f"Next digest: {local_time(slot, subscriber.timezone, context.services.clock())}."


async def cmd_settings(update: Update, context: NewsContext) -> None:
    """Everything about this chat's subscription in one message."""
    subscriber = _subscriber(update, context)
    if subscriber is None:
        await _reply(
            update,
            "This chat has no subscription, and nothing about it is stored. "
            "Send /start to begin one.",
        )
        return
    services = context.services
    state = {ACTIVE: "active", PAUSED: "paused (/resume to restart)"}.get(
        subscriber.status, subscriber.status
    )
    lines = [
        "<b>Your settings</b>",
        f"Topics: {escape(_topics_line(services, subscriber))}",
        f"Following: {escape(', '.join(subscriber.follow) or 'none')}",
        f"Excluding: {escape(', '.join(subscriber.exclude) or 'none')}",
        f"Daily at: {escape(', '.join(subscriber.times))} ({escape(subscriber.timezone)})",
        f"Status: {state}",
        "When nothing is new: " + ("no message" if subscriber.skip_empty else "a one-line note"),
    ]
    next_line = _next_line(context, subscriber)
    if next_line:
        lines.append(escape(next_line))
    await _reply(update, "\n".join(lines))


async def cmd_empty(update: Update, context: NewsContext) -> None:
    """Choose what happens when a digest has nothing new."""
    if not await _settings_allowed(update, context):
        return
    args = [a.lower() for a in _args(context)]
    if args not in (["skip"], ["show"]):
        await _reply(
            update,
            "Usage: /empty skip (send nothing when nothing is new) or "
            "/empty show (send a one-line note).",
        )
        return
    if await _require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_skip_empty(_chat_id(update), args[0] == "skip")
    await _reply(
        update,
        "Days with nothing new will be skipped silently."
        if args[0] == "skip"
        else "On days with nothing new you will get a one-line note.",
    )


async def cmd_pause(update: Update, context: NewsContext) -> None:
    """Pause scheduled digests."""
    if not await _settings_allowed(update, context):
        return
    if await _require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_status(_chat_id(update), PAUSED)
    await _reply(update, "Paused: no daily digests until you send /resume. /digest still works.")


async def cmd_resume(update: Update, context: NewsContext) -> None:
    """Resume scheduled digests."""
    if not await _settings_allowed(update, context):
        return
    if await _require_subscriber(update, context) is None:
        return
    subscriber = context.services.subscriptions.set_status(_chat_id(update), ACTIVE)
    await _reply(update, escape(f"Resumed. {_next_line(context, subscriber)}"))


async def cmd_stop(update: Update, context: NewsContext) -> None:
    """Ask to confirm deleting the chat's data."""
    if not await _settings_allowed(update, context):
        return
    if _subscriber(update, context) is None:
        await _reply(update, "This chat has no subscription: nothing about it is stored.")
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete everything", callback_data=f"{STOP_PREFIX}yes"),
                InlineKeyboardButton("Cancel", callback_data=f"{STOP_PREFIX}no"),
            ]
        ]
    )
    await _reply(
        update,
        "This stops all digests and deletes your topics, words and history. Are you sure?",
        reply_markup=keyboard,
    )


async def on_stop_button(update: Update, context: NewsContext) -> None:
    """Delete the chat's data when confirmed."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await query.answer("Only this group's administrators can do that.", show_alert=True)
        return
    await query.answer()
    if query.data != f"{STOP_PREFIX}yes":
        await query.edit_message_text("Cancelled: nothing was deleted.")
        return
    services = context.services
    chat_id = _chat_id(update)
    existed = services.subscriptions.delete(chat_id)
    services.admin_cache.forget_chat(chat_id)
    await query.edit_message_text(
        "Done: your data is deleted and no more digests will come. "
        "Send /start any time to begin again."
        if existed
        else "There was nothing to delete: this chat has no subscription."
    )


# --- admins ----------------------------------------------------------------------------------


def _is_bot_admin(update: Update, context: NewsContext) -> bool:
    user = update.effective_user
    admins = context.services.settings.admin_chat_ids
    return _chat_id(update) in admins or (user is not None and user.id in admins)


async def cmd_stats(update: Update, context: NewsContext) -> None:
    """Subscribers, digests sent today, failures by kind, feed health (admins only)."""
    if not _is_bot_admin(update, context):
        await _reply(update, "Sorry, /stats is for the bot's administrators.")
        return
    services = context.services
    store = services.store
    today = services.clock().date()
    counters = store.counters(today)
    statuses: dict[str, int] = {}
    for subscriber in store.subscribers():
        statuses[subscriber.status] = statuses.get(subscriber.status, 0) + 1
    failures = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("failures:")}
    feeds = list(store.feed_states())
    failing = [f for f in feeds if f.failures]
    lines = [
        "<b>Statistics</b>",
        f"Subscribers: {sum(statuses.values())} (active {statuses.get(ACTIVE, 0)}, "
        f"paused {statuses.get(PAUSED, 0)}, blocked {statuses.get('blocked', 0)})",
        f"Digests sent today: {counters.get('digests_sent', 0)}",
        "Failures today: " + (", ".join(f"{k} {v}" for k, v in sorted(failures.items())) or "none"),
        f"Articles stored: {store.count_articles()}",
        f"Feeds: {len(services.settings.feeds)} configured, {len(failing)} failing",
    ]
    for feed in failing[:10]:
        lines.append(
            f"• {escape(clip(feed.url, 200))}: {feed.failures} failures "
            f"({escape(feed.last_error_kind or 'error')})"
        )
    await _reply(update, "\n".join(lines))


async def cmd_sources(update: Update, context: NewsContext) -> None:
    """Each configured source with its health (admins only)."""
    if not _is_bot_admin(update, context):
        await _reply(update, "Sorry, /sources is for the bot's administrators.")
        return
    services = context.services
    lines = []
    if services.settings.seeds_dir is not None:
        lines.append(f"• seeds folder: {escape(str(services.settings.seeds_dir))}")
    for feed in services.settings.feeds:
        state = services.store.get_feed_state(feed.url)
        if state is None:
            health = "not polled yet"
        elif state.failures:
            problem = clip(state.last_error or state.last_error_kind or "error", 200)
            health = f"failing ×{state.failures}: {problem}"
        else:
            last = state.last_success
            health = f"ok, {state.articles_total} articles" + (
                f", last {local_time(last, 'UTC', services.clock())} UTC" if last else ""
            )
        lines.append(
            f"• <b>{escape(feed.name)}</b> ({escape(', '.join(feed.topics))}): {escape(health)}"
        )
    for part in split_messages("<b>Sources</b>", lines, separator="\n"):
        await _reply(update, part)


# --- the rest ----------------------------------------------------------------------------------


async def on_unknown_command(update: Update, context: NewsContext) -> None:
    """Answer commands the bot does not know."""
    text = _text_of(_message(update)).split()[0] if _text_of(_message(update)) else "/"
    command = clip(text.split("@", 1)[0], 40)
    await _reply(update, f"Sorry, I don't know {escape(command)}. /help lists what I can do.")


async def on_unknown_button(update: Update, context: NewsContext) -> None:
    """A button the bot no longer knows (an old message, forged data): answer it anyway,
    so the user's client stops waiting."""
    query = update.callback_query
    assert query is not None
    await query.answer("This button no longer works. Send /help to see what I can do.")


async def note_contact(update: Update, context: NewsContext) -> None:
    """A chat that writes to the bot has unblocked it: its digests resume if they had
    stopped for that reason (nothing is created here)."""
    chat = update.effective_chat
    if chat is not None:
        context.services.subscriptions.heard_from(chat.id)


async def gate_private_mode(update: Update, context: NewsContext) -> None:
    """Private mode: chats not on the allowlist are answered once per update and ignored."""
    services = context.services
    allowed = services.settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or chat is None:
        return
    user = update.effective_user
    if (
        chat.id in allowed
        or chat.id in services.settings.admin_chat_ids
        or (
            user is not None and (user.id in allowed or user.id in services.settings.admin_chat_ids)
        )
    ):
        return
    if update.effective_message is not None and chat.type == ChatType.PRIVATE:
        await _reply(update, "This is a private newsdigest bot. Ask its owner to add you.")
    elif update.callback_query is not None:
        await update.callback_query.answer("This is a private bot.")
    raise ApplicationHandlerStop


async def on_error(update: object, context: NewsContext) -> None:
    """Log anything unexpected, and tell the user something went wrong."""
    error = context.error
    logger.error("error while handling an update", exc_info=error)
    if isinstance(error, StoreWriteError):
        text = ("Sorry, I could not save that: the bot's storage cannot be written right now "
                "(its disk may be full or read-only). Nothing was changed; please try again "
                "later.")
    else:
        text = "Sorry, something went wrong on my side. It has been logged; please try again."
    if not isinstance(update, Update):
        return
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer(text[:MAX_ALERT], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
