"""The bot in the user's language: journeys through the real Application and the fake
Bot API, with users whose Telegram apps speak German, Russian, French..."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.i18n import LANGUAGES
from bot.store import Store
from fakebotapi import FakeBotAPI, SentMessage
from tests.botharness import T0, Clock, RunningBot, bot_running, ingest_seeds

HANS, OLGA, ANNE = 5101, 5102, 5103


@pytest.fixture
async def bot(api: FakeBotAPI, settings: Settings, store: Store) -> AsyncIterator[RunningBot]:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    api.add_user(HANS, "Hans", language_code="de")
    api.add_user(OLGA, "Olga", language_code="ru")
    api.add_user(ANNE, "Anne", language_code="en-GB")
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


async def say(bot: RunningBot, chat: int, text: str) -> SentMessage:
    """Send a message as the chat's user; return the bot's next message."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, chat, text)
    return (await bot.api.wait_for_messages(chat, before + 1))[before]


async def press(bot: RunningBot, chat: int, message: SentMessage, data: str) -> None:
    """Press a button and wait until the bot answered it."""
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(chat, chat, message.message_id, data)
    await bot.api.wait_for(lambda: len(bot.api.callback_answers) > answered)


async def test_the_bot_answers_in_the_language_of_the_users_telegram_app(bot: RunningBot) -> None:
    """A German app gets German, a Russian one Russian, an English one English: replies,
    buttons, /help and the refusals of bad input."""
    welcome = await say(bot, HANS, "/start")
    assert "Willkommen bei newsdigest" in welcome.plain_text
    assert any(b["text"] == "Fertig" for row in welcome.buttons for b in row)
    assert "Was ich kann" in (await say(bot, HANS, "/help")).plain_text
    assert "keine Uhrzeit" in (await say(bot, HANS, "/time 25:00")).plain_text
    assert "Europe/Berlin" in (await say(bot, HANS, "/timezone Berlin")).plain_text
    assert "Добро пожаловать" in (await say(bot, OLGA, "/start")).plain_text
    assert "Неизвестная тема" in (await say(bot, OLGA, "/subscribe sprot")).plain_text
    assert "Welcome to newsdigest" in (await say(bot, ANNE, "/start")).plain_text
    # Without a subscription nothing is stored, and the answer is in the app's language.
    bot.api.add_user(5104, "Luca", language_code="it")
    assert "Questa chat non ha un abbonamento" in (await say(bot, 5104, "/settings")).plain_text
    assert "invia prima /start" in (await say(bot, 5104, "/digest")).plain_text
    assert bot.store.get_subscriber(5104) is None


async def test_language_keyboard_and_language_command(bot: RunningBot) -> None:
    """/language shows the shipped languages as buttons; a press switches the chat's
    language; /language de works too; bad input is answered in words; "auto" follows
    the app again."""
    await say(bot, ANNE, "/start")
    keyboard = await say(bot, ANNE, "/language")
    labels = [b["text"] for row in keyboard.buttons for b in row]
    for name in LANGUAGES.values():
        assert any(name in label for label in labels), name
    await press(bot, ANNE, keyboard, "lang:fr")
    await bot.api.wait_for(lambda: bot.api.message(ANNE, keyboard.message_id).edited)
    assert (
        "j'écrirai dans cette langue : Français"
        in bot.api.message(ANNE, keyboard.message_id).plain_text
    )
    subscriber = bot.store.get_subscriber(ANNE)
    assert subscriber is not None
    assert subscriber.language == "fr"
    assert "Vos réglages" in (await say(bot, ANNE, "/settings")).plain_text
    assert "schreibe ich auf Deutsch" in (await say(bot, ANNE, "/language de")).plain_text
    refused = (await say(bot, ANNE, "/language klingon")).plain_text
    assert "„klingon“" in refused
    assert "de (Deutsch)" in refused
    assert bot.store.get_subscriber(ANNE).language == "de"  # type: ignore[union-attr]  # created above
    assert "Telegram" in (await say(bot, ANNE, "/language auto")).plain_text
    assert bot.store.get_subscriber(ANNE).language is None  # type: ignore[union-attr]  # created above
    assert "Your settings" in (await say(bot, ANNE, "/settings")).plain_text


async def test_digest_in_german_with_dates_written_by_babel(bot: RunningBot) -> None:
    """A German reader's digest: German header, weekday and month, German words."""
    await say(bot, ANNE, "/start")
    await say(bot, ANNE, "/language de")
    digest = (await say(bot, ANNE, "/digest")).plain_text
    assert "Deine Nachrichten" in digest
    assert "Mittwoch, 25. November 2026" in digest
    assert "Meldungen" in digest
    assert "Your news digest" not in digest


async def test_scheduled_digest_follows_the_app_language_remembered_for_the_chat(
    bot: RunningBot,
) -> None:
    """A scheduled digest has no update to read a language from: the chat's remembered
    Telegram language is used (Russian here), and it follows the app when it changes."""
    await say(bot, OLGA, "/start")
    await say(bot, OLGA, "/time 06:10")
    before = len(bot.api.messages(OLGA))
    bot.clock.advance(minutes=6)
    await bot.dispatch()
    digest = (await bot.api.wait_for_messages(OLGA, before + 1))[before]
    assert "Ваша подборка новостей" in digest.plain_text
    assert "25 ноября" in digest.plain_text or "среда" in digest.plain_text
    bot.api.add_user(OLGA, "Olga", language_code="uk")
    assert "Ваші налаштування" in (await say(bot, OLGA, "/settings")).plain_text
    assert bot.store.get_subscriber(OLGA).telegram_language == "uk"  # type: ignore[union-attr]  # created above


async def test_command_menu_is_registered_in_every_language(bot: RunningBot) -> None:
    """set_my_commands registers the descriptions per language (and English as the
    default), the admins' menu too."""
    from tests.botharness import ADMIN

    default = {c["command"]: c["description"] for c in bot.api.commands()}
    assert default["digest"] == "Your digest now"
    assert "stats" not in default
    for language in set(LANGUAGES) - {"en"}:
        menu = {c["command"]: c["description"] for c in bot.api.commands(language_code=language)}
        assert set(menu) == set(default), language
        assert menu["digest"] != default["digest"], language
    german = {c["command"]: c["description"] for c in bot.api.commands(language_code="de")}
    assert german["digest"] == "Deine Ausgabe jetzt sofort"
    admin = bot.api.commands({"type": "chat", "chat_id": ADMIN}, "de")
    assert any(c["command"] == "stats" for c in admin)
