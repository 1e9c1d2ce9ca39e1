"""``newsdigest chat``: try the bot in the terminal, without Telegram and without a token.

The real application (``build_application``) runs against the in-process fake Bot API
server (``FakeBotAPI``) on 127.0.0.1; the person at the terminal plays one Telegram user in
a private chat. Each line they type is sent as that user's message, and everything the bot
does in the chat is printed as readable text: new messages, edits, deletions, "typing…"
and the pop-up answers to button presses. Inline keyboards become numbered choices;
typing a bare number (or ``/press N``) presses that button of the latest message with
buttons. ``/quit``, ``/exit``, end of input (Ctrl-D) and Ctrl-C end the session.
A demo channel (``@demochannel``, the person its owner, the bot one of its administrators)
lets them try ``/channel``: what the bot posts there is printed too, marked as the
channel's.

Nothing here knows what the bot says or does: replies are rendered from what the fake
server recorded (the text as a Telegram user reads it, and its entities), so the chat
always shows the bot as it is. The session uses its own data file (``chat-demo.json``
next to the configured one) and, unless asked otherwise, no feeds: it works offline from
the bundled seed articles.

Standard input is read by a daemon thread that feeds an ``asyncio.Queue``: the event loop
(and with it the bot's jobs, e.g. a scheduled digest falling due while the person is
idle) keeps running while nobody types, and a read still blocked at exit cannot hold the
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from fakebotapi import FakeBotAPI, MessageEvent, SentMessage, SimulatorError, WaitTimeout

from ..config import Settings
from ..ingest.ingester import Ingester
from ..sources.seeds import seeds_problem
from ..store import Store, open_store
from ..telegram.app import NewsApp, Options, build_application
from ..telegram.lifecycle import running
from .errors import UsageError

__all__ = [
    "DEMO_DATA_FILE",
    "DEMO_TOKEN",
    "DEMO_USER_ID",
    "chat_session",
    "render_message",
    "run_chat",
]

DEMO_TOKEN = "chat-demo:local"  # noqa: S105 - not a secret: the fake server accepts any token
DEMO_USER_ID = 1001
DEMO_DATA_FILE = "chat-demo.json"
DEMO_CHANNEL_ID = -1_000_000_001_001
DEMO_CHANNEL = ("demochannel", "Demo Channel")

# The bot has answered once its calls stop for this long (and a reply came).
QUIET_SECONDS = 0.3
# How long to wait for an answer before giving the prompt back (a late reply still shows).
REPLY_CAP_SECONDS = 5.0
# /digest may rebuild the digest and /summarize may fetch a page (fetch timeout 15 s).
SLOW_REPLY_CAP_SECONDS = 30.0
# Lines that arrive closer together than this come from a paste, not from typing.
PASTE_GAP_SECONDS = 0.05

PROMPT = "you › "
BOT = "bot › "
POSTED = "📢 Demo Channel ›"
EDIT = "bot ✎ "
INDENT = " " * len(BOT)

_QUIT = frozenset({"/quit", "/exit"})
_PRESS = re.compile(r"(?:/press\s+)?(\d{1,3})", re.IGNORECASE)
_PRESS_WORD = re.compile(r"/press(?:\s|$)", re.IGNORECASE)
_SLOW_COMMAND = re.compile(r"/(digest|summarize)(@\w+)?(\s|$)", re.IGNORECASE)

_ANSI: Mapping[str, tuple[str, str]] = {
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "underline": ("\x1b[4m", "\x1b[24m"),
    "strikethrough": ("\x1b[9m", "\x1b[29m"),
}


# --------------------------------------------------------------------------- rendering


def _styled(text: str, entities: Sequence[Mapping[str, Any]], *, color: bool) -> str:
    """Text as a terminal shows it: links as ``text (url)``, styles as ANSI when ``color``.

    Entity offsets count UTF-16 code units, as Telegram's do.
    """
    if not entities:
        return text
    units = text.encode("utf-16-le")
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in entities:
        start = int(entity.get("offset", 0))
        end = start + int(entity.get("length", 0))
        kind = entity.get("type")
        if kind == "text_link":
            url = str(entity.get("url", ""))
            label = units[2 * start : 2 * end].decode("utf-16-le", "replace")
            if url and label.strip() != url:
                closes.setdefault(end, []).append(f" ({url})")
        elif color and isinstance(kind, str) and kind in _ANSI:
            on, off = _ANSI[kind]
            opens.setdefault(start, []).append(on)
            closes.setdefault(end, []).insert(0, off)
    cuts = sorted({0, len(units) // 2, *opens, *closes})
    out: list[str] = []
    for here, after in zip(cuts, [*cuts[1:], cuts[-1]], strict=True):
        out.extend(closes.get(here, ()))
        out.extend(opens.get(here, ()))
        out.append(units[2 * here : 2 * after].decode("utf-16-le", "replace"))
    return "".join(out)


def _indented(text: str, first: str) -> list[str]:
    lines = text.split("\n")
    return [f"{first}{lines[0]}", *(f"{INDENT}{line}" if line else "" for line in lines[1:])]


def _buttons(message: SentMessage) -> list[dict[str, Any]]:
    return [button for row in message.buttons for button in row]


def _keyboard_lines(message: SentMessage) -> list[str]:
    lines: list[str] = []
    number = 0
    for row in message.buttons:
        cells = []
        for button in row:
            number += 1
            label = str(button.get("text", ""))
            if "url" in button:
                label += f" ({button['url']})"
            cells.append(f"[{number}] {label}")
        lines.append(INDENT + "  ".join(cells))
    return lines


# A file the bot sends that is text of at most this size is shown in full (an OPML export
# of a few feeds: there is no other way to see it in the terminal).
SHOWN_FILE_BYTES = 4096


def render_message(
    event: MessageEvent,
    message: SentMessage,
    *,
    color: bool = False,
    content: bytes | None = None,
) -> list[str]:
    """The terminal lines for a bot message that was sent, edited or deleted; ``content``:
    the file it carries, if it carries one."""
    if event == "deleted":
        return [f"{BOT}(deleted an earlier message)"]
    body = _styled(message.plain_text, message.entities, color=color)
    if message.document is not None:  # /export: the terminal shows the file's name and size
        name, size = message.document.get("file_name"), message.document.get("file_size")
        body = f"📎 {name} ({size} bytes)" + (f"\n{body}" if body else "")
        text = _shown_file(content)
        if text is not None:
            body += "\n" + "\n".join(f"│ {line}" for line in text.splitlines())
    if event == "edited" and message.history:
        before = message.history[-1]
        if before.plain_text == message.plain_text and before.entities == message.entities:
            if message.buttons:
                return [f"{EDIT}(changed the buttons)", *_keyboard_lines(message)]
            return [f"{EDIT}(removed the buttons)"]
    return [*_indented(body, EDIT if event == "edited" else BOT), *_keyboard_lines(message)]


def _shown_file(content: bytes | None) -> str | None:
    """A small text file's text, or None (too large, or not text)."""
    if content is None or len(content) > SHOWN_FILE_BYTES:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\r\t" for c in text) else None


# --------------------------------------------------------------------------- input


_EOF = None


def _start_reader(
    stdin: TextIO, queue: asyncio.Queue[str | None], stop: threading.Event
) -> threading.Thread:
    """Read lines on a daemon thread and hand them to the loop (``None`` at end of input)."""
    loop = asyncio.get_running_loop()

    def read() -> None:
        while not stop.is_set():
            try:
                line = stdin.readline()
            except (OSError, ValueError):  # closed or unreadable input ends the session
                line = ""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line or _EOF)
            except RuntimeError:  # the loop is closed: the session is over
                return
            if not line:
                return

    thread = threading.Thread(target=read, name="newsdigest-chat-stdin", daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------- the session


@dataclass
class _Request:
    """What the bot did in the chat since the person's last line."""

    calls_before: int
    events_before: int
    answers_before: int
    typing_shown: bool = False


class _Chat:
    """One person, one private chat: sends their lines, prints what the bot does."""

    def __init__(
        self, api: FakeBotAPI, out: TextIO, *, user_id: int, color: bool, echo: bool
    ) -> None:
        self.api = api
        self.out = out
        self.user_id = user_id
        self.color = color
        self.echo = echo
        self.at_prompt = False
        self.events = 0
        self.answers_shown = len(api.callback_answers)
        self.actions_seen = len(api.chat_actions)
        self.unsolicited = asyncio.Event()
        self.request = _Request(len(api.calls), 0, self.answers_shown)
        self._shown: list[int] = []  # message ids in the order they were printed

    # -- output

    def write(self, lines: Sequence[str]) -> None:
        if self.at_prompt:
            # The bot spoke while the person was idle: leave the prompt line first.
            self.out.write("\n")
            self.at_prompt = False
            self.unsolicited.set()
        self.out.write("".join(f"{line}\n" for line in lines))
        self.out.flush()

    def prompt(self) -> None:
        self.out.write(PROMPT)
        self.out.flush()
        self.at_prompt = True

    def echo_line(self, line: str | None) -> None:
        """Show the typed line when the terminal did not (piped or scripted input).

        ``None`` is the end of input, which no terminal echoes: the prompt line is ended.
        """
        if line is None or self.echo:
            self.out.write(f"{line or ''}\n")
            self.out.flush()
        self.at_prompt = False

    def on_message(self, event: MessageEvent, message: SentMessage) -> None:
        """``FakeBotAPI`` listener: print the bot's message as it happens (a post in the
        demo channel after a line that says so)."""
        if message.chat_id == DEMO_CHANNEL_ID and event == "sent":
            self.write([POSTED, *render_message(event, message, color=self.color)])
            return
        if message.chat_id != self.user_id:
            return
        self.flush_side_events()
        self.events += 1
        if event != "deleted" and message.buttons:
            with contextlib.suppress(ValueError):
                self._shown.remove(message.message_id)
            self._shown.append(message.message_id)
        self.write(render_message(event, message, color=self.color, content=self._file(message)))

    def _file(self, message: SentMessage) -> bytes | None:
        """The content of the file a message carries, if any."""
        file_id = (message.document or {}).get("file_id")
        if not isinstance(file_id, str):
            return None
        try:
            return self.api.file(file_id).content
        except KeyError:
            return None

    def flush_side_events(self) -> None:
        """Print "typing…" (once per request) and pop-up answers to button presses."""
        actions = self.api.chat_actions[self.actions_seen :]
        self.actions_seen += len(actions)
        typing = any(a.chat_id == self.user_id for a in actions)
        # Once the answer is shown, a late "typing" (a race in the bot) would only confuse.
        answered = self.events > self.request.events_before
        if typing and not answered and not self.request.typing_shown:
            self.request.typing_shown = True
            self.write([f"{BOT}(typing…)"])
        answers = self.api.callback_answers[self.answers_shown :]
        self.answers_shown += len(answers)
        for answer in answers:
            if answer.text:
                kind = "alert" if answer.show_alert else "pop-up"
                self.write([f"{BOT}({kind}) {answer.text}"])

    # -- input

    def keyboard(self) -> SentMessage | None:
        """The latest printed message that still has buttons."""
        for message_id in reversed(self._shown):
            message = self.api.message(self.user_id, message_id)
            if not message.deleted and message.buttons:
                return message
        return None

    def press(self, number: int) -> bool:
        """Press button ``number``; False (and a hint) when there is no such button."""
        message = self.keyboard()
        if message is None:
            self.write([f"{INDENT}(there are no buttons to press; try /topics)"])
            return False
        buttons = _buttons(message)
        if not 1 <= number <= len(buttons):
            self.write([f"{INDENT}(no button {number}: choose 1 to {len(buttons)})"])
            return False
        button = buttons[number - 1]
        if "callback_data" not in button:
            where = button.get("url")
            self.write([f"{INDENT}(that button opens {where} in a browser)"])
            return False
        try:
            self.api.user_presses(
                self.user_id, self.user_id, message.message_id, button["callback_data"]
            )
        except SimulatorError as exc:
            self.write([f"{INDENT}(could not press it: {exc})"])
            return False
        self.write([f"{INDENT}(pressed “{button.get('text', '')}”)"])
        return True

    def send(self, text: str) -> None:
        self.api.user_sends(self.user_id, self.user_id, text)

    def begin_request(self) -> None:
        self.request = _Request(len(self.api.calls), self.events, self.answers_shown)

    # -- waiting

    def _activity(self) -> tuple[int, int]:
        """(calls, answered calls) since the request began, long polls left out."""
        calls = [c for c in self.api.calls[self.request.calls_before :] if c.method != "getUpdates"]
        return len(calls), sum(1 for c in calls if c.status is not None)

    def _changed_since(self, mark: tuple[int, int]) -> bool:
        return self._activity() != mark

    def _replied(self) -> bool:
        return (
            self.events > self.request.events_before
            or len(self.api.callback_answers) > self.request.answers_before
        )

    async def settle(self, cap: float, *, need_reply: bool = True) -> bool:
        """Wait until the bot has answered and gone quiet; False if ``cap`` ran out first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap
        while True:
            mark = self._activity()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await self.api.wait_for(
                    functools.partial(self._changed_since, mark),
                    timeout=min(QUIET_SECONDS, remaining),
                )
            except WaitTimeout:
                self.flush_side_events()
                calls, answered = mark
                if (
                    calls == answered
                    and self.api.pending_updates == 0
                    and (self._replied() or not need_reply)
                ):
                    return True
            else:
                self.flush_side_events()


def _banner(name: str, store_path: Path, *, offline: bool, temporary: bool) -> list[str]:
    where = "a throwaway store" if temporary else str(store_path)
    news = (
        "News comes from the bundled sample articles (no network needed)."
        if offline
        else "News comes from the configured feeds and the sample articles."
    )
    return [
        "newsdigest chat: a local simulation of Telegram; nothing leaves this machine.",
        f"You are “{name}” in a private chat with the bot. {news}",
        f"Data: {where} (never your real bot's data file).",
        "",
        "Try: /start  /topics  /digest  /summarize <text or link>  /time 7:30",
        "     /timezone Europe/Berlin  /settings  /help   (or paste a long text)",
        f"A channel to try /channel with: @{DEMO_CHANNEL[0]} (yours; the bot is its admin).",
        "Buttons are shown as [1] [2] …: type a number (or /press 2) to press one.",
        "Quit with /quit, /exit, Ctrl-D or Ctrl-C.",
        "",
    ]


def _session_settings(
    settings: Settings, data_file: Path, *, offline: bool, user_id: int
) -> Settings:
    # The demo's own data file holds the sample articles on purpose: they are its news.
    changes: dict[str, Any] = {"data_file": data_file, "use_seeds": True}
    if offline:
        changes["feeds"] = ()
    if settings.allowed_chat_ids:
        # Private mode would turn the demo user away; let them in for this session only.
        changes["allowed_chat_ids"] = settings.allowed_chat_ids | {user_id}
    return replace(settings, **changes)


@contextlib.contextmanager
def _demo_path(settings: Settings, data_file: Path | None, fresh: bool) -> Iterator[Path]:
    """The session's data file: a throwaway one (``fresh``), the one asked for, or
    ``chat-demo.json`` beside the bot's; never the bot's own data file, since the session
    puts the sample articles into its store (UsageError)."""
    if fresh and data_file is not None:
        raise UsageError(
            "--fresh starts with a throwaway store, --data-file with a file of your "
            "choice: give one or the other"
        )
    if fresh:
        with tempfile.TemporaryDirectory(prefix="newsdigest-chat-") as folder:
            yield Path(folder) / DEMO_DATA_FILE
        return
    demo = settings.data_file.with_name(DEMO_DATA_FILE)
    if data_file is not None and _same_file(data_file, settings.data_file):
        raise UsageError(
            f"{data_file} is the bot's data file, and a chat session puts the sample "
            f"articles into its store: leave out --data-file (the session then uses "
            f"{demo}), or give another file"
        )
    yield data_file if data_file is not None else demo


def _same_file(one: Path, other: Path) -> bool:
    """Whether two paths name the same file (through links, or before it exists)."""
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return one.resolve() == other.resolve()


async def _read_line(queue: asyncio.Queue[str | None], *, merge_paste: bool) -> str | None:
    """The next line, or a pasted block as one text; ``None`` at end of input."""
    line = await queue.get()
    if line is None or not merge_paste:
        return line
    lines = [line]
    while True:
        try:
            more = await asyncio.wait_for(queue.get(), PASTE_GAP_SECONDS)
        except TimeoutError:
            break
        if more is None:
            queue.put_nowait(None)
            break
        lines.append(more)
    return "".join(lines)


@contextlib.asynccontextmanager
async def _running_bot(
    settings: Settings, store: Store, api: FakeBotAPI, options: Options
) -> AsyncIterator[NewsApp]:
    app = build_application(
        settings,
        store,
        token=DEMO_TOKEN,
        options=options,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
    )
    async with running(app) as started:
        yield started


async def chat_session(
    settings: Settings,
    *,
    data_file: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    offline: bool = True,
    fresh: bool = False,
    environ: Mapping[str, str] | None = None,
    options: Options | None = None,
) -> int:
    """Run one terminal chat with the real bot on a fake Bot API server; return 0.

    ``data_file``: the store to use (default: ``chat-demo.json`` next to the configured
    data file); ``fresh``: a throwaway store instead, deleted at the end. ``offline``
    (default) leaves the configured feeds out. ``environ`` gives the user's name
    (``$USER``); ``options`` replaces the bot's run options (tests shorten intervals).
    Raises ``StoreError`` when the store cannot be opened (e.g. another session has it).
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    environ = environ if environ is not None else os.environ
    name = environ.get("USER") or environ.get("USERNAME") or "You"
    color = stdout.isatty() and "NO_COLOR" not in environ
    options = options or Options(ingest_at_start=not offline)

    with _demo_path(settings, data_file, fresh) as path:
        session_settings = _session_settings(settings, path, offline=offline, user_id=DEMO_USER_ID)
        with open_store(path) as store:
            stdout.write("\n".join(_banner(name, path, offline=offline, temporary=fresh)))
            stdout.write("\n")
            await _ensure_articles(session_settings, store, options.clock, stdout)
            async with FakeBotAPI() as api:
                api.add_user(DEMO_USER_ID, name, language_code="en")
                _add_demo_channel(api)
                chat = _Chat(
                    api, stdout, user_id=DEMO_USER_ID, color=color, echo=not stdin.isatty()
                )
                api.add_listener(chat.on_message)
                try:
                    async with _running_bot(session_settings, store, api, options):
                        await _converse(chat, stdin)
                finally:
                    api.remove_listener(chat.on_message)
    stdout.write("Bye: the bot and its local server are stopped.\n")
    stdout.flush()
    return 0


def _add_demo_channel(api: FakeBotAPI) -> None:
    """The demo channel: the person owns it and has made the bot an administrator."""
    username, title = DEMO_CHANNEL
    api.add_chat(DEMO_CHANNEL_ID, "channel", title=title, username=username)
    api.set_admins(DEMO_CHANNEL_ID, [], owner=DEMO_USER_ID)
    api.bot_promoted(DEMO_CHANNEL_ID, by=DEMO_USER_ID)


async def _ensure_articles(
    settings: Settings, store: Store, clock: Callable[[], datetime], out: TextIO
) -> None:
    """Store the bundled seeds when the store has no articles yet (the demo's news)."""
    if store.count_articles():
        newest = max(
            (a.fetched for a in store.articles_since(clock() - timedelta(days=3650))), default=None
        )
        hours = settings.digest.window_hours
        if newest is not None and clock() - newest > timedelta(hours=hours):
            out.write(
                f"(The demo's articles were stored over {hours} hours ago, so /digest may "
                "find nothing new. Start over with `newsdigest chat --fresh`.)\n\n"
            )
        return
    problem = seeds_problem(settings.seeds_dir)
    if problem is not None:
        out.write(f"({problem.capitalize()}: the digest will stay empty.)\n\n")
        return
    out.write("Reading the bundled sample articles… ")
    out.flush()
    report = await Ingester(settings, store, clock=clock).run(feeds=False)
    out.write(f"{report.new} stored.\n\n")
    out.flush()


async def _converse(chat: _Chat, stdin: TextIO) -> None:
    """Prompt, send, wait for the answer; until /quit or end of input."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stop = threading.Event()
    _start_reader(stdin, queue, stop)
    merge_paste = stdin.isatty()
    try:
        while True:
            chat.prompt()
            line = await _next_line(chat, queue, merge_paste=merge_paste)
            if line is None:
                chat.echo_line(None)
                return
            text = line.strip()
            chat.echo_line(text)
            if not text:
                continue
            if text.lower() in _QUIT:
                return
            chat.begin_request()
            press = _PRESS.fullmatch(text)
            if press is not None:
                if chat.press(int(press.group(1))):
                    await _wait_for_answer(chat, REPLY_CAP_SECONDS)
                continue
            if _PRESS_WORD.match(text):  # "/press", "/press abc": the chat's, not the bot's
                chat.write([f"{INDENT}(/press takes a button's number: /press 2)"])
                continue
            chat.send(text)
            slow = not text.startswith("/") or _SLOW_COMMAND.match(text) is not None
            await _wait_for_answer(chat, SLOW_REPLY_CAP_SECONDS if slow else REPLY_CAP_SECONDS)
    except asyncio.CancelledError:  # Ctrl-C: what the bot still says goes on a new line
        chat.echo_line(None)
        raise
    finally:
        stop.set()


async def _wait_for_answer(chat: _Chat, cap: float) -> None:
    if not await chat.settle(cap):
        chat.write([f"{INDENT}(no answer yet; it will show up here when it comes)"])


async def _next_line(
    chat: _Chat, queue: asyncio.Queue[str | None], *, merge_paste: bool
) -> str | None:
    """The person's next line; meanwhile, whatever the bot sends unasked is shown."""
    reading = asyncio.ensure_future(_read_line(queue, merge_paste=merge_paste))
    try:
        while True:
            chat.unsolicited.clear()
            spoke = asyncio.ensure_future(chat.unsolicited.wait())
            try:
                done, _ = await asyncio.wait({reading, spoke}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                spoke.cancel()
            if reading in done:
                return reading.result()
            # E.g. a scheduled digest arrived at the prompt: let it finish, prompt again.
            await chat.settle(REPLY_CAP_SECONDS, need_reply=False)
            chat.prompt()
    finally:
        reading.cancel()


def run_chat(
    settings: Settings,
    *,
    data_file: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    offline: bool = True,
    fresh: bool = False,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``newsdigest chat``: :func:`chat_session` on a new event loop; Ctrl-C ends it cleanly."""
    out = stdout if stdout is not None else sys.stdout
    try:
        return asyncio.run(
            chat_session(
                settings,
                data_file=data_file,
                stdin=stdin,
                stdout=out,
                offline=offline,
                fresh=fresh,
                environ=environ,
            )
        )
    except KeyboardInterrupt:
        # asyncio.run cancelled the session, which stopped the bot and closed the store.
        out.write("Bye: the bot and its local server are stopped.\n")
        out.flush()
        return 0
