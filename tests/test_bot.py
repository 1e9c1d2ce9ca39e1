"""User journeys through the real Application and the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.models import StoredArticle
from bot.services.summaries import PASTE_MIN_CHARS
from bot.store import Store
from bot.telegram.context import RateLimits
from fakebotapi import FakeBotAPI
from tests.botharness import (
    T0,
    USER,
    Clock,
    RunningBot,
    bot_running,
    ingest_seeds,
    say,
)


@pytest.fixture
async def clock(settings: Settings, store: Store) -> Clock:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    return clock


@pytest.fixture
async def bot(
    api: FakeBotAPI, settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[RunningBot]:
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


async def test_start_pick_topics_and_read_digest(bot: RunningBot) -> None:
    """/start shows a topic picker; pressing buttons ticks topics; /digest sends them."""
    welcome = await say(bot, "/start")
    assert "Welcome to newsdigest" in welcome
    [picker] = bot.api.messages(USER)
    assert "t:world" in picker.callback_data
    bot.api.user_presses(USER, USER, picker.message_id, "t:sport")
    await bot.api.wait_for(lambda: bot.api.message(USER, picker.message_id).edited)
    labels = [b["text"] for row in bot.api.message(USER, picker.message_id).buttons for b in row]
    assert "✅ Sport" in labels
    assert bot.store.get_subscriber(USER).topics == ("sport",)  # type: ignore[union-attr]  # the test created this subscriber
    digest = await say(bot, "/digest")
    assert "Your news digest" in digest
    assert "Ferrante" in digest  # the football seed
    assert "Meridia" not in digest  # business is not a chosen topic
    assert any(a.action == "typing" for a in bot.api.chat_actions)


async def test_time_timezone_and_settings(bot: RunningBot) -> None:
    """Time formats are accepted, bad ones explained, zones validated with suggestions."""
    await say(bot, "/start")
    assert "daily at 07:30" in await say(bot, "/time 7.30")
    assert "not a time of day" in await say(bot, "/time 25:00")
    assert "24-hour time" in await say(bot, "/time noon")
    assert "Usage: /time" in await say(bot, "/time")
    assert "Usage: /time" in await say(bot, "/time , ,")
    # Commas apart times as they apart topics in /subscribe.
    for written in ("/time 7:00, 19:00", "/time 7:00,19:00", "/time 19:00 ,7:00"):
        assert "07:00" in await say(bot, written), written
        assert bot.store.get_subscriber(USER).times == ("07:00", "19:00")  # type: ignore[union-attr]  # the test created this subscriber
    assert "daily at 07:30" in await say(bot, "/time 7.30")
    assert "daily at 12:00" in await say(bot, "/time 12:00 12.00 12:00 12:00 12:00")
    assert "At most 4 digests a day" in await say(bot, "/time 1:00 2:00 3:00 4:00 5:00")
    assert "daily at 07:30" in await say(bot, "/time 7.30")
    reply = await say(bot, "/timezone Berlin")
    assert "not a time zone I know" in reply
    assert "Europe/Berlin" in reply
    assert "Time zone set to Europe/Berlin" in await say(bot, "/timezone europe/berlin")
    # Copied from a web page: a zero-width space and a byte-order mark come along unseen.
    assert "Time zone set to Europe/Berlin" in await say(bot, "/timezone \ufeffEurope/Berlin\u200b")
    settings = await say(bot, "/settings")
    for expected in (
        "Topics: all topics",
        "07:30 (Europe/Berlin)",
        "Status: active",
        "Next digest",
    ):
        assert expected in settings
    subscriber = bot.store.get_subscriber(USER)
    assert subscriber is not None
    assert subscriber.times == ("07:30",)
    assert subscriber.timezone == "Europe/Berlin"


async def test_subscribe_follow_exclude_commands(bot: RunningBot) -> None:
    """Topics and words by command; unknown topics and bad words get a clear answer."""
    await say(bot, "/start")
    assert "Added: Science, Health" in await say(bot, "/subscribe Science, health")
    assert "Unknown topic “sprot”" in await say(bot, "/subscribe sprot")
    assert "Removed: Health" in await say(bot, "/unsubscribe health")
    assert "Following “asteroid”" in await say(bot, "/follow Asteroid")
    assert "Usage: /exclude" in await say(bot, "/exclude two words")
    assert "plain words" in await say(bot, "/exclude <b>")
    assert "Excluding “ocean”" in await say(bot, "/exclude ocean")
    listing = await say(bot, "/keywords")
    assert "Following: asteroid" in listing
    assert "Excluding: ocean" in listing
    digest = await say(bot, "/digest")
    assert "Asteroid" in digest
    assert "Southern Ocean" not in digest


async def test_a_users_text_in_a_refusal_is_quoted_as_the_language_quotes(
    bot: RunningBot,
) -> None:
    """Found by a stranger: refusals showed the user's text as Python writes it, escapes
    included ('\\u202eevil\\u202c'); a topic typed five times was named five times."""
    await say(bot, "/start")
    refused = await say(bot, "/follow \u202eevil\u202c")
    assert refused.endswith("one at a time: “\ufffdevil\ufffd” is not.")
    assert "\\u" not in refused
    assert (await say(bot, "/time 25:00")).startswith("“25:00” is not a time of day")
    long_zone = "Mars/" + "x" * 60
    assert (await say(bot, f"/timezone {long_zone}")).startswith(f"“Mars/{'x' * 34}…” is not")
    assert (await say(bot, "/subscribe sprot sprot sprot sprot")).startswith(
        "Unknown topic “sprot”. Topics:"
    )
    await say(bot, "/language de")
    assert (await say(bot, "/subscribe sprot")).startswith("Unbekanntes Thema „sprot“.")
    # Found by a reviewer: three names in German, two in Spanish, raised KeyError in
    # Babel's list formatting, and the reader got "something went wrong".
    assert (await say(bot, "/subscribe aa bb cc")).startswith("Unbekannte Themen „aa“, „bb“, „cc“.")
    await say(bot, "/language es")
    assert (await say(bot, "/subscribe aa bb")).startswith("Temas desconocidos «aa», «bb».")
    assert "y 2 más" in await say(bot, "/subscribe aa bb cc dd ee")


async def test_excluding_a_followed_word_says_the_follow_ended(bot: RunningBot) -> None:
    """A word followed and then excluded is no longer followed: the answer says both, in
    the reader's language (it said only "Excluding", and /unfollow then answered "You
    were not following")."""
    await say(bot, "/start")
    await say(bot, "/follow climate")
    assert await say(bot, "/exclude climate") == (
        "Excluding “climate”: stories mentioning it are left out.\nNo longer following “climate”."
    )
    assert await say(bot, "/follow climate") == (
        "Following “climate”: stories mentioning it are always included.\n"
        "No longer excluding “climate”."
    )
    await say(bot, "/language de")
    answer = await say(bot, "/exclude climate")
    assert "climate" in answer
    assert len(answer.splitlines()) == 2
    assert "Excluding" not in answer
    assert "No longer" not in answer


async def test_a_word_most_articles_mention_is_kept_with_a_note(bot: RunningBot) -> None:
    """/follow and /exclude of a word most recent articles mention ("the": following it
    brings every story, excluding it leaves the digests nearly empty) keep it and say so,
    with the counts, in the reader's language; a rarer word gets no note, and neither does
    any word while too few articles are stored to tell."""
    await say(bot, "/start")
    assert "Note" not in await say(bot, "/exclude the")  # 18 sample articles: too few
    await say(bot, "/unexclude the")
    for n in range(4):
        bot.store.put_article(
            StoredArticle(
                id=f"extra{n}",
                url=f"https://news.example/extra/{n}",
                title=f"The story number {n}",
                source="Extra News",
                published=bot.clock.now - timedelta(hours=1),
                fetched=bot.clock.now - timedelta(hours=1),
                language="english",
                topics=("world",),
                summary=("The first sentence.",),
                words=("the", "story", "number"),
            )
        )
    mentioning, total = (await bot.services.digests.builder()).mentioning("the")
    assert total == 22
    assert mentioning > 11
    assert await say(bot, "/follow the") == (
        "Following “the”: stories mentioning it are always included.\n"
        f"Note: “the” is in {mentioning} of the 22 recent articles, so following it brings "
        "nearly every story."
    )
    answer = await say(bot, "/exclude THE")
    assert answer.splitlines()[0] == "Excluding “the”: stories mentioning it are left out."
    assert answer.splitlines()[-1] == (
        f"Note: “the” is in {mentioning} of the 22 recent articles, so excluding it leaves "
        "few stories."
    )
    assert bot.store.get_subscriber(USER).exclude == ("the",)  # type: ignore[union-attr]  # the test created this subscriber
    assert await say(bot, "/follow asteroid") == (
        "Following “asteroid”: stories mentioning it are always included."
    )
    assert "Note" not in await say(bot, "/exclude the")  # already excluded: nothing changed
    await say(bot, "/language de")
    answer = await say(bot, "/follow the")
    assert f"{mentioning}" in answer
    assert "22" in answer
    assert "Note" not in answer
    assert len(answer.splitlines()) == 3


async def test_scheduled_digest_arrives_once_even_across_restarts(
    api: FakeBotAPI, settings: Settings, store: Store, clock: Clock
) -> None:
    """At the subscriber's local time the digest arrives; no second copy for the same slot,
    not on another pass and not after a restart."""
    async with bot_running(api, settings, store, clock) as bot:
        await say(bot, "/start")
        await say(bot, "/timezone Asia/Tokyo")
        await say(bot, "/time 15:20")  # 06:20 UTC on T0's day
        before = len(api.messages(USER))
        clock.advance(minutes=14)  # 06:19 UTC: not yet
        await bot.dispatch()
        assert len(api.messages(USER)) == before
        clock.advance(minutes=1, seconds=5)  # 06:20:05 UTC
        await bot.dispatch()
        messages = await api.wait_for_messages(USER, before + 1)
        assert "Your news digest" in messages[before].plain_text
        count = len(api.messages(USER))
        await bot.dispatch()
        assert len(api.messages(USER)) == count
    async with bot_running(api, settings, store, clock) as bot:
        clock.advance(minutes=2)
        await bot.dispatch()
        assert len(api.messages(USER)) == count
    subscriber = store.get_subscriber(USER)
    assert subscriber is not None
    assert subscriber.last_slot is not None
    assert subscriber.last_slot.isoformat() == "2026-11-25T06:20:00+00:00"


async def test_missed_digest_is_caught_up_within_grace_only(
    api: FakeBotAPI, settings: Settings, store: Store, clock: Clock
) -> None:
    """A slot missed while the bot was down is sent at start if at most 2 h late."""
    async with bot_running(api, settings, store, clock) as bot:
        await say(bot, "/start")
        await say(bot, "/time 06:30")  # UTC
        await say(bot, "/time 06:30 12:00")
    before = len(api.messages(USER))
    clock.advance(hours=1, minutes=30)  # 07:35: the 06:30 slot was missed by 65 minutes
    async with bot_running(api, settings, store, clock) as bot:
        await bot.dispatch()
        messages = await api.wait_for_messages(USER, before + 1)
        assert "Your news digest" in messages[before].plain_text or "Nothing new" in (
            messages[before].plain_text
        )
    before = len(api.messages(USER))
    clock.advance(hours=7)  # 14:35: the 12:00 slot is 2 h 35 min late: skipped
    async with bot_running(api, settings, store, clock) as bot:
        await bot.dispatch()
        assert len(api.messages(USER)) == before


async def test_a_new_subscription_gets_no_digest_for_a_slot_before_it_existed(
    bot: RunningBot,
) -> None:
    """Found trying `newsdigest chat` an hour after the default time: /start at 09:00 with
    the default 08:00 slot sent a full digest at once (the catch-up for downtime) while
    /settings announced the next one for tomorrow. The first digest is tomorrow's."""
    bot.clock.now = T0.replace(hour=9)  # the default slot, 08:00 UTC, was an hour ago
    await say(bot, "/start")
    settings_reply = await say(bot, "/settings")
    assert "Next digest: Nov 26, 08:00" in settings_reply
    before = len(bot.api.messages(USER))
    await bot.dispatch()
    bot.clock.advance(hours=1)
    await bot.dispatch()
    assert len(bot.api.messages(USER)) == before
    bot.clock.now = T0.replace(hour=8) + timedelta(days=1, seconds=5)
    await bot.dispatch()
    [scheduled] = (await bot.api.wait_for_messages(USER, before + 1))[before:]
    # The seed articles are more than a day old by then: the day's note stands in.
    assert "Nothing new" in scheduled.plain_text


@pytest.mark.parametrize(
    "change",
    [
        ["/time 19:00"],  # at 20:30 UTC: today's 19:00 passed before it was chosen
        ["/time 7:00, 19:00"],
        ["/time 21:00", "/timezone Europe/Berlin"],  # 21:00 in Berlin is 20:00 UTC
        ["/time 19:00", "/pause", "/resume"],
    ],
)
async def test_a_changed_schedule_sends_no_digest_for_a_slot_before_the_change(
    bot: RunningBot, change: list[str]
) -> None:
    """Found trying `newsdigest chat` at 20:37: /time 19:00 answered "Next digest: Dec 1,
    19:00" and then sent a digest at once (the catch-up for slots missed while the bot
    was down, 2 hours by default). A slot that passed before the reader chose its time,
    zone or resumed was not missed: the next digest is the one announced."""
    bot.clock.now = T0.replace(hour=20, minute=30)
    await say(bot, "/start")
    await bot.dispatch()
    for command in change:
        await say(bot, command)
    announced = await say(bot, "/settings")
    before = len(bot.api.messages(USER))
    await bot.dispatch()
    bot.clock.advance(minutes=20)
    await bot.dispatch()
    assert len(bot.api.messages(USER)) == before, bot.api.messages(USER)[-1].plain_text
    assert "Next digest: Nov 26," in announced
    bot.clock.now = T0.replace(hour=20) + timedelta(days=1, seconds=5)  # after every slot
    await bot.dispatch()
    scheduled = (await bot.api.wait_for_messages(USER, before + 1))[before]
    assert "Nothing new" in scheduled.plain_text or "Your news digest" in (scheduled.plain_text)


async def test_summarize_pasted_text_reply_and_url(bot: RunningBot) -> None:
    """Pasted long text, /summarize as a reply, and a link served from loopback."""
    text = (
        "The city council approved a plan on Tuesday to rebuild the old harbour bridge. "
        "The bridge, built in 1931, has been closed to trucks since a crack was found last "
        "spring. Engineers said the new bridge will carry twice as much traffic. "
        "Construction starts in March and should take about two years. The mayor said the "
        "project will cost 48 million euros, mostly paid by the regional government. "
        "Shop owners near the harbour worried about noise and lost customers."
    )
    reply = await say(bot, text)
    assert reply.startswith("• ")
    assert "harbour bridge" in reply
    usage = await say(bot, "/summarize")
    assert "Usage: /summarize" in usage
    asked = bot.api.user_sends(USER, USER, text)
    await bot.api.wait_for_messages(USER, len(bot.api.messages(USER)) + 1)
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, "/summarize", reply_to=asked["message_id"])
    [*_, answer] = await bot.api.wait_for_messages(USER, before + 1)
    assert "harbour bridge" in answer.plain_text
    from tests.feedserver import FeedServer

    page = (
        "<html><head><title>Bridge vote</title></head><body><article><h1>Bridge vote</h1>"
        f"<p>{text}</p></article></body></html>"
    )
    with FeedServer() as server:
        url = server.serve("/bridge", page, headers={"Content-Type": "text/html"})
        reply = await say(bot, f"/summarize {url}")
        short = server.serve(
            "/short",
            "<html><head><title>Bridge shut</title></head><body><article><h1>Bridge shut</h1>"
            "<p>The harbour bridge is shut for a week. Ferries run every hour.</p>"
            "</article></body></html>",
            headers={"Content-Type": "text/html"},
        )
        whole_page = await say(bot, f"/summarize {short}")
    assert reply.startswith("Bridge vote")
    assert "harbour bridge" in reply
    assert "Ferries run every hour." in whole_page  # a page's text is news to the reader
    assert "could not fetch" in await say(bot, "/summarize http://127.0.0.1:9/nothing")


async def test_a_link_to_a_list_of_links_is_refused_saying_so(bot: RunningBot) -> None:
    """Found by a stranger: a folder listing served from loopback came back as one bullet
    of file names."""
    from tests.feedserver import FeedServer
    from tests.test_pages import folder_listing

    listing = folder_listing([f"report-{n}.txt" for n in range(30)])
    with FeedServer() as server:
        url = server.serve("/", listing, headers={"Content-Type": "text/html"})
        reply = await say(bot, f"/summarize {url}")
    assert reply == (
        "I could not summarize that: the page is a list of links (a site's front page or a "
        "folder), not an article. Send me the link of one story."
    )


async def test_the_link_in_a_short_message_is_summarized(bot: RunningBot) -> None:
    """Found in the terminal chat: a link in a short sentence, in brackets or before a
    full stop was taken for a text ("already short", or "send me a link") or fetched with
    the full stop (a 404); a link that is not a web link was a text too. A long text that
    cites a link is still a text to summarize."""
    from tests.feedserver import FeedServer

    body = (
        "The city council approved a plan on Tuesday to rebuild the old harbour bridge. "
        "Engineers found a crack in it last spring. Construction starts in March and should "
        "take about two years. The mayor said the project will cost 48 million euros."
    )
    page = (
        "<html><head><title>Bridge vote</title></head><body><article><h1>Bridge vote</h1>"
        f"<p>{body}</p></article></body></html>"
    )
    with FeedServer() as server:
        url = server.serve("/bridge", page, headers={"Content-Type": "text/html"})
        for message in (
            f"look: {url}",
            f"/summarize check this out {url}",
            f"/summarize ({url})",
            f"{url}.",
            f"Is this right? «{url}»",
        ):
            bot.services.rate_limits = RateLimits()  # each message is counted afresh
            assert (await say(bot, message)).startswith("Bridge vote"), message
        cited = f"{body} {body} Read more: {url}"
        assert len(cited) >= PASTE_MIN_CHARS
        bot.services.rate_limits = RateLimits()
        assert "Bridge vote" not in await say(bot, cited)
        assert server.hits("/bridge") == 5
    for other in ("/summarize ftp://example.com/x", "/summarize javascript:alert(1)"):
        bot.services.rate_limits = RateLimits()
        assert "that is not a web link I can open" in await say(bot, other), other


async def test_a_text_no_longer_than_a_summary_is_not_echoed(bot: RunningBot) -> None:
    """A pasted text with no more sentences than a summary takes is answered with one line
    saying so, not repeated back as its own summary."""
    two_long_sentences = (
        "The city council approved a plan on Tuesday to rebuild the old harbour bridge, "
        "which has been closed to trucks since engineers found a crack in it last spring, "
        "and the work should take about two years. The mayor said the project will cost "
        "48 million euros, mostly paid by the regional government, and that ferries will "
        "run every hour while the bridge is shut."
    )
    for text in (
        "/summarize The harbour bridge is shut for a week.",
        "/summarize The bridge is shut. Ferries run.",
        two_long_sentences,
    ):
        reply = await say(bot, text)
        assert "That text is already short" in reply, text
        assert "•" not in reply
    assert "paste a longer text" in await say(bot, "hello there")


async def test_a_text_without_full_stops_is_refused_saying_so(bot: RunningBot) -> None:
    """A long paste without sentence ends is refused with one sentence naming what it
    lacks (it read "I could not summarize that: nothing to summarize: no sentences with
    words were found", the reason twice over and wrong: the text has words)."""
    reply = await say(bot, "/summarize " + "the council approves the new budget " * 80)
    assert reply == (
        "I could not summarize that: it has no full stops to tell its sentences apart."
    )


async def test_a_message_the_bot_cannot_use_gets_one_line_not_silence(bot: RunningBot) -> None:
    """Found by a stranger: a photo sent as a file got no answer at all. In a group, the
    bot keeps quiet about what members share."""
    before = len(bot.api.messages(USER))
    bot.api.user_sends_document(USER, USER, "photo.jpg", b"\xff\xd8\xff", mime_type="image/jpeg")
    [answer] = (await bot.api.wait_for_messages(USER, before + 1))[before:]
    assert answer.plain_text.startswith("I can't use this kind of message. Send me text or a link")
    group = -100_777
    bot.api.add_chat(group, "supergroup", title="Readers")
    bot.api.user_sends_document(group, USER, "photo.jpg", b"\xff\xd8\xff", mime_type="image/jpeg")
    assert await say(bot, "/help", chat=group)  # answered in order: nothing came before it
    assert len(bot.api.messages(group)) == 1


async def test_settings_say_none_as_the_language_agrees_it(bot: RunningBot) -> None:
    """Found by a stranger: Spanish /settings read "Palabras seguidas: ninguno" (one
    "none" for every line, whatever the gender of what it counts)."""
    await say(bot, "/start")
    await say(bot, "/language es")
    settings = await say(bot, "/settings")
    assert "Palabras seguidas: ninguna" in settings
    assert "Palabras descartadas: ninguna" in settings


async def test_topics_are_labelled_in_the_readers_language(bot: RunningBot) -> None:
    """The topic buttons, their pop-ups, /subscribe's answer and /settings name the
    topics in the reader's language (they were English for every reader)."""
    await say(bot, "/start")
    await say(bot, "/language de")
    assert (await say(bot, "/subscribe sport")).startswith("Hinzugefügt: Sport.")
    await say(bot, "/subscribe world")
    assert "Themen: Welt, Sport" in await say(bot, "/settings")  # in the configuration's order
    await say(bot, "/language fr")
    await say(bot, "/topics")
    [picker] = [m for m in bot.api.messages(USER) if "t:science" in m.callback_data][-1:]
    labels = [b["text"] for row in picker.buttons for b in row]
    assert "▫️ Sciences" in labels
    assert "✅ Monde" in labels


async def test_group_settings_are_for_admins(bot: RunningBot) -> None:
    """In a group only administrators change settings; anyone may read /settings."""
    group, admin, member = -100200, 501, 502
    bot.api.add_chat(group, "supergroup", title="Readers")
    bot.api.set_admins(group, [admin])
    assert "Only this group's administrators" in await say(bot, "/start", chat=group, user=member)
    assert bot.store.get_subscriber(group) is None
    assert "Welcome" in await say(bot, "/start", chat=group, user=admin)
    refused = await say(bot, "/time 09:00", chat=group, user=member)
    assert "Only this group's administrators" in refused
    assert "daily at 09:00" in await say(bot, "/time 09:00", chat=group, user=admin)
    assert "09:00" in await say(bot, "/settings", chat=group, user=member)
    subscriber = bot.store.get_subscriber(group)
    assert subscriber is not None
    assert subscriber.chat_type == "supergroup"


async def test_forum_topic_gets_its_digest_in_its_thread(bot: RunningBot) -> None:
    """A forum group that subscribed from a topic thread gets its digest in that thread."""
    forum, admin = -100300, 601
    bot.api.add_chat(forum, "supergroup", title="Forum", is_forum=True)
    bot.api.set_admins(forum, [admin])
    bot.api.user_sends(forum, admin, "/start", thread_id=77)
    await bot.api.wait_for_messages(forum, 1)
    bot.api.user_sends(forum, admin, "/digest", thread_id=77)
    messages = await bot.api.wait_for_messages(forum, 2)
    assert all(m.message_thread_id == 77 for m in messages)


async def test_stop_deletes_everything_after_confirmation(bot: RunningBot) -> None:
    """/stop asks first; Cancel keeps the data, Yes deletes it."""
    await say(bot, "/start")
    await say(bot, "/stop")
    confirm = bot.api.messages(USER)[-1]
    bot.api.user_presses(USER, USER, confirm.message_id, "stop:no")
    await bot.api.wait_for(lambda: bot.api.message(USER, confirm.message_id).edited)
    assert bot.store.get_subscriber(USER) is not None
    await say(bot, "/stop")
    confirm = bot.api.messages(USER)[-1]
    bot.api.user_presses(USER, USER, confirm.message_id, "stop:yes")
    await bot.api.wait_for(lambda: bot.api.message(USER, confirm.message_id).edited)
    assert "deleted" in bot.api.message(USER, confirm.message_id).plain_text
    assert bot.store.get_subscriber(USER) is None
    assert bot.store.delivered_ids(USER) == set()


async def test_unknown_commands_and_pause_resume(bot: RunningBot) -> None:
    """Unknown commands get a pointer to /help; pause and resume change the status."""
    assert "I don't know /frobnicate" in await say(bot, "/frobnicate")
    me = bot.app.bot.username
    assert "I don't know /frobnicate" in await say(bot, f"/frobnicate@{me.upper()}")
    # Addressed to another bot (a group's members use several): not answered at all.
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, "/settings@SomeOtherBot")
    bot.api.user_sends(USER, USER, "/frobnicate@SomeOtherBot")
    assert "I don't know /frobnicate" in await say(bot, "/frobnicate")
    assert len(bot.api.messages(USER)) == before + 1
    await say(bot, "/start")
    assert "Paused" in await say(bot, "/pause")
    assert bot.store.get_subscriber(USER).status == "paused"  # type: ignore[union-attr]  # the test created this subscriber
    assert "Resumed" in await say(bot, "/resume")
    assert bot.store.get_subscriber(USER).status == "active"  # type: ignore[union-attr]  # the test created this subscriber
    assert "Send me a link" in await say(bot, "hello")


async def test_admin_commands(bot: RunningBot) -> None:
    """/stats and /sources answer admins and refuse everyone else."""
    from tests.botharness import ADMIN

    assert "for the bot's administrators" in await say(bot, "/stats")
    stats = await say(bot, "/stats", chat=ADMIN, user=ADMIN)
    assert "Subscribers:" in stats
    assert "Digests sent today" in stats
    assert "seeds folder" in await say(bot, "/sources", chat=ADMIN, user=ADMIN)


async def test_every_command_is_in_help_readme_and_registered(bot: RunningBot) -> None:
    """Each command is registered with Telegram, listed in /help and documented in the README."""
    from bot.paths import PROJECT_ROOT
    from bot.telegram.handlers.common import COMMANDS

    help_text = await say(bot, "/help")
    readme = (PROJECT_ROOT / "README.md").read_text()
    registered = {c["command"] for c in bot.api.commands()}
    for command, _, admin_only in COMMANDS:
        assert f"/{command}" in readme, command
        if not admin_only:
            assert f"/{command}" in help_text, command
            assert command in registered, command


async def test_an_empty_digest_leaves_the_stories_it_did_not_carry_new(bot: RunningBot) -> None:
    """Found in the terminal chat: a digest with nothing in it (every story excluded) still
    counted as the reader's last digest, so after /unexclude every story of the day was
    'old' and the next digest said 'Nothing new'."""
    await say(bot, "/start")
    await say(bot, "/subscribe sport")
    await say(bot, "/exclude the")
    assert "Nothing new" in await say(bot, "/digest")
    await say(bot, "/unexclude the")
    bot.clock.advance(minutes=1)
    digest = await say(bot, "/digest")
    assert "Ferrante" in digest  # the football story, never sent before
    await bot.api.wait_for(lambda: bot.store.get_subscriber(USER).last_digest is not None)  # type: ignore[union-attr]  # started above
    bot.clock.advance(minutes=1)
    assert "Nothing new" in await say(bot, "/digest")
