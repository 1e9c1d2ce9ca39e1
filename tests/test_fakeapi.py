"""The fake Telegram Bot API, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginUser,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from fakebotapi import (
    EntityParseError,
    FakeBotAPI,
    SentMessage,
    SimulatorError,
    WaitTimeout,
    parse_telegram_html,
)

TOKEN = "123456:TEST-fake-token"
USER = 42


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        fake.add_user(USER, "Ada", "ada")
        fake.add_chat(USER)
        yield fake


def make_bot(api: FakeBotAPI, **kwargs: object) -> Bot:
    return Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url, **kwargs)  # type: ignore[arg-type]  # the test's keyword arguments for Bot


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(api) as ptb_bot:
        yield ptb_bot


async def next_updates(bot: Bot, after: int = 0) -> tuple[Update, ...]:
    """Long-poll once; the fake answers as soon as an update exists."""
    return await bot.get_updates(offset=after, timeout=5)


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("More", callback_data="more:1"),
            InlineKeyboardButton("Site", url="https://news.example/"),
        ]
    ]
)


# --------------------------------------------------------------------------- basics


async def test_get_me_names_the_bot_and_the_token_is_recorded(api: FakeBotAPI, bot: Bot) -> None:
    """PTB's initialize (getMe) learns the bot's username; every call carries the token."""
    assert bot.username == api.bot_username
    assert bot.id == 123456
    assert api.tokens == [TOKEN]
    assert [call.method for call in api.calls] == ["getMe"]
    assert all(call.token == TOKEN for call in api.calls)


async def test_expected_token_rejects_other_tokens() -> None:
    """With expected_token set, a bot with another token is refused as Telegram does (401)."""
    async with FakeBotAPI(expected_token="1:right") as api:
        with pytest.raises(InvalidToken):
            async with make_bot(api):
                pass
        assert api.calls[0].status == 401
        assert api.tokens == [TOKEN]


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    """A method the fake does not know answers 404, which PTB reports as EndPointNotFound."""
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicateChat", api_kwargs={"chat_id": USER})


async def test_plain_message_is_recorded_with_its_options(api: FakeBotAPI, bot: Bot) -> None:
    """A sent message comes back as a Message and is recorded with text and options."""
    sent = await bot.send_message(
        USER,
        "Good morning",
        disable_notification=True,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=KEYBOARD,
    )
    assert sent.text == "Good morning"
    assert sent.chat.id == USER
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.reply_markup == KEYBOARD
    [recorded] = api.messages(USER)
    assert recorded.message_id == sent.message_id
    assert recorded.text == recorded.plain_text == "Good morning"
    assert recorded.parse_mode is None
    assert recorded.disable_notification
    assert recorded.link_preview_options == {"is_disabled": True}
    assert recorded.callback_data == ["more:1"]
    call = api.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"] == KEYBOARD.to_dict()


async def test_html_message_becomes_entities(api: FakeBotAPI, bot: Bot) -> None:
    """HTML is parsed like Telegram: the user sees plain text with entities in UTF-16 units."""
    html = (
        '<b>📰 Digest</b> · <a href="https://news.example/a?x=1&amp;y=2">Rates &amp; you</a>\n'
        "<i>It&#x27;s &lt;fine&gt;</i> <tg-spoiler>s</tg-spoiler>"
    )
    sent = await bot.send_message(USER, html, parse_mode="HTML")
    assert sent.text == "📰 Digest · Rates & you\nIt's <fine> s"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        (MessageEntity.BOLD, 0, 9),
        (MessageEntity.TEXT_LINK, 12, 11),
        (MessageEntity.ITALIC, 24, 11),
        (MessageEntity.SPOILER, 36, 1),
    ]
    assert sent.entities[1].url == "https://news.example/a?x=1&y=2"
    recorded = api.messages(USER)[0]
    assert recorded.text == html
    assert recorded.parse_mode == "HTML"


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "unexpected end tag"),
        ("<div>x</div>", 'unsupported start tag "div"'),
        ("<script>alert(1)</script>", 'unsupported start tag "script"'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("Q&A session", 'unsupported html entity "&"'),
        ("a&nbsp;b", 'unsupported html entity "&nbsp;"'),
        ("&#0;", 'unsupported html entity "&#0;"'),
        ("1 < 2", 'unsupported start tag ""'),
        ("2 > 1", 'unescaped ">"'),
        ('<a href="https://x.example"', "unclosed start tag"),
    ],
)
async def test_invalid_html_is_refused(bot: Bot, html: str, problem: str) -> None:
    """Text Telegram cannot parse is a BadRequest naming the problem; nothing is sent."""
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as caught:
        await bot.send_message(USER, html, parse_mode="HTML")
    assert problem in str(caught.value).lower()


@pytest.mark.parametrize(
    "html",
    [
        "<b>bold <i>and italic</i></b>",
        "<strong>s</strong><em>e</em><ins>i</ins><strike>s</strike><del>d</del><u>u</u><s>s</s>",
        '<pre><code class="language-python">print("x")</code></pre>',
        '<span class="tg-spoiler">hidden</span>',
        "<blockquote expandable>long quote</blockquote>",
        "<code>a &lt; b &amp;&amp; c &gt; d</code> &quot;q&quot; &#39;&#x1F4F0;",
        "<B>Upper-case tags</B>",
    ],
)
async def test_valid_html_is_accepted(bot: Bot, html: str) -> None:
    """Every tag and entity Telegram supports passes."""
    await bot.send_message(USER, html, parse_mode="HTML")


def test_pre_with_language_and_expandable_quote_entities() -> None:
    """A code block's language and an expandable quote come out as Telegram's entities."""
    parsed = parse_telegram_html(
        '<pre><code class="language-python">x = 1</code></pre><blockquote expandable>q</blockquote>'
    )
    assert parsed.text == "x = 1q"
    assert list(parsed.entities) == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 5, "length": 1},
    ]
    with pytest.raises(EntityParseError, match="byte offset 3"):
        parse_telegram_html("é <x>")


@pytest.mark.parametrize(
    ("text", "parse_mode", "accepted"),
    [
        ("a" * 4096, None, True),
        ("a" * 4097, None, False),
        ("<b>" + "a" * 4096 + "</b>", "HTML", True),
        ("&amp;" * 4096, "HTML", True),
        ("&amp;" * 4097, "HTML", False),
        ("📰" * 2048, None, True),
        ("📰" * 2049, None, False),
        ("  " + "a" * 4096 + "\n\n", None, True),
    ],
    ids=[
        "4096",
        "4097",
        "tags-not-counted",
        "entity-counts-once",
        "entities-4097",
        "emoji-2048",
        "emoji-2049-is-4098-utf16",
        "surrounding-space-trimmed",
    ],
)
async def test_length_limit_counts_visible_utf16_units(
    bot: Bot, text: str, parse_mode: str | None, accepted: bool
) -> None:
    """The 4096 limit applies to the parsed text in UTF-16 code units, as Telegram counts."""
    if accepted:
        await bot.send_message(USER, text, parse_mode=parse_mode)
    else:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, text, parse_mode=parse_mode)


@pytest.mark.parametrize("text", ["", "   \n", "<b> </b>"])
async def test_empty_text_is_refused(bot: Bot, text: str) -> None:
    """Nothing visible to send is Telegram's 'message text is empty'."""
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, text, parse_mode="HTML")


async def test_unknown_chats_and_strangers(api: FakeBotAPI, bot: Bot) -> None:
    """An unknown chat is 'chat not found'; a user who never wrote to the bot is Forbidden."""
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-100123, "hello")
    api.add_user(77, "Stranger")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(77, "hello")
    api.user_sends(77, 77, "/start")
    await bot.send_message(77, "hello")


async def test_inline_keyboard_is_validated(bot: Bot) -> None:
    """callback_data longer than 64 bytes is refused like Telegram does."""
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "pick", reply_markup=too_long)


async def test_replying_to_a_message(api: FakeBotAPI, bot: Bot) -> None:
    """reply_parameters point at a message of the chat; a missing one is refused."""
    asked = api.user_sends(USER, USER, "What's new?")
    sent = await bot.send_message(
        USER, "Here it is", reply_parameters=ReplyParameters(asked["message_id"])
    )
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "What's new?"
    assert api.messages(USER)[0].reply_to_message_id == asked["message_id"]
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(999))
    await bot.send_message(
        USER, "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )


# --------------------------------------------------------------------------- faults


async def test_flood_fault_is_retry_after(
    api: FakeBotAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An injected flood answers 429 once; PTB raises RetryAfter with the given delay."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.inject("flood", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "one")
    assert caught.value.retry_after == timedelta(seconds=7)
    await bot.send_message(USER, "two")
    assert [m.text for m in api.messages(USER)] == ["two"]
    assert api.faults_served["flood"] == 1
    assert api.calls_to("sendMessage")[0].fault == "flood"


@pytest.mark.parametrize(
    ("kind", "options", "error", "text"),
    [
        ("forbidden", {}, Forbidden, "bot was blocked by the user"),
        ("parse", {}, BadRequest, "can't parse entities"),
        ("server_error", {}, NetworkError, "Internal Server Error"),
        ("server_error", {"status": 502}, NetworkError, "Bad Gateway"),
    ],
)
async def test_faults_map_to_ptb_exceptions(
    api: FakeBotAPI,
    bot: Bot,
    kind: str,
    options: dict[str, int],
    error: type[Exception],
    text: str,
) -> None:
    """Each injected fault surfaces as the exception PTB raises for Telegram's real answer."""
    fault = api.inject(kind, **options)  # type: ignore[arg-type]  # the test's fault options
    with pytest.raises(error, match=f"(?i){text}"):
        await bot.send_message(USER, "<b>valid</b>", parse_mode="HTML")
    assert fault.served == 1
    assert api.faults_served[kind] == 1
    assert api.messages(USER) == []


async def test_migrate_fault_moves_the_chat_for_good(api: FakeBotAPI, bot: Bot) -> None:
    """A migrated group answers ChatMigrated with the new id, which then works; the old id
    keeps answering ChatMigrated (Telegram does not un-migrate)."""
    api.add_chat(-555, "group", title="Newsroom")
    api.inject("migrate", chat_id=-555, migrate_to=-1000000000555)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-555, "digest")
    assert caught.value.new_chat_id == -1000000000555
    assert api.chat(-1000000000555).type == "supergroup"
    await bot.send_message(-1000000000555, "digest")
    with pytest.raises(ChatMigrated):
        await bot.send_message(-555, "digest")
    assert api.faults_served["migrate"] == 1


async def test_faults_match_method_chat_and_times(api: FakeBotAPI, bot: Bot) -> None:
    """A fault hits only its method and chat, as many times as asked."""
    api.add_chat(7)
    api.inject("forbidden", chat_id=7, times=2)
    api.inject("server_error", method="sendChatAction")
    await bot.send_message(USER, "fine")
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(7, "blocked")
    await bot.send_message(7, "fine again")
    with pytest.raises(NetworkError):
        await bot.send_chat_action(USER, "typing")
    await bot.send_chat_action(USER, "typing")
    assert api.faults_served == {"forbidden": 2, "server_error": 1}


async def test_timeout_fault_holds_the_answer_without_blocking(api: FakeBotAPI) -> None:
    """A held answer makes the client time out, while other requests are served meanwhile;
    with performed=True the message was delivered although the bot saw TimedOut."""
    api.inject("timeout", chat_id=USER, performed=True, delay=30)
    async with make_bot(api, request=HTTPXRequest(read_timeout=0.5)) as slow_bot:
        held = asyncio.create_task(slow_bot.send_message(USER, "maybe delivered"))
        await api.wait_for(lambda: bool(api.messages(USER)), what="held message recorded")
        api.add_chat(7)
        await slow_bot.send_message(7, "served while the other is held")
        with pytest.raises(TimedOut):
            await held
    assert [m.text for m in api.messages(USER)] == ["maybe delivered"]
    held_call = api.calls_to("sendMessage")[0]
    await api.wait_for(lambda: held_call.status is not None, what="hang-up noticed")
    assert held_call.fault == "timeout"
    assert api.faults_served["timeout"] == 1


async def test_timeout_fault_not_performed_when_the_client_gives_up(api: FakeBotAPI) -> None:
    """With performed=False, a request the client abandoned never takes effect."""
    api.inject("timeout", delay=30)
    async with make_bot(api, request=HTTPXRequest(read_timeout=0.5)) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(USER, "lost")
        await slow_bot.send_message(USER, "retried")
    call = api.calls_to("sendMessage")[0]
    await api.wait_for(lambda: call.status is not None, what="hang-up noticed")
    assert [m.text for m in api.messages(USER)] == ["retried"]


async def test_flood_model_is_off_by_default(api: FakeBotAPI, bot: Bot) -> None:
    """Without flood_limit, a burst of sends is never throttled."""
    await asyncio.gather(*(bot.send_message(USER, f"n{i}") for i in range(40)))
    assert len(api.messages(USER)) == 40
    assert api.faults_served["rate_limit"] == 0


async def test_flood_model_throttles_a_chat_burst(
    api: FakeBotAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the per-chat budget the model answers 429 with a retry_after; others still pass."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.flood_limit(per_chat_per_second=0.01, chat_burst=2, slack=0)
    api.add_chat(7)
    await bot.send_message(USER, "1")
    await bot.send_message(USER, "2")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "3")
    assert caught.value.retry_after >= timedelta(seconds=1)  # type: ignore[operator]  # PTB types it int | timedelta; PTB_TIMEDELTA makes it a timedelta
    await bot.send_message(7, "other chat")
    assert api.faults_served["rate_limit"] == 1
    api.clear_flood_limit()
    await bot.send_message(USER, "3")


async def test_flood_model_limits_groups_per_minute(
    api: FakeBotAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group gets 20 messages a minute, then 429."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.flood_limit(slack=0)
    api.add_chat(-100200, "supergroup", title="Readers")
    for i in range(20):
        await bot.send_message(-100200, f"m{i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(-100200, "m20")


# --------------------------------------------------------------------------- updates


async def test_long_poll_returns_a_users_command(api: FakeBotAPI, bot: Bot) -> None:
    """A pending getUpdates wakes when a user writes; PTB sees a bot_command entity."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: bool(api.calls_to("getUpdates")), what="poll started")
    sent = api.user_sends(USER, USER, "/digest now")
    async with asyncio.timeout(10):  # a hang guard: the poll must not run its 30 s out
        [update] = await poll
    message = update.message
    assert message is not None
    assert message.message_id == sent["message_id"]
    assert message.text == "/digest now"
    assert message.from_user is not None
    assert message.from_user.first_name == "Ada"
    assert message.chat.type == "private"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        (MessageEntity.BOT_COMMAND, 0, 7)
    ]


async def test_offset_confirms_and_limit_caps(api: FakeBotAPI, bot: Bot) -> None:
    """getUpdates returns the oldest first, at most limit; an offset confirms earlier ones."""
    for text in ("one", "two", "three"):
        api.user_sends(USER, USER, text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert api.pending_updates == 1
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    assert api.pending_updates == 0


async def test_allowed_updates_filters_kinds(api: FakeBotAPI, bot: Bot) -> None:
    """Update kinds outside allowed_updates are not delivered."""
    sent = await bot.send_message(USER, "pick", reply_markup=KEYBOARD)
    api.user_sends(USER, USER, "text")
    api.user_presses(USER, USER, sent.message_id, "more:1")
    [update] = await bot.get_updates(allowed_updates=["callback_query"])
    assert update.callback_query is not None


async def test_group_command_addressed_to_the_bot(api: FakeBotAPI, bot: Bot) -> None:
    """'/cmd@botname' in a group is one bot_command entity covering the bot's name."""
    api.add_chat(-100300, "supergroup", title="Readers")
    api.user_sends(-100300, USER, f"/topics@{api.bot_username} add science")
    [update] = await next_updates(bot)
    assert update.message is not None
    assert update.message.chat.title == "Readers"
    assert update.message.parse_entities([MessageEntity.BOT_COMMAND]).popitem()[1] == (
        f"/topics@{api.bot_username}"
    )


async def test_callback_query_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    """A pressed button arrives as a callback_query; the bot's answer is recorded once."""
    sent = await bot.send_message(USER, "pick", reply_markup=KEYBOARD)
    query = api.user_presses(USER, USER, sent.message_id, "more:1")
    [update] = await next_updates(bot)
    callback = update.callback_query
    assert callback is not None
    assert callback.data == "more:1"
    assert callback.id == query["id"]
    assert callback.message is not None
    assert callback.message.message_id == sent.message_id
    assert callback.from_user.id == USER
    await callback.answer("Loading…")
    assert [(a.query_id, a.text) for a in api.callback_answers] == [(query["id"], "Loading…")]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await callback.answer()
    with pytest.raises(SimulatorError, match="no button"):
        api.user_presses(USER, USER, sent.message_id, "less:1")


async def test_forum_topic_thread_id(api: FakeBotAPI, bot: Bot) -> None:
    """Messages in a forum topic carry message_thread_id, and the bot's answer is recorded in
    the same topic."""
    api.add_chat(-100400, "supergroup", title="Forum", is_forum=True)
    api.user_sends(-100400, USER, "/digest", thread_id=5)
    [update] = await next_updates(bot)
    message = update.message
    assert message is not None
    assert message.message_thread_id == 5
    assert message.is_topic_message
    assert message.chat.is_forum
    await message.reply_text("in the topic", do_quote=False)
    assert api.messages(-100400)[0].message_thread_id == 5


async def test_forwards_and_replies(api: FakeBotAPI, bot: Bot) -> None:
    """Forwarded messages carry forward_origin; a reply carries the message replied to."""
    api.add_chat(-100500, "channel", title="Wire")
    sent = await bot.send_message(USER, "Your digest")
    api.user_sends(USER, USER, "fwd from channel", forward_from_chat=-100500)
    api.user_sends(USER, USER, "fwd from user", forward_from_user=99)
    api.user_sends(USER, USER, "more like this", reply_to=sent.message_id)
    channel, person, reply = await next_updates(bot)
    assert channel.message is not None
    assert person.message is not None
    assert isinstance(channel.message.forward_origin, MessageOriginChannel)
    assert channel.message.forward_origin.chat.id == -100500
    assert isinstance(person.message.forward_origin, MessageOriginUser)
    assert person.message.forward_origin.sender_user.id == 99
    assert reply.message is not None
    assert reply.message.reply_to_message is not None
    assert reply.message.reply_to_message.message_id == sent.message_id
    assert reply.message.reply_to_message.from_user is not None
    assert reply.message.reply_to_message.from_user.is_bot


async def test_bot_removed_then_sends_are_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    """Blocking the bot is a my_chat_member update, and sending there is then Forbidden."""
    api.bot_removed(USER)
    [update] = await next_updates(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    assert update.my_chat_member.old_chat_member.status == "member"
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "still there?")
    with pytest.raises(SimulatorError):
        api.user_sends(USER, USER, "hi")
    api.bot_added(USER)
    await bot.send_message(USER, "welcome back")


async def test_channels_posts_and_the_bots_admin_rights(api: FakeBotAPI, bot: Bot) -> None:
    """A channel: the bot cannot post until an administrator promotes it (a my_chat_member
    update), posts are channel_post updates signed by the channel, @name finds it, and a
    demoted bot is refused as Telegram refuses it."""
    api.add_chat(-100700, "channel", title="Harbour News", username="harbournews")
    api.set_admins(-100700, [], owner=USER)
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await bot.send_message(-100700, "hello")
    assert (await bot.get_chat_member("@harbournews", bot.id)).status == "left"
    api.bot_promoted(-100700, by=USER)
    api.channel_posts(-100700, "Ferry times change on Monday")
    promoted, post = await next_updates(bot)
    assert promoted.my_chat_member is not None
    assert promoted.my_chat_member.chat.type == "channel"
    assert promoted.my_chat_member.from_user.id == USER
    assert isinstance(promoted.my_chat_member.new_chat_member, ChatMemberAdministrator)
    assert promoted.my_chat_member.new_chat_member.can_post_messages
    assert post.channel_post is not None
    assert post.channel_post.text == "Ferry times change on Monday"
    assert post.channel_post.sender_chat is not None
    assert post.channel_post.sender_chat.id == -100700
    assert post.channel_post.from_user is None
    api.user_sends(USER, USER, "Ferry times change on Monday", forward_from_chat=-100700)
    [forwarded] = await next_updates(bot, post.update_id + 1)
    assert forwarded.message is not None
    assert isinstance(forwarded.message.forward_origin, MessageOriginChannel)
    assert forwarded.message.forward_origin.message_id == post.channel_post.message_id
    chat = await bot.get_chat("@HarbourNews")
    assert (chat.id, chat.type, chat.title) == (-100700, "channel", "Harbour News")
    assert isinstance(await bot.get_chat_member(-100700, USER), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(-100700, bot.id), ChatMemberAdministrator)
    await bot.send_message(-100700, "Today's digest")
    assert [m.plain_text for m in api.messages(-100700)] == ["Today's digest"]
    with pytest.raises(SimulatorError, match="channel_posts"):
        api.user_sends(-100700, USER, "users do not write here")
    api.bot_demoted(-100700, by=USER)
    [demoted] = await next_updates(bot, forwarded.update_id + 1)
    assert demoted.my_chat_member is not None
    assert demoted.my_chat_member.old_chat_member.status == "administrator"
    assert demoted.my_chat_member.new_chat_member.status == "member"
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(-100700, "still there?")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat("@nosuchchannel")


async def test_concurrent_polls_conflict(api: FakeBotAPI, bot: Bot) -> None:
    """A second getUpdates ends the pending one with 409 Conflict, as two bot instances do."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: bool(api.calls_to("getUpdates")), what="poll started")
    async with make_bot(api) as second:
        await second.get_updates(timeout=0)
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await poll


async def test_webhook_blocks_polling(api: FakeBotAPI, bot: Bot) -> None:
    """While a webhook is set getUpdates is a Conflict; deleteWebhook allows polling again."""
    await bot.set_webhook("https://bot.example/hook")
    assert (await bot.get_webhook_info()).url == "https://bot.example/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_stop_ends_a_pending_long_poll(api: FakeBotAPI, bot: Bot) -> None:
    """Stopping the server releases a client waiting in a long poll at once."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: bool(api.calls_to("getUpdates")), what="poll started")
    async with asyncio.timeout(10):  # a hang guard, not a measurement
        await api.stop()
        with pytest.raises(NetworkError):
            await poll


# --------------------------------------------------------------------------- other methods


async def test_commands_are_recorded_per_scope(api: FakeBotAPI, bot: Bot) -> None:
    """setMyCommands is recorded per scope; getMyCommands reads it back; bad names fail."""
    await bot.set_my_commands([("digest", "Send the digest now"), ("topics", "Your topics")])
    await bot.set_my_commands(
        [("digest", "Digest for the group")], scope=BotCommandScopeAllGroupChats()
    )
    assert [c["command"] for c in api.commands()] == ["digest", "topics"]
    assert api.commands({"type": "all_group_chats"}) == [
        {"command": "digest", "description": "Digest for the group"}
    ]
    assert await bot.get_my_commands() == (
        BotCommand("digest", "Send the digest now"),
        BotCommand("topics", "Your topics"),
    )
    await bot.delete_my_commands()
    assert api.commands() == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])


async def test_edits_keep_history(api: FakeBotAPI, bot: Bot) -> None:
    """Edits change the message and keep its earlier versions; a no-op edit is refused."""
    events: list[tuple[str, int]] = []

    def listener(event: str, message: SentMessage) -> None:
        events.append((event, message.message_id))

    api.add_listener(listener)
    sent = await bot.send_message(USER, "<b>Loading</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "<b>Done</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert isinstance(edited, Message)
    assert edited.text == "Done"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Done</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        )
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=None)
    await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    message = api.message(USER, sent.message_id)
    assert [v.plain_text for v in message.history] == ["Loading", "Done"]
    assert message.text == "<b>Done</b>"
    assert message.reply_markup is None
    assert message.deleted
    assert api.messages(USER) == []
    assert events == [("sent", 1), ("edited", 1), ("edited", 1), ("deleted", 1)]


async def test_chats_and_members(api: FakeBotAPI, bot: Bot) -> None:
    """getChat, getChatMember and getChatAdministrators parse into PTB's types."""
    api.add_chat(-100600, "supergroup", title="Readers")
    api.add_user(2, "Grace")
    api.set_admins(-100600, [2], owner=USER)
    chat = await bot.get_chat(-100600)
    assert isinstance(chat, ChatFullInfo)
    assert chat.title == "Readers"
    owner, admin = await bot.get_chat_administrators(-100600)
    assert isinstance(owner, ChatMemberOwner)
    assert owner.user.id == USER
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.user.first_name == "Grace"
    api.add_user(3, "Linus")
    assert isinstance(await bot.get_chat_member(-100600, 3), ChatMemberMember)
    assert (await bot.get_chat_member(-100600, bot.id)).status == "member"
    with pytest.raises(BadRequest, match=r"(?i)no administrators in the private chat"):
        await bot.get_chat_administrators(USER)


async def test_chat_actions_are_recorded(api: FakeBotAPI, bot: Bot) -> None:
    """sendChatAction is recorded; an unknown action is refused."""
    await bot.send_chat_action(USER, "typing")
    assert [(a.chat_id, a.action) for a in api.chat_actions] == [(USER, "typing")]
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")


async def test_wait_for_names_what_did_not_happen(api: FakeBotAPI) -> None:
    """A wait that runs out says what it waited for."""
    with pytest.raises(WaitTimeout, match="2 bot message"):
        await api.wait_for_messages(USER, 2, timeout=0.05)


# --------------------------------------------------------------------------- HTTP


async def test_http_keep_alive_and_body_encodings(api: FakeBotAPI) -> None:
    """One connection serves many requests; form, JSON, multipart and chunked bodies work."""
    url = f"{api.base_url}{TOKEN}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}'

    async def chunked() -> AsyncIterator[bytes]:
        yield b"chat_id=42&text=chun"
        yield b"ked"

    async with httpx.AsyncClient() as client:
        replies = [
            await client.post(url, data={"chat_id": "42", "text": "form", "reply_markup": markup}),
            await client.post(
                url, json={"chat_id": 42, "text": "json", "disable_notification": True}
            ),
            await client.post(
                url,
                data={"chat_id": "42", "text": "multipart"},
                files={"document": ("a.txt", b"abc")},
            ),
            await client.post(
                url,
                content=chunked(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            await client.get(f"{api.base_url}{TOKEN}/getMe"),
            await client.post(url, data={"chat_id": "42", "text": "<b>x", "parse_mode": "HTML"}),
        ]
    assert [r.status_code for r in replies] == [200, 200, 200, 200, 200, 400]
    assert replies[-1].json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse entities: Can't find end tag corresponding "
        'to start tag "b"',
    }
    assert api.connections == 1
    form, as_json, multipart, _, _, _ = api.calls
    assert form.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]
    }
    assert as_json.params["disable_notification"] is True
    assert multipart.params["document"] == {
        "filename": "a.txt",
        "size": 3,
        "mime_type": "text/plain",
        "content": b"abc",
    }
    assert [m.text for m in api.messages(USER)] == ["form", "json", "multipart", "chunked"]


async def test_paths_outside_the_api_are_not_found(api: FakeBotAPI) -> None:
    """File downloads and stray paths answer Telegram's 404 JSON."""
    async with httpx.AsyncClient() as client:
        reply = await client.get(f"{api.base_file_url}{TOKEN}/photos/x.jpg")
    assert reply.status_code == 404
    assert reply.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# --------------------------------------------------------------------------- Application


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user by name."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}!")


async def test_application_answers_start_over_long_polling(api: FakeBotAPI) -> None:
    """The real Application polls the fake, answers /start, and confirms the update."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handlers([CommandHandler("start", cmd_start)])
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        api.user_sends(USER, USER, "/start")
        [reply] = await api.wait_for_messages(USER, 1)
        await app.updater.stop()
        await app.stop()
    assert reply.text == "Hello, Ada!"
    assert api.calls_to("deleteWebhook")  # PTB's polling bootstrap
    assert api.pending_updates == 0


# --------------------------------------------------------------------------- documents


async def test_a_file_a_user_sends_is_fetched_by_get_file_and_downloaded(
    api: FakeBotAPI, bot: Bot
) -> None:
    """user_sends_document puts a Document in the update; getFile names its path, and the
    download through base_file_url returns the very bytes."""
    content = b"<opml version='2.0'><body/></opml>"
    api.user_sends_document(USER, USER, "feeds.opml", content, mime_type="text/x-opml")
    [update] = await next_updates(bot)
    assert update.message is not None
    document = update.message.document
    assert document is not None
    assert (document.file_name, document.file_size, document.mime_type) == (
        "feeds.opml",
        len(content),
        "text/x-opml",
    )
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == content
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file")


async def test_send_document_uploads_a_file_the_test_can_read(api: FakeBotAPI, bot: Bot) -> None:
    """sendDocument with an upload records the message with its document and caption; the
    file can be read back and sent again by its file id."""
    from telegram import InputFile

    message = await bot.send_document(
        USER,
        InputFile(b"hello file", filename="notes.txt"),
        caption="<b>Notes</b>",
        parse_mode="HTML",
    )
    assert message.document is not None
    assert message.caption == "Notes"
    [sent] = api.messages(USER)
    assert sent.document is not None
    assert sent.document["file_name"] == "notes.txt"
    assert api.file(sent.document["file_id"]).content == b"hello file"
    again = await bot.send_document(USER, message.document.file_id)
    assert again.document is not None
    assert again.document.file_id == message.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(USER, "unknown-id")


async def test_a_download_with_another_token_is_refused() -> None:
    """With expected_token set, file downloads with another token answer 401."""
    async with FakeBotAPI(expected_token=TOKEN) as api:
        stored = api.user_sends_document(USER, USER, "a.xml", b"<a/>")
        async with make_bot(api) as bot:
            path = (await bot.get_file(stored["document"]["file_id"])).file_path
            assert path is not None
            async with httpx.AsyncClient() as client:
                good = await client.get(path)
                bad = await client.get(path.replace(TOKEN, "1:wrong"))
                missing = await client.get(path + "-nope")
    assert (good.status_code, good.content) == (200, b"<a/>")
    assert bad.status_code == 401
    assert missing.status_code == 404
