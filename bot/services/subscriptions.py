"""What users can change about their subscription, with the rules and limits in one place.

Handlers parse a command and call these methods; every method validates its input and
raises ``UserError`` with a message meant for the user ("Unknown topic 'sprot'. Topics:
...") so that bad input is answered where it happens and nothing half-done is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import Settings
from ..delivery.schedule import latest_slot
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, Items, Text, _, _n, quoted, supported
from ..ingest.topics import KeywordError, normalize_keyword
from ..models import ACTIVE, BLOCKED, PAUSED, Subscriber
from ..store import Store
from ..timeparse import ScheduleError, parse_clock, parse_timezone

NOT_SUBSCRIBED = _("This chat has no subscription: send /start first.")
MAX_KEYWORDS = 20
# A word is common when at least half of the recent articles mention it, counted once
# there are this many (fewer say little about a word).
COMMON_AMONG = 20
MAX_TIMES = 4
# /language auto: follow the Telegram app's language again.
AUTO_LANGUAGE = ("auto", "telegram")


def forget_unread_feeds(settings: Settings, store: Store, urls: Iterable[str]) -> None:
    """Forget the state of chats' own feeds that no active chat reads any more (unless the
    operator configured the same feed): the ingester stops polling them anyway."""
    configured = {feed.url for feed in settings.feeds}
    read = store.chat_feed_urls()
    for url in urls:
        if url not in configured and url not in read:
            store.delete_feed_state(url)


class UserError(ValueError):
    """Bad input from a user; the message is shown to them, in their language."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


@dataclass(frozen=True)
class TopicChange:
    """The result of /subscribe or /unsubscribe."""

    subscriber: Subscriber
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


def _settled(subscriber: Subscriber, now: datetime) -> datetime | None:
    """The subscriber's ``last_slot`` once their schedule is set at ``now``: a slot of it
    that already passed counts as settled (never caught up as if the bot had been down)."""
    passed = latest_slot(subscriber, now)
    if passed is None or (subscriber.last_slot is not None and subscriber.last_slot >= passed):
        return subscriber.last_slot
    return passed


@dataclass(frozen=True)
class KeywordChange:
    """The result of /follow or /exclude: the subscriber, the word as kept, whether it
    was added, and whether it left the other list (a followed word, then excluded, is no
    longer followed)."""

    subscriber: Subscriber
    word: str
    added: bool
    moved: bool


class Subscriptions:
    """Subscriber operations on the store; ``on_change`` hears about schedule changes."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime],
        on_change: Callable[[Subscriber | int], None] = lambda _: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.on_change = on_change

    # --- reading and creating --------------------------------------------------------

    def get(self, chat_id: int) -> Subscriber | None:
        """The chat's subscription, if any."""
        return self.store.get_subscriber(chat_id)

    def start(
        self,
        chat_id: int,
        chat_type: str,
        thread_id: int | None = None,
        telegram_language: str | None = None,
    ) -> Subscriber:
        """/start: create the chat's subscription with the defaults, or make it active again.

        The only ways a subscription comes into being are this and the explicit subscribing
        actions (``subscribe``/``toggle_topic`` with ``create=True``); reading commands never
        create or revive one, so after ``delete`` the chat stays deleted.

        A new subscription's first digest is at its first time of day still to come: the
        dispatcher's catch-up of slots missed in the last hours is for downtime, never for
        slots from before the subscription existed (nor would /settings announce one).
        """
        current = self.store.get_subscriber(chat_id)
        if current is None:
            now = self.clock()
            current = Subscriber(
                chat_id=chat_id,
                chat_type=chat_type,
                times=(self.settings.default_time,),
                timezone=self.settings.default_timezone,
                created=now,
                thread_id=thread_id,
                skip_empty=self.settings.digest.skip_empty,
                telegram_language=supported(telegram_language),
            )
            current = current.evolve(last_slot=_settled(current, now))
            self.store.put_subscriber(current)
            self.on_change(current)
        elif current.status != ACTIVE:
            current = self._reschedule(current, status=ACTIVE)
        return current

    def heard_from(self, chat_id: int, telegram_language: str | None = None) -> None:
        """The chat wrote to the bot: if its digests had stopped because it blocked the bot,
        it has unblocked it, so they resume (a subscription is never created here).

        ``telegram_language`` (a private chat's user's app language) is remembered when it
        changed, so that scheduled digests follow it too.
        """
        current = self.store.get_subscriber(chat_id)
        if current is None:
            return
        changes: dict[str, object] = {}
        if current.status == BLOCKED:
            changes["status"] = ACTIVE
        language = supported(telegram_language)
        if language is not None and language != current.telegram_language:
            changes["telegram_language"] = language
        if changes:
            self._update(chat_id, **changes)

    # --- language --------------------------------------------------------------------

    @staticmethod
    def language_of(
        subscriber: Subscriber | None, telegram_language: str | None, *, private: bool
    ) -> str:
        """The language to write to a chat in: its choice (/language); in a private chat
        then the user's Telegram app; then what the chat's subscription remembers."""
        if subscriber is not None and subscriber.language:
            return subscriber.language
        app = supported(telegram_language)
        if private and app:
            return app
        if subscriber is not None and subscriber.telegram_language:
            return subscriber.telegram_language
        return app or DEFAULT_LANGUAGE

    def set_language(self, chat_id: int, text: str) -> Subscriber:
        """/language de (or Deutsch), or "auto" to follow the Telegram app again."""
        wanted = text.strip().lower()
        names = {name.lower(): code for code, name in LANGUAGES.items()}
        if wanted in AUTO_LANGUAGE:
            language = None
        else:
            language = supported(wanted) or names.get(wanted)
            if language is None:
                raise UserError(
                    _(
                        "I don't speak {language} yet. Languages: {languages}.",
                        language=quoted(text, 20),
                        languages=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items()),
                    )
                )
        self._require(chat_id)
        return self._update(chat_id, language=language)

    def _reschedule(self, current: Subscriber, **changes: object) -> Subscriber:
        """Change when the chat's digests come (times, zone, resuming them): a slot of the
        new schedule that passed before the change is settled, not caught up.

        The dispatcher delivers a slot up to ``grace_hours`` late, for slots missed while
        the bot was down. A slot that passed before the reader chose that time (or zone,
        or resumed) was never missed: /time 19:00 at 20:30 would have sent a digest at
        once, while the answer said the next one comes tomorrow at 19:00.
        """
        changes["last_slot"] = _settled(current.evolve(**changes), self.clock())
        return self._update(current.chat_id, **changes)

    def _update(self, chat_id: int, **changes: object) -> Subscriber:
        updated = self.store.update_subscriber(chat_id, **changes)
        self.on_change(updated)
        return updated

    # --- topics ----------------------------------------------------------------------

    def topic_names(self, words: Iterable[str]) -> list[str]:
        """Validate topic names (case-insensitive, commas allowed); raise UserError."""
        names: list[str] = []
        unknown: list[str] = []
        for word in words:
            for part in word.replace(",", " ").split():
                name = part.strip().lower()
                if self.settings.topic(name) is not None:
                    if name not in names:
                        names.append(name)
                else:
                    unknown.append(part.strip())
        if unknown:
            listed = ", ".join(self.settings.topic_names)
            # Never echo a whole paste back: a few names, each shortened, then a count.
            unknown = list(dict.fromkeys(unknown))  # "/subscribe x x x" names x once
            named = Items([quoted(u, 32) for u in unknown[:3]], "comma")
            if len(unknown) > 3:
                raise UserError(
                    _n(
                        "Unknown topics {names} and {count} more. Topics: {topics}.",
                        "Unknown topics {names} and {count} more. Topics: {topics}.",
                        len(unknown) - 3,
                        names=named,
                        topics=listed,
                    )
                )
            raise UserError(
                _n(
                    "Unknown topic {names}. Topics: {topics}.",
                    "Unknown topics {names}. Topics: {topics}.",
                    len(unknown),
                    names=named,
                    topics=listed,
                )
            )
        if not names:
            raise UserError(
                _("Name one or more topics: {topics}.", topics=", ".join(self.settings.topic_names))
            )
        return names

    def subscribe(
        self, chat_id: int, names: Sequence[str], *, create: tuple[str, int | None] | None = None
    ) -> TopicChange:
        """Add topics. ``create`` (chat type, thread): subscribe the chat first if needed,
        for the explicit subscribing actions (/subscribe, a topic button)."""
        current = self._existing(chat_id, create)
        added = tuple(n for n in names if n not in current.topics)
        topics = tuple(t for t in self.settings.topic_names if t in current.topics or t in added)
        updated = self._update(chat_id, topics=topics) if added else current
        return TopicChange(updated, added, tuple(n for n in names if n not in added))

    def unsubscribe(self, chat_id: int, names: Sequence[str]) -> TopicChange:
        """Remove topics."""
        current = self._require(chat_id)
        removed = tuple(n for n in names if n in current.topics)
        topics = tuple(t for t in current.topics if t not in removed)
        updated = self._update(chat_id, topics=topics) if removed else current
        return TopicChange(updated, removed, tuple(n for n in names if n not in removed))

    def toggle_topic(
        self, chat_id: int, name: str, *, create: tuple[str, int | None] | None = None
    ) -> tuple[Subscriber, bool]:
        """Flip one topic; returns the subscriber and whether it is now subscribed."""
        [name] = self.topic_names([name])
        current = self._existing(chat_id, create)
        if name in current.topics:
            return self.unsubscribe(chat_id, [name]).subscriber, False
        return self.subscribe(chat_id, [name]).subscriber, True

    # --- keywords --------------------------------------------------------------------

    def _keyword(self, text: str) -> str:
        try:
            return normalize_keyword(text)
        except KeywordError as exc:
            raise UserError(exc.text) from None

    def add_keyword(self, chat_id: int, kind: str, text: str) -> KeywordChange:
        """Follow or exclude a word (``kind`` is "follow" or "exclude")."""
        word = self._keyword(text)
        current = self._require(chat_id)
        words: tuple[str, ...] = getattr(current, kind)
        if word in words:
            return KeywordChange(current, word, added=False, moved=False)
        if len(words) >= MAX_KEYWORDS:
            raise UserError(
                _("You can have at most {count} words here; remove one first.", count=MAX_KEYWORDS)
            )
        other = "exclude" if kind == "follow" else "follow"
        changes: dict[str, object] = {kind: (*words, word)}
        moved = word in getattr(current, other)
        if moved:
            changes[other] = tuple(w for w in getattr(current, other) if w != word)
        return KeywordChange(self._update(chat_id, **changes), word, True, moved)

    @staticmethod
    def common(word: str, mentioning: Callable[[str], tuple[int, int]]) -> tuple[int, int] | None:
        """How many of the recent articles mention ``word``, of how many, when that is most
        of them (at least half of 20 or more; ``mentioning`` counts, as the digest index
        does): a word kept anyway, whose answer says so (following "the" brings every
        story; excluding it, none). None for a rarer word."""
        found, total = mentioning(word)
        return (found, total) if total >= COMMON_AMONG and found * 2 >= total else None

    def remove_keyword(self, chat_id: int, kind: str, text: str) -> tuple[Subscriber, str, bool]:
        """Stop following or excluding a word."""
        word = self._keyword(text)
        current = self._require(chat_id)
        words: tuple[str, ...] = getattr(current, kind)
        if word not in words:
            return current, word, False
        return self._update(chat_id, **{kind: tuple(w for w in words if w != word)}), word, True

    # --- time, zone, state -----------------------------------------------------------

    def set_times(self, chat_id: int, texts: Sequence[str]) -> Subscriber:
        """Set one or more daily delivery times (local, 24 h), apart by spaces or commas."""
        texts = [part for text in texts for part in text.split(",") if part.strip()]
        if not texts:
            raise UserError(_("Usage: /time HH:MM, e.g. /time 07:30 (up to four times)."))
        try:  # a message holds a few hundred times at most (Telegram's 4096 characters)
            times = sorted({parse_clock(t) for t in texts})
        except ScheduleError as exc:
            raise UserError(exc.text) from None
        if len(times) > MAX_TIMES:  # the same time written twice is one digest
            raise UserError(_("At most {count} digests a day.", count=MAX_TIMES))
        return self._reschedule(self._require(chat_id), times=tuple(times))

    def set_timezone(self, chat_id: int, text: str) -> Subscriber:
        """Set the IANA time zone (close matches are suggested when wrong)."""
        try:
            zone = parse_timezone(text)
        except ScheduleError as exc:
            raise UserError(exc.text) from None
        return self._reschedule(self._require(chat_id), timezone=zone)

    def set_status(self, chat_id: int, status: str) -> Subscriber:
        """Pause or resume."""
        if status not in (ACTIVE, PAUSED):
            raise UserError(_("Use /pause or /resume."))
        current = self._require(chat_id)
        if status == ACTIVE:
            return self._reschedule(current, status=status)
        return self._update(chat_id, status=status)

    def set_skip_empty(self, chat_id: int, skip: bool) -> Subscriber:
        """Skip a digest with nothing new, or say 'nothing new'."""
        self._require(chat_id)
        return self._update(chat_id, skip_empty=skip)

    def delete(self, chat_id: int) -> bool:
        """Delete everything stored about the chat: its subscription and delivery ledger.

        The chat's own feeds that no other chat reads are forgotten too (a feed's URL may
        carry a private token). The records leave the data file itself at the next
        compaction (the bot runs one within minutes of a deletion, see
        ``Store.erase_pending``).
        """
        current = self.store.get_subscriber(chat_id)
        existed = self.store.delete_subscriber(chat_id)
        if current is not None:
            forget_unread_feeds(self.settings, self.store, current.feeds)
        self.on_change(chat_id)
        return existed

    def _existing(self, chat_id: int, create: tuple[str, int | None] | None) -> Subscriber:
        if create is not None and self.store.get_subscriber(chat_id) is None:
            return self.start(chat_id, *create)
        return self._require(chat_id)

    def _require(self, chat_id: int) -> Subscriber:
        current = self.store.get_subscriber(chat_id)
        if current is None:
            raise UserError(NOT_SUBSCRIBED)
        return current
