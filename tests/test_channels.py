"""Channels: linked from the private chat, managed from it, digests posted in the channel,
paused when the bot can no longer post there. Each journey drives the real Application
through the fake Bot API, where the channel, its administrators and the bot's rights are
Telegram's to say (getChat, getChatMember, my_chat_member)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.models import ACTIVE, PAUSED
from bot.store import Store
from fakebotapi import FakeBotAPI, SentMessage
from tests.botharness import T0, USER, Clock, RunningBot, bot_running, ingest_seeds
from tests.feedserver import FeedServer, Reply

CHANNEL = -100_555_000_111
NAME = "harbournews"
TITLE = "Harbour News"
OTHER = 5151  # another user, who is no administrator of the channel


@pytest.fixture
async def bot(api: FakeBotAPI, settings: Settings, store: Store) -> AsyncIterator[RunningBot]:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    api.add_user(USER, "Ada", "ada", language_code="en")
    api.add_chat(CHANNEL, "channel", title=TITLE, username=NAME)
    api.set_admins(CHANNEL, [], owner=USER)
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


async def say(bot: RunningBot, text: str, user: int = USER, **forward: int) -> str:
    """Send a message in the user's private chat; the plain text of the bot's next reply."""
    before = len(bot.api.messages(user))
    bot.api.user_sends(user, user, text, **forward)  # type: ignore[arg-type]  # forward_from_chat only
    messages = await bot.api.wait_for_messages(user, before + 1)
    return messages[before].plain_text


async def press(bot: RunningBot, message: SentMessage, data: str, user: int = USER) -> str:
    """Press a button of a bot message (forged: any data); the answer's text."""
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(user, user, message.message_id, data, forged=True)
    await bot.api.wait_for(lambda: len(bot.api.callback_answers) > answered, what=data)
    return bot.api.callback_answers[-1].text or ""


async def link(bot: RunningBot) -> str:
    """Make the bot an administrator of the channel and link it with /channel @name."""
    bot.api.bot_promoted(CHANNEL, by=USER)
    return await say(bot, f"/channel @{NAME}")


async def test_a_linked_channel_has_its_own_settings_and_gets_its_digest_posted(
    bot: RunningBot,
) -> None:
    """/channel @name links the channel; its picker, /time and /timezone change the
    channel's subscription (each answer names the channel), the user's own chat is left
    alone, and at the channel's time its digest is posted in the channel."""
    await say(bot, "/start")
    linked = await link(bot)
    assert f"Linked {TITLE}" in linked
    subscriber = bot.store.get_subscriber(CHANNEL)
    assert subscriber is not None
    assert (subscriber.chat_type, subscriber.status) == ("channel", ACTIVE)
    channel = bot.store.get_channel(CHANNEL)
    assert channel is not None
    assert channel.managers == (USER,)
    picker = bot.api.messages(USER)[-1]
    assert f"t:world@{CHANNEL}" in picker.callback_data
    assert await press(bot, picker, f"t:world@{CHANNEL}") == "Added World"
    assert bot.store.get_subscriber(CHANNEL).topics == ("world",)  # type: ignore[union-attr]  # linked above
    assert bot.store.get_subscriber(USER).topics == ()  # type: ignore[union-attr]  # /start above

    answer = await say(bot, "/time 06:30")
    assert answer.startswith(f"📢 Channel {TITLE}:")
    assert "daily at 06:30" in answer
    assert "Europe/Lisbon" in await say(bot, "/timezone Europe/Lisbon")
    assert "Following “harbour”" in await say(bot, "/follow harbour")
    settings = await say(bot, "/settings")
    assert settings.startswith(f"📢 Channel {TITLE}:")
    assert "World" in settings
    assert "06:30 (Europe/Lisbon)" in settings
    own = bot.store.get_subscriber(USER)
    assert own is not None
    assert (own.times, own.timezone, own.follow) == (("08:00",), "UTC", ())

    bot.clock.advance(minutes=26)  # 06:31 UTC, 06:31 in Lisbon in November
    await bot.dispatch()
    digest = await bot.api.wait_for_messages(CHANNEL, 1)
    assert "Your news digest" in digest[0].plain_text
    assert bot.store.delivered_ids(CHANNEL)


async def test_digest_now_is_posted_in_the_selected_channel(bot: RunningBot) -> None:
    """/digest with the channel selected posts the channel's digest in the channel and
    says so in the private chat."""
    await link(bot)
    assert "The digest is posted in the channel" in await say(bot, "/digest")
    assert "Your news digest" in bot.api.messages(CHANNEL)[0].plain_text


@pytest.mark.parametrize(
    ("setup", "command", "answer"),
    [
        pytest.param("none", "/channel @nosuchchannel", "I can't find the channel", id="no-such"),
        pytest.param("none", f"/channel @{NAME}", "I am not an administrator of", id="bot"),
        pytest.param("not-admin", f"/channel @{NAME}", "Telegram says you are not one", id="user"),
        pytest.param("group", "/channel @readersgroup", "is not a channel", id="a-group"),
        pytest.param("none", "/channel what is this", "Usage: /channel @name", id="usage"),
        pytest.param("none", "/channel", "You manage no channels with me yet", id="none-yet"),
    ],
)
async def test_linking_is_refused_in_one_clear_line_and_stores_nothing(
    bot: RunningBot, setup: str, command: str, answer: str
) -> None:
    """No such channel, the bot not an administrator, the user not an administrator, a
    group, bad words: each gets one line, and nothing is stored for the channel."""
    if setup == "not-admin":
        bot.api.bot_promoted(CHANNEL, by=USER)
        bot.api.set_admins(CHANNEL, [], owner=OTHER)
    if setup == "group":
        bot.api.add_chat(-100_777, "supergroup", title="Readers", username="readersgroup")
    assert answer in await say(bot, command)
    assert bot.store.get_channel(CHANNEL) is None
    assert bot.store.get_subscriber(CHANNEL) is None
    assert bot.store.selected_chat(USER) is None


async def test_forwarding_a_post_links_the_channel_and_other_forwards_are_summarized(
    bot: RunningBot,
) -> None:
    """A post forwarded from a channel where the bot is an administrator links it (a
    private channel has no @name); a forward from a channel the bot is not in is
    summarized, as any forward is."""
    private = -100_555_000_222
    bot.api.add_chat(private, "channel", title="Staff Notes")
    bot.api.set_admins(private, [USER])
    bot.api.bot_promoted(private, by=USER)
    post = "The harbour bridge reopens on Monday after two years of repairs."
    bot.api.channel_posts(private, post)
    assert "Linked Staff Notes" in await say(bot, post, forward_from_chat=private)
    assert bot.store.selected_chat(USER) == private

    wire = -100_555_000_333
    bot.api.add_chat(wire, "channel", title="Wire")
    story = (
        "The city council approved a plan on Tuesday to rebuild the old harbour bridge. "
        "The bridge, built in 1931, has been closed to trucks since a crack was found. "
        "Engineers said the new bridge will carry twice as much traffic. "
        "Construction starts in March and should take about two years. "
        "Shop owners near the harbour worried about noise and lost customers."
    )
    summary = await say(bot, story, forward_from_chat=wire)
    assert "Linked" not in summary
    assert "council" in summary
    assert bot.store.get_channel(wire) is None


async def test_channel_lists_the_users_chats_and_switches_between_them(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """/channel lists the user's own chat and their channels as buttons; pressing one
    switches the chat the next commands act on (pressing the chosen one again is fine)."""
    await say(bot, "/start")
    await link(bot)
    listing = await say(bot, "/channel")
    assert f"act on the channel {TITLE}" in listing
    chats = bot.api.messages(USER)[-1]
    assert chats.callback_data == [f"ch:{USER}", f"ch:{CHANNEL}"]
    labels = [b["text"] for row in chats.buttons for b in row]
    assert labels == ["👤 This chat (your own digest)", f"✅ 📢 {TITLE}"]
    await press(bot, chats, f"ch:{USER}")
    await bot.api.wait_for(lambda: bot.api.message(USER, chats.message_id).edited)
    assert "act on this chat" in bot.api.message(USER, chats.message_id).plain_text
    assert await press(bot, chats, f"ch:{USER}") == ""
    answer = await say(bot, "/time 21:00")
    assert not answer.startswith("📢")
    assert bot.store.get_subscriber(USER).times == ("21:00",)  # type: ignore[union-attr]  # /start above
    assert bot.store.get_subscriber(CHANNEL).times == ("08:00",)  # type: ignore[union-attr]  # linked above
    await press(bot, chats, f"ch:{CHANNEL}")
    assert (await say(bot, "/pause")).startswith(f"📢 Channel {TITLE}:")
    assert bot.store.get_subscriber(CHANNEL).status == PAUSED  # type: ignore[union-attr]  # linked above
    assert bot.store.get_subscriber(USER).status == ACTIVE  # type: ignore[union-attr]  # /start above
    assert "error while handling" not in caplog.text


@pytest.mark.parametrize("change", ["demoted", "removed"])
async def test_removing_or_demoting_the_bot_pauses_the_channel_and_tells_its_manager(
    bot: RunningBot, change: str
) -> None:
    """my_chat_member showing the bot demoted or removed pauses the channel's digests
    (nothing is deleted) and the manager gets a note; promoted again and /resume, digests
    come again."""
    await link(bot)
    before = len(bot.api.messages(USER))
    if change == "demoted":
        bot.api.bot_demoted(CHANNEL, by=USER)
    else:
        bot.api.bot_removed(CHANNEL, by=USER)
    messages = await bot.api.wait_for_messages(USER, before + 1)
    assert f"I can no longer post in {TITLE}" in messages[before].plain_text
    subscriber = bot.store.get_subscriber(CHANNEL)
    assert subscriber is not None
    assert subscriber.status == PAUSED
    assert bot.store.get_channel(CHANNEL) is not None
    bot.api.bot_promoted(CHANNEL, by=USER)
    messages = await bot.api.wait_for_messages(USER, before + 2)
    assert f"I can post in {TITLE} again" in messages[before + 1].plain_text
    assert "Resumed" in await say(bot, "/resume")
    await say(bot, "/digest")
    assert bot.api.messages(CHANNEL)


@pytest.mark.parametrize("refusal", ["forbidden", "no-admin-rights"])
async def test_a_post_refused_by_telegram_pauses_the_channel_and_tells_its_manager(
    bot: RunningBot, refusal: str
) -> None:
    """The bot lost its rights without hearing of it: the first digest Telegram refuses
    (Forbidden, or "need administrator rights") pauses the channel instead of marking it
    blocked forever, and the manager gets a note."""
    await link(bot)
    if refusal == "forbidden":
        bot.api.inject("forbidden", chat_id=CHANNEL, description="Forbidden: bot was kicked")
    else:
        bot.api.chat(CHANNEL).bot_status = "member"  # demoted, its update lost
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, "/digest")
    await bot.api.wait_for_messages(USER, before + 2)
    texts = [m.plain_text for m in bot.api.messages(USER)[before:]]
    assert any(f"I can no longer post in {TITLE}" in t for t in texts)
    assert any("could not send your digest" in t for t in texts)
    assert bot.store.get_subscriber(CHANNEL).status == PAUSED  # type: ignore[union-attr]  # linked above


async def test_someone_no_longer_an_admin_cannot_manage_the_channel(bot: RunningBot) -> None:
    """Admin rights are re-checked (remembered at most 5 minutes): a user who is no
    longer an administrator stops managing the channel and changes nothing; a user who
    never was one cannot act on it with a forged button."""
    await link(bot)
    await say(bot, "/start", user=OTHER)
    picker = bot.api.messages(OTHER)[-1]
    refused = await press(bot, picker, f"t:world@{CHANNEL}", user=OTHER)
    assert "You don't manage that channel" in refused
    assert bot.store.get_subscriber(CHANNEL).topics == ()  # type: ignore[union-attr]  # linked above

    bot.api.set_admins(CHANNEL, [], owner=OTHER)
    bot.clock.advance(minutes=6)
    answer = await say(bot, "/time 09:00")
    assert "no longer an administrator of" in answer
    assert bot.store.get_subscriber(CHANNEL).times == ("08:00",)  # type: ignore[union-attr]  # linked above
    assert bot.store.get_channel(CHANNEL).managers == ()  # type: ignore[union-attr]  # linked above
    assert bot.store.selected_chat(USER) is None
    assert "You manage no channels" in await say(bot, "/channel")


async def test_stop_with_the_channel_selected_deletes_the_channels_data(
    bot: RunningBot,
) -> None:
    """/stop, confirmed, deletes the channel's subscription, ledger and record; the
    user's own chat keeps its subscription and their commands act on it again."""
    await say(bot, "/start")
    await link(bot)
    await say(bot, "/digest")
    assert "This stops the channel's digests" in await say(bot, "/stop")
    confirm = bot.api.messages(USER)[-1]
    assert confirm.callback_data == [f"stop:yes@{CHANNEL}", f"stop:no@{CHANNEL}"]
    await press(bot, confirm, f"stop:yes@{CHANNEL}")
    await bot.api.wait_for(lambda: bot.api.message(USER, confirm.message_id).edited)
    assert "the channel's data is deleted" in bot.api.message(USER, confirm.message_id).plain_text
    assert bot.store.get_subscriber(CHANNEL) is None
    assert bot.store.get_channel(CHANNEL) is None
    assert bot.store.delivered_ids(CHANNEL) == set()
    assert bot.store.get_subscriber(USER) is not None
    assert not (await say(bot, "/settings")).startswith("📢")


async def test_channel_answers_in_the_users_language_and_its_digest_in_theirs_too(
    bot: RunningBot,
) -> None:
    """A German user links a channel: the answers are German and the channel's digests
    are in German (the language of whoever linked it) until /language says otherwise."""
    bot.api.add_user(USER, "Ada", "ada", language_code="de")
    linked = await link(bot)
    assert f"{TITLE}" in linked
    assert "Linked" not in linked
    assert bot.store.get_subscriber(CHANNEL).digest_language == "de"  # type: ignore[union-attr]  # linked above
    assert (await say(bot, "/time 09:00")).startswith(f"📢 Kanal {TITLE}:")


async def test_a_channel_takes_the_language_its_linker_chose_and_says_so(
    bot: RunningBot,
) -> None:
    """Found by a stranger: a user who had chosen their language with /language linked a
    channel, whose digests then came in their Telegram app's language instead, and whose
    /settings said "(your Telegram app's)"; /language for the channel answered "From now
    on I will write in ...", though the bot went on writing to the user as before."""
    bot.api.add_user(USER, "Ada", "ada", language_code="de")
    await say(bot, "/start")
    await say(bot, "/language en")
    await link(bot)
    assert bot.store.get_subscriber(CHANNEL).digest_language == "en"  # type: ignore[union-attr]  # linked above
    settings = await say(bot, "/settings")
    assert "Language: English (that of whoever linked the channel)" in settings
    assert "your Telegram app" not in settings
    chosen = await say(bot, "/language pt")
    assert chosen == f"📢 Channel {TITLE}:\nThe channel's digests will be in Português."
    followed = await say(bot, "/language auto")
    assert followed == (
        f"📢 Channel {TITLE}:\nThe channel's digests will be in English, the language of "
        "whoever linked it."
    )
    assert "that of whoever linked it" in await say(bot, "/language")
    assert bot.store.get_subscriber(USER).language == "en"  # type: ignore[union-attr]  # the user's own


async def test_channels_are_managed_only_in_the_private_chat(bot: RunningBot) -> None:
    """/channel in a group says where channels are managed."""
    group = -100_888
    bot.api.add_chat(group, "supergroup", title="Readers")
    bot.api.user_sends(group, USER, "/channel")
    [answer] = await bot.api.wait_for_messages(group, 1)
    assert "private chat" in answer.plain_text


FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    b"<title>Harbour Gazette</title><link>https://gazette.example/</link>"
    b"<item><title>Night ferry to the islands returns</title>"
    b"<link>https://gazette.example/night-ferry</link><description>The night ferry to the "
    b"islands returns in spring after a winter break. The operator adds a second boat on "
    b"weekends. Tickets go on sale next week at the harbour office.</description>"
    b"<pubDate>Wed, 25 Nov 2026 05:30:00 GMT</pubDate></item></channel></rss>"
)


async def test_a_channel_has_feeds_of_its_own(bot: RunningBot, server: FeedServer) -> None:
    """/addfeed, /feeds, /removefeed and /export with the channel selected act on the
    channel's feeds: its digest, posted in the channel, holds their entries, and the
    user's own chat has none."""
    server.route("/gazette.xml", Reply(body=FEED, headers={"Content-Type": "application/rss+xml"}))
    await say(bot, "/start")
    await link(bot)
    added = await say(bot, f"/addfeed {server.url('/gazette.xml')}")
    assert added.startswith(f"📢 Channel {TITLE}:")
    assert "Added: Harbour Gazette, 1 entry" in added
    assert bot.store.get_subscriber(CHANNEL).feeds  # type: ignore[union-attr]  # linked above
    assert not bot.store.get_subscriber(USER).feeds  # type: ignore[union-attr]  # /start above
    listing = await say(bot, "/feeds")
    assert listing.startswith(f"📢 Channel {TITLE}:")
    assert "Harbour Gazette" in listing
    assert "The digest is posted in the channel" in await say(bot, "/digest")
    posted = "\n".join(m.plain_text for m in bot.api.messages(CHANNEL))
    assert "Night ferry to the islands returns" in posted
    bot.api.user_sends(USER, USER, "/export")
    exported = (await bot.api.wait_for_messages(USER, len(bot.api.messages(USER)) + 1))[-1]
    assert exported.document is not None
    assert exported.plain_text.startswith(f"📢 Channel {TITLE}:")
    assert b"Harbour Gazette" in bot.api.file(exported.document["file_id"]).content
    await say(bot, "/removefeed")
    keyboard = bot.api.messages(USER)[-1]
    [[button]] = keyboard.buttons
    assert button["callback_data"].endswith(f"@{CHANNEL}")
    await press(bot, keyboard, button["callback_data"])
    await bot.api.wait_for(lambda: bot.api.message(USER, keyboard.message_id).edited)
    assert "Removed: Harbour Gazette." in bot.api.message(USER, keyboard.message_id).plain_text
    assert not bot.store.get_subscriber(CHANNEL).feeds  # type: ignore[union-attr]  # linked above


async def test_linking_is_rate_limited_per_user(bot: RunningBot) -> None:
    """Each /channel @name asks Telegram three questions: six a minute per user, then
    the user is asked to wait, and Telegram is not asked."""
    for _ in range(6):
        assert "I am not an administrator of" in await say(bot, f"/channel @{NAME}")
    asked = len(bot.api.calls_to("getChat"))
    assert "you can use /channel again in" in await say(bot, f"/channel @{NAME}")
    assert len(bot.api.calls_to("getChat")) == asked
