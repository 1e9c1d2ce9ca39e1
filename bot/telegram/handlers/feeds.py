"""The chat's own feeds: /addfeed, /feeds, /removefeed (buttons), OPML files in, /export.

Which chat a command acts on comes from ``chats.target_of`` (the chat it was sent in, or
the channel selected with /channel), the one place that decides it for every settings
command; a /removefeed button carries its channel like every button.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError

from ...digest.render import clip, html_to_plain, local_time
from ...i18n import Html, Text, _, _n, render
from ...services.feeds import MAX_OPML_BYTES, NO_FEEDS, FeedHealth, ImportReport, feed_url
from ...services.subscriptions import UserError
from ..context import NewsContext
from .chats import about, button_target, edit_on, reply_on, subscriber_of, target_of
from .common import (
    REMOVE_FEED_PREFIX,
    answer,
    args_of,
    language_of,
    message_of,
    rate_limited,
    reply,
    typing,
)

logger = logging.getLogger(__name__)

EXPORT_FILE = "newsdigest-feeds.opml"
# Failures of an OPML import named one by one; more are counted.
MAX_FAILURES_SHOWN = 10


async def cmd_addfeed(update: Update, context: NewsContext) -> None:
    """Add an RSS or Atom feed (or a page that links one) to the chat's sources."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    args = args_of(context)
    if not args:
        await reply(update, context, _("Usage: /addfeed &lt;link to a feed or a site&gt;"))
        return
    try:  # a mistyped link is answered at once: no "typing…", no use of the rate limit
        link = feed_url(" ".join(args))
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    limited = rate_limited(update, context, "feeds")
    if limited:
        await reply(update, context, limited)
        return
    services = context.services
    try:
        async with typing(update, context):
            added = await services.feeds.add(target.chat_id, link, services.http)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    services.digests.invalidate()
    await reply_on(
        update,
        context,
        target,
        _n(
            "Added: {title}, {count} entry. Its new entries come with your digest.",
            "Added: {title}, {count} entries. Its new entries come with your digest.",
            added.entries,
            title=clip(added.title, 80),
        ),
    )


def _health_line(feed: FeedHealth, number: int, now: datetime, zone: str, language: str) -> Text:
    """One line of /feeds: the feed, linked, and how its last reading went."""
    title = html.escape(clip(feed.title, 60), quote=False)
    link = Html(f'<a href="{html.escape(feed.url, quote=True)}">{title}</a>')
    if feed.problem is not None:
        return _(
            "{number}. ⚠️ {feed}: failing ({reason})",
            number=number,
            feed=link,
            reason=feed.problem,
        )
    if feed.last_success is None:
        return _("{number}. ⏳ {feed}: not read yet", number=number, feed=link)
    when = local_time(feed.last_success, zone, now, language)
    return _n(
        "{number}. ✅ {feed}: {count} entry, read {when}",
        "{number}. ✅ {feed}: {count} entries, read {when}",
        feed.entries,
        number=number,
        feed=link,
        when=when,
    )


async def cmd_feeds(update: Update, context: NewsContext) -> None:
    """List the chat's own feeds with their health."""
    target = await target_of(update, context, change=False)
    if target is None:
        return
    try:
        feeds = context.services.feeds.health(target.chat_id)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    if not feeds:
        await reply_on(update, context, target, NO_FEEDS)
        return
    language = language_of(update, context)
    subscriber = subscriber_of(context, target)
    zone = subscriber.timezone if subscriber is not None else "UTC"
    now = context.services.clock()
    limit = context.services.settings.max_feeds_per_chat
    lines = [_("<b>This chat's feeds</b> ({count} of {limit}):", count=len(feeds), limit=limit)]
    lines += [_health_line(f, i, now, zone, language) for i, f in enumerate(feeds, 1)]
    lines.append(_("/removefeed to remove one, /export to save them as an OPML file."))
    text = Html("\n".join(line.render(language) for line in lines))
    await reply_on(update, context, target, text)


async def cmd_removefeed(update: Update, context: NewsContext) -> None:
    """Remove one of the chat's feeds: by its number or link, or with a button."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    services = context.services
    args = args_of(context)
    try:
        if args:
            removed = services.feeds.remove(target.chat_id, " ".join(args))
            text = _("Removed: {title}.", title=clip(removed.title, 80))
            await reply_on(update, context, target, text)
            return
        feeds = services.feeds.health(target.chat_id)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    if not feeds:
        await reply_on(update, context, target, NO_FEEDS)
        return
    buttons = [
        [
            InlineKeyboardButton(
                f"✖ {clip(f.title, 40)}",
                callback_data=f"{REMOVE_FEED_PREFIX}{f.key}{target.suffix}",
            )
        ]
        for f in feeds
    ]
    await reply_on(
        update,
        context,
        target,
        _("Which feed should I remove?"),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


async def on_removefeed_button(update: Update, context: NewsContext) -> None:
    """A press on a /removefeed button."""
    found = await button_target(update, context, REMOVE_FEED_PREFIX)
    if found is None:
        return
    target, key = found
    try:
        removed = context.services.feeds.remove(target.chat_id, key)
    except UserError as exc:
        await answer(update, context, exc.text, alert=True)
        return
    await answer(update, context)
    await edit_on(update, context, target, _("Removed: {title}.", title=clip(removed.title, 80)))


def _import_text(report: ImportReport) -> list[Text]:
    lines = [
        _n(
            "{count} feed added, {failed} failed.",
            "{count} feeds added, {failed} failed.",
            len(report.added),
            failed=len(report.failed),
        )
    ]
    if report.present:
        lines.append(
            _n(
                "{count} was already in this chat's sources.",
                "{count} were already in this chat's sources.",
                report.present,
            )
        )
    for url, reason in report.failed[:MAX_FAILURES_SHOWN]:
        lines.append(_("• {link}: {reason}", link=clip(url, 80), reason=reason))
    hidden = len(report.failed) - MAX_FAILURES_SHOWN
    if hidden > 0:
        lines.append(_n("…and {count} more.", "…and {count} more.", hidden))
    return lines


async def on_opml_file(update: Update, context: NewsContext) -> None:
    """An .opml or .xml file sent to the bot: import the feeds it lists."""
    document = message_of(update).document
    assert document is not None  # the handler's filter lets only documents through
    target = await target_of(update, context, change=True)
    if target is None:
        return
    if document.file_size is not None and document.file_size > MAX_OPML_BYTES:
        await reply(
            update,
            context,
            _(
                "That file is too large for a list of feeds (at most {count} bytes).",
                count=MAX_OPML_BYTES,
            ),
        )
        return
    limited = rate_limited(update, context, "feeds")
    if limited:
        await reply(update, context, limited)
        return
    services = context.services
    try:
        async with typing(update, context):
            data = bytes(await (await document.get_file()).download_as_bytearray())
            report = await services.feeds.import_opml(target.chat_id, data, services.http)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    except TelegramError:
        logger.warning("could not download an OPML file", exc_info=True)
        await reply(update, context, _("I could not download that file; please send it again."))
        return
    if report.added:
        services.digests.invalidate()
    language = language_of(update, context)
    text = "\n".join(line.render(language) for line in _import_text(report))
    await reply_on(update, context, target, Html(text))


async def cmd_export(update: Update, context: NewsContext) -> None:
    """Send the chat's own feeds as an OPML file."""
    target = await target_of(update, context, change=False)
    if target is None:
        return
    try:
        data = context.services.feeds.export_opml(target.chat_id)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    caption = _("This chat's feeds, as an OPML file any feed reader can import.")
    language = language_of(update, context)
    await message_of(update).reply_document(
        InputFile(data, filename=EXPORT_FILE),
        caption=html_to_plain(render(about(target, caption, language), language)),
    )
