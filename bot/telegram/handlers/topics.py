"""Subscribing: /start, topics by button or name, followed and excluded words."""

from __future__ import annotations

import logging

from telegram import (
    Update,
)

from ...i18n import Html, Text, _, lines
from ...services.subscriptions import NOT_SUBSCRIBED, UserError
from ..context import NewsContext
from .chats import (
    button_target,
    edit_on,
    reply_on,
    require_subscriber,
    subscriber_of,
    target_of,
)
from .common import (
    TOPIC_PREFIX,
    answer,
    args_of,
    edit_buttons,
    language_of,
    reply,
    topic_keyboard,
    topics_line,
)

logger = logging.getLogger(__name__)


async def cmd_start(update: Update, context: NewsContext) -> None:
    """Welcome the chat and show the topic picker."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    services = context.services
    user = update.effective_user
    subscriber = services.subscriptions.start(
        target.chat_id, *target.create, user.language_code if user else None
    )
    text = _(
        "👋 <b>Welcome to newsdigest!</b>\n"
        "Every day at <b>{times}</b> ({zone}) I will send you a short digest of the news "
        "in your topics.\n\n"
        "Pick your topics below (tap again to remove). Change the time with /time and "
        "your time zone with /timezone. /help lists everything.",
        times=", ".join(subscriber.times),
        zone=subscriber.timezone,
    )
    keyboard = topic_keyboard(services, subscriber, language_of(update, context), target.suffix)
    await reply_on(update, context, target, text, reply_markup=keyboard)


async def cmd_topics(update: Update, context: NewsContext) -> None:
    """Show the topic picker."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    subscriber = await require_subscriber(update, context, target)
    if subscriber is None:
        return
    language = language_of(update, context)
    await reply_on(
        update,
        context,
        target,
        _(
            "Your topics: {topics}.\nTap to change:",
            topics=topics_line(context.services, subscriber, language),
        ),
        reply_markup=topic_keyboard(context.services, subscriber, language, target.suffix),
    )


async def on_topic_button(update: Update, context: NewsContext) -> None:
    """Toggle a topic from the picker (or close it)."""
    refusal = _("Only this group's administrators can change its topics.")
    found = await button_target(update, context, TOPIC_PREFIX, refusal)
    if found is None:
        return
    target, name = found
    services = context.services
    if name == "done":
        await answer(update, context)
        subscriber = subscriber_of(context, target)
        if subscriber is None:
            await edit_on(update, context, target, NOT_SUBSCRIBED)
            return
        await edit_on(
            update,
            context,
            target,
            _(
                "Your topics: {topics}. Send /digest to read them now.",
                topics=topics_line(services, subscriber, language_of(update, context)),
            ),
        )
        return
    try:
        # Tapping a topic is an explicit subscribing action: it may create the subscription.
        subscriber, added = services.subscriptions.toggle_topic(
            target.chat_id, name, create=target.create
        )
    except UserError as exc:
        await answer(update, context, exc.text, alert=True)
        return
    topic = services.settings.topic(name)
    label = topic.label_in(language_of(update, context)) if topic else name
    await answer(
        update,
        context,
        _("Added {topic}", topic=label) if added else _("Removed {topic}", topic=label),
    )
    await edit_buttons(
        update, topic_keyboard(services, subscriber, language_of(update, context), target.suffix)
    )


async def _change_topics(update: Update, context: NewsContext, add: bool) -> None:
    target = await target_of(update, context, change=True)
    if target is None:
        return
    services = context.services
    args = args_of(context)
    topics = ", ".join(services.settings.topic_names)
    if not args:
        usage = (
            _("Usage: /subscribe &lt;topic&gt; … Topics: {topics}.", topics=topics)
            if add
            else _("Usage: /unsubscribe &lt;topic&gt; … Topics: {topics}.", topics=topics)
        )
        await reply(update, context, usage)
        return
    subscriptions = services.subscriptions
    try:
        names = subscriptions.topic_names(args)
        if add:  # /subscribe is an explicit subscribing action: it may create one
            change = subscriptions.subscribe(target.chat_id, names, create=target.create)
        else:
            change = subscriptions.unsubscribe(target.chat_id, names)
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    language = language_of(update, context)
    labels = {t.name: t.label_in(language) for t in services.settings.topics}
    parts: list[Text] = []
    if change.changed:
        changed = ", ".join(labels.get(name, name) for name in change.changed)
        parts.append(
            _("Added: {topics}.", topics=changed)
            if add
            else _("Removed: {topics}.", topics=changed)
        )
    if change.unchanged:
        same = ", ".join(labels.get(name, name) for name in change.unchanged)
        parts.append(
            _("{topics}: already subscribed.", topics=same)
            if add
            else _("{topics}: not subscribed.", topics=same)
        )
    parts.append(
        _("Your topics: {topics}.", topics=topics_line(services, change.subscriber, language))
    )
    await reply_on(update, context, target, Html(" ".join(p.render(language) for p in parts)))


async def cmd_subscribe(update: Update, context: NewsContext) -> None:
    """Add topics by name."""
    await _change_topics(update, context, add=True)


async def cmd_unsubscribe(update: Update, context: NewsContext) -> None:
    """Remove topics by name."""
    await _change_topics(update, context, add=False)


_KEYWORD_USAGE = {
    "follow": _("Usage: /follow &lt;word&gt; (one plain word), e.g. /follow climate"),
    "unfollow": _("Usage: /unfollow &lt;word&gt; (one plain word), e.g. /unfollow climate"),
    "exclude": _("Usage: /exclude &lt;word&gt; (one plain word), e.g. /exclude climate"),
    "unexclude": _("Usage: /unexclude &lt;word&gt; (one plain word), e.g. /unexclude climate"),
}


def _keyword_answer(kind: str, add: bool, changed: bool, word: str) -> Text:
    if kind == "follow":
        if add:
            if changed:
                return _(
                    "Following “{word}”: stories mentioning it are always included.", word=word
                )
            return _("You already follow “{word}”.", word=word)
        if changed:
            return _("No longer following “{word}”.", word=word)
        return _("You were not following “{word}”.", word=word)
    if add:
        if changed:
            return _("Excluding “{word}”: stories mentioning it are left out.", word=word)
        return _("You already exclude “{word}”.", word=word)
    if changed:
        return _("No longer excluding “{word}”.", word=word)
    return _("You were not excluding “{word}”.", word=word)


async def _keyword(update: Update, context: NewsContext, kind: str, add: bool) -> None:
    target = await target_of(update, context, change=True)
    if target is None:
        return
    command = kind if add else f"un{kind}"
    args = args_of(context)
    if len(args) != 1:
        await reply(update, context, _KEYWORD_USAGE[command])
        return
    subscriptions = context.services.subscriptions
    try:
        if add:
            change = subscriptions.add_keyword(target.chat_id, kind, args[0])
        else:
            _sub, word, changed = subscriptions.remove_keyword(target.chat_id, kind, args[0])
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    if not add:
        await reply_on(update, context, target, _keyword_answer(kind, add, changed, word))
        return
    answer = _keyword_answer(kind, add, change.added, change.word)
    if change.moved:  # the word left the other list: say so (the follow, or the exclusion, ended)
        other = "exclude" if kind == "follow" else "follow"
        answer = lines(answer, _keyword_answer(other, False, True, change.word))
    if change.added:  # asked of the digest index only once the word is valid and kept
        index = await context.services.digests.builder()
        common = subscriptions.common(change.word, index.mentioning)
        if common is not None:
            answer = lines(answer, _common_word(kind, change.word, *common))
    await reply_on(update, context, target, answer)


def _common_word(kind: str, word: str, found: int, total: int) -> Text:
    """The note on a word most recent articles mention."""
    if kind == "follow":
        return _(
            "Note: “{word}” is in {found} of the {total} recent articles, so following it "
            "brings nearly every story.",
            word=word,
            found=found,
            total=total,
        )
    return _(
        "Note: “{word}” is in {found} of the {total} recent articles, so excluding it "
        "leaves few stories.",
        word=word,
        found=found,
        total=total,
    )


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
    target = await target_of(update, context, change=False)
    if target is None:
        return
    subscriber = await require_subscriber(update, context, target)
    if subscriber is None:
        return
    follow = ", ".join(subscriber.follow) or _("none (add with /follow word)")
    exclude = ", ".join(subscriber.exclude) or _("none (add with /exclude word)")
    await reply_on(
        update,
        context,
        target,
        _("Following: {follow}\nExcluding: {exclude}", follow=follow, exclude=exclude),
    )
