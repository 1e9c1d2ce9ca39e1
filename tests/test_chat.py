"""``newsdigest chat``: the real bot on the fake Bot API server, driven from a terminal."""

from __future__ import annotations

import asyncio
import io
import queue
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.chat import DEMO_DATA_FILE, DEMO_USER_ID, chat_session, render_message, run_chat
from bot.store import EmbeddedStore
from bot.telegram.app import Options
from fakebotapi import MessageEvent, MessageVersion, SentMessage, parse_telegram_html
from tests.botharness import T0, Clock, make_settings

PASTE = (
    "The city council approved a new budget for the coming year on Tuesday evening. "
    "The budget raises spending on buses and trams by ten percent, the largest increase "
    "in a decade. Critics said the plan ignores rising housing costs across the city. "
    "The mayor defended the decision, saying public transport is used by most residents. "
    "A final vote on new housing measures is expected next month."
)


def transcript_of(tmp_path: Path, *lines: str) -> tuple[int, str]:
    """Run a whole session on scripted input; return its exit code and everything shown."""
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    stdout = io.StringIO()
    code = run_chat(make_settings(tmp_path), stdin=stdin, stdout=stdout, environ={"USER": "ada"})
    return code, stdout.getvalue()


def test_scripted_session_walks_through_the_bot(tmp_path: Path) -> None:
    """Start, tick a topic by number, read a digest and a summary, see settings, quit."""
    code, out = transcript_of(
        tmp_path, "/start", "1", "/digest", PASTE, "/settings", "9", "/quit", "/help"
    )
    assert code == 0
    assert "a local simulation of Telegram; nothing leaves this machine" in out
    assert "You are “ada”" in out
    welcome = out.index("Welcome to newsdigest!")
    assert out.index("[1] ▫️ World  [2] ▫️ Business") > welcome
    pressed = out.index("(pressed “▫️ World”)")
    assert out.index("[1] ✅ World", pressed) > pressed
    assert "(pop-up) Added World" in out
    digest = out.index("Your news digest")
    assert "(typing…)" in out[pressed : out.index(f"you › {PASTE}")]  # while /digest works
    # A world seed, its title linked as "title (url)".
    assert "Irena Valic Wins Estavia's Presidential Runoff (https://" in out[digest:]
    assert "• The city council approved a new budget" in out
    assert "Topics: World" in out
    assert "(no button 9: choose 1 to 8)" in out
    assert "\x1b[" not in out  # no terminal styling outside a terminal
    assert out.rstrip().endswith("Bye: the bot and its local server are stopped.")
    assert "What I can do" not in out  # nothing after /quit was sent
    with EmbeddedStore.open(tmp_path / DEMO_DATA_FILE) as store:  # closed, so it opens again
        subscriber = store.get_subscriber(DEMO_USER_ID)
        assert subscriber is not None
        assert subscriber.topics == ("world",)


def test_press_without_a_number_is_explained_by_the_chat(tmp_path: Path) -> None:
    """Found by a stranger: the intro offers "/press 2", and "/press abc" went to the bot,
    which did not know /press."""
    code, out = transcript_of(tmp_path, "/start", "/press abc", "/press")
    assert code == 0
    assert out.count("(/press takes a button's number: /press 2)") == 2
    assert "I don't know /press" not in out


def test_the_demo_channel_can_be_linked_and_gets_its_digest(tmp_path: Path) -> None:
    """The session has a channel the person owns and the bot administers: /channel links
    it, a topic button picks its topic, and its digest is shown as posted in it."""
    code, out = transcript_of(tmp_path, "/channel @demochannel", "1", "/digest", "/quit")
    assert code == 0
    assert "try /channel with: @demochannel" in out
    assert "Linked Demo Channel." in out
    assert "(pop-up) Added World" in out
    posted = out.index("📢 Demo Channel ›")
    assert out.index("Your news digest", posted) > posted
    assert "The digest is posted in the channel." in out


def test_end_of_input_ends_the_session_cleanly(tmp_path: Path) -> None:
    """Ctrl-D (end of input) without /quit also stops everything and exits with 0."""
    code, out = transcript_of(tmp_path, "/help")
    assert code == 0
    assert "/digest · Your digest now" in out
    assert out.rstrip().endswith("Bye: the bot and its local server are stopped.")
    assert not (tmp_path / "newsdigest.json").exists()  # the real data file is untouched
    with EmbeddedStore.open(tmp_path / DEMO_DATA_FILE) as store:
        assert store.count_articles() > 0


def test_a_later_session_remembers_the_demo_chat_and_fresh_starts_over(
    tmp_path: Path,
) -> None:
    """The demo store keeps the person's topics between sessions; ``fresh`` uses none."""
    transcript_of(tmp_path, "/subscribe science")
    _, again = transcript_of(tmp_path, "/settings")
    assert "Reading the bundled sample articles" not in again
    assert "Topics: Science" in again
    fresh = io.StringIO()
    run_chat(make_settings(tmp_path), stdin=io.StringIO("/settings\n"), stdout=fresh, fresh=True)
    assert "Reading the bundled sample articles" in fresh.getvalue()
    assert "This chat has no subscription" in fresh.getvalue()


def test_the_session_refuses_the_bots_own_data_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`newsdigest chat --data-file` naming the bot's data file (by another path too) is
    refused with one line, and the file is not created; so is --fresh with --data-file."""
    config = tmp_path / "nd.toml"
    config.write_text(f'[storage]\ndata_file = "{tmp_path / "bot.json"}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    for asked in ("bot.json", str(tmp_path / "sub" / ".." / "bot.json")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main(["--config", str(config), "chat", "--data-file", asked]) == 2
        err = capsys.readouterr().err
        assert "is the bot's data file" in err
        assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("bot.json*"))
    assert main(["--config", str(config), "chat", "--fresh", "--data-file", "x.json"]) == 2
    assert "give one or the other" in capsys.readouterr().err
    assert not list(tmp_path.glob("x.json*"))


class LineFeed(io.StringIO):
    """Standard input that a test types into: ``readline`` blocks until a line is fed."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self._lines.put(f"{line}\n" if line else "")

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]  # a blocking readline, as a terminal's
        return self._lines.get()

    def isatty(self) -> bool:
        return False


class Screen(io.StringIO):
    """Standard output a test can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self._written = asyncio.Event()

    def write(self, text: str) -> int:
        self._written.set()
        return super().write(text)

    async def shows(self, text: str) -> None:
        async with asyncio.timeout(20):
            while text not in self.getvalue():
                self._written.clear()
                await self._written.wait()


async def test_scheduled_digest_shows_up_while_idle(tmp_path: Path) -> None:
    """The bot's jobs run while nobody types: a digest falling due appears at the prompt."""
    clock = Clock(T0)  # 06:00 UTC; the daily digest is at 08:00
    keyboard, screen = LineFeed(), Screen()
    session = asyncio.create_task(
        chat_session(
            make_settings(tmp_path),
            stdin=keyboard,
            stdout=screen,
            environ={},
            options=Options(dispatch_interval=0.2, ingest_at_start=False, clock=clock),
        )
    )
    keyboard.type("/start")
    await screen.shows("[8] Done")
    clock.advance(hours=2, seconds=1)
    await screen.shows("Your news digest")
    keyboard.type("/quit")
    keyboard.type("")
    assert await session == 0
    out = screen.getvalue()
    assert "you › \nbot › 📰 Your news digest" in out  # it interrupted an idle prompt
    assert out.rstrip().endswith("Bye: the bot and its local server are stopped.")


def sent(html: str, buttons: list[list[str]] | None = None) -> SentMessage:
    """A bot message as the fake server records it."""
    parsed = parse_telegram_html(html)
    markup = (
        {"inline_keyboard": [[{"text": t, "callback_data": t} for t in row] for row in buttons]}
        if buttons
        else None
    )
    return SentMessage(
        chat_id=1,
        message_id=1,
        text=html,
        plain_text=parsed.text,
        parse_mode="HTML",
        entities=parsed.entities,
        reply_markup=markup,
        message_thread_id=None,
        reply_to_message_id=None,
        disable_notification=False,
        link_preview_options=None,
        date=0,
        sent_at=0.0,
        sender={},
    )


@pytest.mark.parametrize(
    ("html", "color", "shown"),
    [
        (
            '<b><a href="https://x.example/a">Título 📰</a></b> · 1 story',
            False,
            "bot › Título 📰 (https://x.example/a) · 1 story",
        ),
        ("<b>Bold</b> &amp; <i>it</i>", True, "bot › \x1b[1mBold\x1b[22m & \x1b[3mit\x1b[23m"),
        ('<a href="https://x.example/">https://x.example/</a>', False, "bot › https://x.example/"),
        ("one\ntwo", False, "bot › one\n      two"),
    ],
)
def test_messages_read_as_terminal_text(html: str, color: bool, shown: str) -> None:
    """Links become "text (url)", entities are decoded, styles are ANSI only on request."""
    assert "\n".join(render_message("sent", sent(html), color=color)) == shown


@pytest.mark.parametrize(
    ("event", "shown"),
    [
        ("sent", ["bot › Pick:", "      [1] ▫️ A  [2] ✅ B", "      [3] Done"]),
        ("deleted", ["bot › (deleted an earlier message)"]),
    ],
)
def test_buttons_are_numbered_choices(event: MessageEvent, shown: list[str]) -> None:
    """Every button gets a number, row by row, counting across rows."""
    message = sent("Pick:", [["▫️ A", "✅ B"], ["Done"]])
    assert render_message(event, message) == shown


def test_an_edit_that_only_changes_buttons_shows_just_the_buttons() -> None:
    """Ticking a topic does not reprint the whole welcome text."""
    message = sent("Pick:", [["✅ A"]])
    before = sent("Pick:", [["▫️ A"]])
    message.history.append(
        MessageVersion(
            before.text, before.plain_text, "HTML", before.entities, before.reply_markup, 0.0
        )
    )
    assert render_message("edited", message) == ["bot ✎ (changed the buttons)", "      [1] ✅ A"]


def test_a_file_the_bot_sends_shows_its_name_and_size() -> None:
    """/export sends a document: the terminal names it above its caption."""
    message = sent("Your feeds")
    message.document = {"file_id": "f", "file_name": "newsdigest-feeds.opml", "file_size": 321}
    assert render_message("sent", message) == [
        "bot › 📎 newsdigest-feeds.opml (321 bytes)",
        "      Your feeds",
    ]


def test_a_small_text_file_the_bot_sends_is_shown() -> None:
    """Found by a stranger: /export's OPML file showed as a name and a size, and there was
    no way to see it; a small text file is shown below its name, anything else is not."""
    message = sent("Your feeds")
    message.document = {"file_id": "f", "file_name": "newsdigest-feeds.opml", "file_size": 60}
    opml = b'<?xml version="1.0"?>\n<opml version="2.0"><body/></opml>\n'
    assert render_message("sent", message, content=opml) == [
        "bot › 📎 newsdigest-feeds.opml (60 bytes)",
        "      Your feeds",
        '      │ <?xml version="1.0"?>',
        '      │ <opml version="2.0"><body/></opml>',
    ]
    for other in (b"\x89PNG\r\n\x1a\n\x00", b"x" * 5000, b"\xff\xfe"):
        assert len(render_message("sent", message, content=other)) == 2


@pytest.mark.parametrize("line", ["/exit", "/QUIT"])
def test_exit_words_end_the_session(tmp_path: Path, line: str) -> None:
    """/exit works like /quit, in any case."""
    code, out = transcript_of(tmp_path, line, "/help")
    assert code == 0
    assert "What I can do" not in out
