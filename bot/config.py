"""Configuration: one TOML file, validated on load, secrets only from the environment.

``load_settings(path, environ)`` reads an explicit mapping for the environment so tests
pass a dict. Every error names the offending key, e.g.
``config error: feeds[2].url is not an http(s) URL``. Relative paths in the file are
relative to the file's own folder; a relative ``NEWSDIGEST_DATA_FILE`` is relative to the
current folder.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from summarizer.nlp.languages import GENERIC, normalize_language

from .i18n import LANGUAGES
from .paths import BUNDLED_CONFIG, BUNDLED_SEEDS, DEFAULT_DATA_FILE
from .timeparse import ScheduleError, parse_clock, parse_timezone
from .weburl import web_url_problem

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Telegram's ceiling with paid broadcasts; 30 without them.
MAX_MESSAGES_PER_SECOND = 1000
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A fetch's bounds (fetch.timeout_seconds, fetch.max_bytes), for the configuration and
# the command line alike.
MAX_FETCH_SECONDS = 300
MAX_FETCH_BYTES = 100_000_000
# How long articles are kept (older ones are pruned): a first digest cannot look further.
KEEP_ARTICLES = timedelta(days=14)
# The digest's sizes. More items would be a flood of messages (50 items are about a
# dozen); a longer summary would not leave its item room in one Telegram message.
DIGEST_LIMITS = {
    "max_items": (1, 50),
    "sentences": (1, 20),
    "max_chars": (80, 3000),
    "window_hours": (1, int(KEEP_ARTICLES.total_seconds()) // 3600),
}


DEFAULT_USER_AGENT = "newsdigest/0.1 (self-hosted news digest bot)"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse ``fetch.allowed_networks`` entries ("192.168.1.10", "10.0.0.0/8", "fd00::/8")."""
    networks: list[IPNetwork] = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{spec!r} is not an IP address or network") from exc
    return tuple(networks)


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""

    def __init__(self, message: str) -> None:
        super().__init__(f"config error: {message}")


@dataclass(frozen=True)
class Topic:
    """A topic subscribers can follow; ``labels`` are its label in other languages
    ((language, label) pairs: the ``labels`` table of its configuration)."""

    name: str
    label: str
    keywords: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def label_in(self, language: str) -> str:
        """The label a reader of ``language`` sees: theirs if given, else ``label``."""
        return next((text for code, text in self.labels if code == language), self.label)


@dataclass(frozen=True)
class Feed:
    """An RSS or Atom feed and what it is about."""

    url: str
    name: str
    topics: tuple[str, ...]
    language: str | None = None
    full_text: bool = True
    # A feed a chat added (/addfeed): its entries go only to the chats that added it.
    user_feed: bool = False


@dataclass(frozen=True)
class FetchSettings:
    """Bounds on every HTTP fetch."""

    timeout: float = 15.0
    max_bytes: int = 5_000_000
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = False
    allowed_networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestSettings:
    """Size and defaults of a digest."""

    max_items: int = 8
    sentences: int = 3
    max_chars: int = 600
    window_hours: int = 24
    skip_empty: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything newsdigest reads from its configuration and environment."""

    path: Path | None
    data_file: Path
    seeds_dir: Path | None
    feeds: tuple[Feed, ...]
    topics: tuple[Topic, ...]
    default_time: str = "08:00"
    default_timezone: str = "UTC"
    grace_hours: float = 2.0
    messages_per_second: float = 30.0
    ingest_interval_minutes: int = 30
    # False when `newsdigest worker` processes ingest (PostgreSQL only): the bot then
    # serves Telegram and delivers, and fetches nothing on its own.
    ingest_in_bot: bool = True
    max_entries_per_feed: int = 30
    use_seeds: bool = False
    # Chats may add their own feeds (/addfeed, OPML), up to this many each.
    user_feeds: bool = True
    max_feeds_per_chat: int = 20
    digest: DigestSettings = field(default_factory=DigestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    admin_chat_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    # Kept out of repr(): settings end up in logs, tracebacks and test failure output.
    token: str | None = field(default=None, repr=False)
    # A postgresql:// URL (storage.url or NEWSDIGEST_DATABASE_URL): the store lives in
    # PostgreSQL instead of data_file. Out of repr() too: it may hold a password.
    database_url: str | None = field(default=None, repr=False)
    api_base_url: str | None = None
    api_base_file_url: str | None = None

    def topic(self, name: str) -> Topic | None:
        """The topic with that name, if configured."""
        return next((t for t in self.topics if t.name == name), None)

    @property
    def topic_names(self) -> tuple[str, ...]:
        """Configured topic names, in file order."""
        return tuple(t.name for t in self.topics)


class _Reader:
    """Typed access to one TOML table, naming keys in errors."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python; a number key must not accept true/false.
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise ConfigError(f"{self.key(name)} must be a number, not {value!r}")
        if not isinstance(value, kind):
            expected = kind.__name__ if isinstance(kind, type) else "a number"
            raise ConfigError(f"{self.key(name)} must be {_article(expected)}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # TOML's nan and inf
            raise ConfigError(f"{self.key(name)} must be a number, not {value!r}")
        return value

    def _at_most(self, name: str, value: float, limit: float | None) -> None:
        if limit is not None and value > limit:
            shown = int(limit) if float(limit).is_integer() else limit
            raise ConfigError(f"{self.key(name)} must be at most {shown}, not {value!r}")

    def positive(self, name: str, default: float, at_most: float | None = None) -> Any:
        value = self.get(name, (int, float), default)
        if value <= 0:
            raise ConfigError(f"{self.key(name)} must be greater than zero")
        self._at_most(name, value, at_most)
        return value

    def count(self, name: str, default: int, at_most: int | None = None) -> int:
        """A whole number greater than zero (8.5 items or 2.0 sentences are refused)."""
        value = self.positive(name, default, at_most)
        if not isinstance(value, int):
            raise ConfigError(f"{self.key(name)} must be a whole number, not {value!r}")
        return value

    def nonnegative(self, name: str, default: float, at_most: float | None = None) -> float:
        value = self.get(name, (int, float), default)
        if value < 0:
            raise ConfigError(f"{self.key(name)} must be zero or more, not {value!r}")
        self._at_most(name, value, at_most)
        return float(value)

    def text(self, name: str, default: str) -> str:
        """A string that is neither blank nor holds control characters."""
        value: str = self.get(name, str, default)
        if not value.strip():
            raise ConfigError(f"{self.key(name)} must not be empty")
        if CONTROL.search(value):
            raise ConfigError(f"{self.key(name)} must not contain control characters")
        return value

    def table(self, name: str) -> _Reader:
        value = self.get(name, dict, {})
        return _Reader(value, self.key(name))

    def strings(self, name: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.get(name, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.key(name)}[{i}] must be a non-empty string")
        if required and not value:
            what = "is missing" if name not in self.data else "must not be empty"
            raise ConfigError(f"{self.key(name)} {what}")
        return tuple(item.strip() for item in value)

    def check_known(self, known: set[str]) -> None:
        for name in self.data:
            if name not in known:
                raise ConfigError(f"{self.key(name)} is not a known setting")


def _article(noun: str) -> str:
    names = {
        "str": "a string",
        "int": "a whole number",
        "bool": "true or false",
        "list": "a list",
        "dict": "a table",
        "float": "a number",
    }
    return names.get(noun, noun)


def _check_time(value: str, key: str) -> str:
    """The bot's own parser (``/time``): 07:30, 7:30, 7.30 and 7h30 all work."""
    try:
        return parse_clock(value)
    except ScheduleError:
        raise ConfigError(
            f"{key} must be a 24-hour time like 08:00 (7:30 and 7.30 work too), not {value!r}"
        ) from None


def _check_zone(value: str, key: str) -> str:
    """The bot's own parser (``/timezone``): Area/City names or UTC, in canonical spelling."""
    try:
        return parse_timezone(value)
    except ScheduleError as exc:
        hint = f" (did you mean {', '.join(exc.suggestions)}?)" if exc.suggestions else ""
        raise ConfigError(
            f"{key} is not an IANA time zone like Europe/Berlin: {value!r}{hint}"
        ) from None


def _check_url(value: str, key: str) -> str:
    problem = web_url_problem(value)
    if problem is not None:
        raise ConfigError(f"{key} {problem}")
    return value


def _resolve(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path).resolve()


def _named(table: str, i: int, raw: Mapping[str, Any], *names: str) -> str:
    """``feeds[3] (BBC World)``: an entry's index and, when it has one, its name."""
    label = next((raw[n] for n in names if isinstance(raw.get(n), str) and raw[n].strip()), "")
    label = " ".join(label.split())
    if not label:
        return f"{table}[{i}]"
    return f"{table}[{i}] ({label if len(label) <= 60 else label[:59] + '…'})"


def _feed_identity(url: str) -> str:
    """What makes two feed URLs the same feed: scheme and host are case-insensitive."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _data_file(path: Path, key: str) -> Path:
    if path.is_dir():
        raise ConfigError(
            f"{key} {path} is a folder; give the path of a file in it, such as "
            f"{path / 'newsdigest.json'}"
        )
    return path


def _chat_ids(reader: _Reader, name: str) -> frozenset[int]:
    values = reader.get(name, list, [])
    for i, item in enumerate(values):
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigError(f"{reader.key(name)}[{i}] must be a numeric chat id")
    return frozenset(values)


def _topics(root: _Reader) -> list[Topic]:
    topics: list[Topic] = []
    for i, raw in enumerate(root.get("topics", list, [])):
        if not isinstance(raw, dict):
            raise ConfigError(f"topics[{i}] must be a table with name, label and keywords")
        reader = _Reader(raw, f"topics[{i}]")
        reader.check_known({"name", "label", "labels", "keywords"})
        name = reader.get("name", str, "")
        if not TOPIC_NAME.match(name):
            raise ConfigError(
                f"topics[{i}].name must be lower-case letters, digits, - or _ (got {name!r})"
            )
        if any(t.name == name for t in topics):
            raise ConfigError(f"topics[{i}].name {name!r} is defined twice")
        reader = _Reader(raw, _named("topics", i, raw, "name"))
        # Without keywords a topic only gets the articles of feeds that declare it, which
        # is almost always a forgotten list rather than a choice.
        keywords = tuple(k.lower() for k in reader.strings("keywords", required=True))
        label = reader.text("label", name.title())
        topics.append(Topic(name, label, keywords, _labels(reader.table("labels"))))
    return topics


def _labels(labels: _Reader) -> tuple[tuple[str, str], ...]:
    """A topic's labels in other languages: ``{ de = "Welt", fr = "Monde" }``."""
    for code in labels.data:
        if code not in LANGUAGES:
            raise ConfigError(
                f"{labels.key(code)}: {code!r} is not a language of the bot "
                f"({', '.join(LANGUAGES)})"
            )
    return tuple((code, labels.text(code, "")) for code in labels.data)


def _feed(raw: Mapping[str, Any], where: str, topic_names: set[str]) -> Feed:
    reader = _Reader(raw, where)
    reader.check_known({"url", "name", "topics", "language", "full_text"})
    if "url" not in raw:
        raise ConfigError(f"{where}.url is missing")
    url = _check_url(reader.get("url", str, ""), f"{where}.url")
    feed_topics = reader.strings("topics", required=True)
    for j, topic in enumerate(feed_topics):
        if topic not in topic_names:
            raise ConfigError(f"{where}.topics[{j}] {topic!r} is not a configured topic")
    language = reader.get("language", str, None)
    if language is not None and normalize_language(language) == GENERIC:
        raise ConfigError(f"{where}.language {language!r} is not a supported language")
    return Feed(
        url=url,
        name=reader.get("name", str, urlsplit(url).netloc),
        topics=feed_topics,
        language=language,
        full_text=reader.get("full_text", bool, True),
    )


def _feeds(root: _Reader, topic_names: set[str]) -> list[Feed]:
    feeds: list[Feed] = []
    seen_urls: dict[str, str] = {}
    for i, raw in enumerate(root.get("feeds", list, [])):
        if not isinstance(raw, dict):
            raise ConfigError(f"feeds[{i}] must be a table with url, name and topics")
        where = _named("feeds", i, raw, "name", "url")
        feed = _feed(raw, where, topic_names)
        first = seen_urls.setdefault(_feed_identity(feed.url), where)
        if first != where:
            raise ConfigError(f"{where}.url {feed.url} is listed twice (also {first})")
        feeds.append(feed)
    return feeds


def _digest(root: _Reader) -> DigestSettings:
    digest = root.table("digest")
    digest.check_known({"max_items", "sentences", "max_chars", "window_hours", "skip_empty"})
    defaults = DigestSettings()
    sizes = {name: digest.count(name, getattr(defaults, name)) for name in DIGEST_LIMITS}
    for name, (low, high) in DIGEST_LIMITS.items():
        if not low <= sizes[name] <= high:
            raise ConfigError(f"digest.{name} must be between {low} and {high}, not {sizes[name]}")
    return DigestSettings(**sizes, skip_empty=digest.get("skip_empty", bool, False))


def _fetch(root: _Reader) -> FetchSettings:
    fetch = root.table("fetch")
    fetch.check_known(
        {
            "timeout_seconds",
            "max_bytes",
            "user_agent",
            "allow_private_addresses",
            "allowed_networks",
        }
    )
    networks = fetch.strings("allowed_networks")
    try:
        parse_networks(networks)
    except ValueError as exc:
        raise ConfigError(f"fetch.allowed_networks: {exc}") from None
    return FetchSettings(
        timeout=float(fetch.positive("timeout_seconds", 15.0, at_most=MAX_FETCH_SECONDS)),
        max_bytes=fetch.count("max_bytes", 5_000_000, at_most=MAX_FETCH_BYTES),
        user_agent=fetch.text("user_agent", FetchSettings.user_agent),
        allow_private_addresses=fetch.get("allow_private_addresses", bool, False),
        allowed_networks=networks,
    )


DATABASE_SCHEMES = ("postgresql://", "postgres://")


def _database_url(root: _Reader, environ: Mapping[str, str]) -> str | None:
    """The PostgreSQL URL, if the store lives in a database (the environment wins)."""
    storage = root.table("storage")
    key, value = "NEWSDIGEST_DATABASE_URL", environ.get("NEWSDIGEST_DATABASE_URL") or None
    if value is None:
        key, value = storage.key("url"), storage.get("url", str, None)
    if value is None:
        return None
    if not value.startswith(DATABASE_SCHEMES):
        # Never echo the value: it may hold a password.
        raise ConfigError(f"{key} must be a postgresql:// URL (postgresql://user@host/db)")
    if CONTROL.search(value):
        raise ConfigError(f"{key} must not contain control characters")
    try:
        urlsplit(value)
    except ValueError as exc:  # "Invalid IPv6 URL": the reason never holds the password
        raise ConfigError(f"{key} is not a valid URL ({exc})") from None
    return str(value)


def _api_url(environ: Mapping[str, str], name: str) -> str | None:
    """A Bot API server's address from the environment (a local Bot API server, or a test
    double), checked here: a mistyped one would otherwise have the bot retry it for good."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    problem = web_url_problem(value)
    if problem is None and "{token}" not in value and not urlsplit(value).path.endswith("/bot"):
        # The token is appended: without the path, it would be read as part of the host
        # or port, and an error naming that port would show its secret part.
        problem = "must end with /bot, as in http://127.0.0.1:8081/bot (the token follows it)"
    if problem is not None:
        raise ConfigError(f"{name} {problem}")
    return value


def _data_file_of(root: _Reader, base: Path, environ: Mapping[str, str]) -> Path:
    storage = root.table("storage")
    storage.check_known({"data_file", "url"})
    if environ.get("NEWSDIGEST_DATA_FILE"):
        # Typed in a shell, a relative path means one in the folder the command runs in.
        where = _resolve(Path.cwd(), environ["NEWSDIGEST_DATA_FILE"])
        return _data_file(where, "NEWSDIGEST_DATA_FILE")
    if "data_file" not in storage.data:
        # A file of the few settings one changes, kept anywhere, uses the data file the
        # shipped configuration uses (it made a data/ folder beside the file's folder).
        return _data_file(DEFAULT_DATA_FILE, "storage.data_file")
    return _data_file(_resolve(base, storage.text("data_file", "")), "storage.data_file")


def parse_settings(
    data: Mapping[str, Any], *, base: Path, path: Path | None, environ: Mapping[str, str]
) -> Settings:
    """Validate a parsed TOML document into ``Settings`` (one reader per table)."""
    root = _Reader(data, "")
    root.check_known(
        {"storage", "sources", "feeds", "topics", "delivery", "digest", "fetch", "bot"}
    )
    sources = root.table("sources")
    sources.check_known(
        {
            "seeds_dir",
            "use_seeds",
            "ingest_interval_minutes",
            "ingest_in_bot",
            "max_entries_per_feed",
            "user_feeds",
            "max_feeds_per_chat",
        }
    )
    # Unset, the sample articles are the bundled ones, wherever the file is (a file of only
    # the settings one changes, kept outside config/, pointed at a seeds/ beside it).
    seeds = sources.get("seeds_dir", str, str(BUNDLED_SEEDS))
    topics = _topics(root)
    delivery = root.table("delivery")
    delivery.check_known({"time", "timezone", "grace_hours", "messages_per_second"})
    rate = float(delivery.positive("messages_per_second", 30.0))
    if rate > MAX_MESSAGES_PER_SECOND:
        raise ConfigError(f"delivery.messages_per_second must be at most {MAX_MESSAGES_PER_SECOND}")
    bot = root.table("bot")
    bot.check_known({"admin_chat_ids", "allowed_chat_ids"})
    ingest_in_bot = sources.get("ingest_in_bot", bool, True)
    database_url = _database_url(root, environ)
    if not ingest_in_bot and database_url is None:
        raise ConfigError(
            "sources.ingest_in_bot = false needs the store in PostgreSQL (storage.url or "
            "NEWSDIGEST_DATABASE_URL): a worker cannot share the data file, and nothing "
            "would fetch the feeds"
        )
    return Settings(
        path=path,
        data_file=_data_file_of(root, base, environ),
        seeds_dir=_resolve(base, seeds) if seeds else None,
        feeds=tuple(_feeds(root, {t.name for t in topics})),
        topics=tuple(topics),
        default_time=_check_time(delivery.get("time", str, "08:00"), "delivery.time"),
        default_timezone=_check_zone(delivery.get("timezone", str, "UTC"), "delivery.timezone"),
        grace_hours=delivery.nonnegative("grace_hours", 2.0, at_most=24),
        messages_per_second=rate,
        ingest_interval_minutes=sources.count("ingest_interval_minutes", 30, at_most=24 * 60),
        ingest_in_bot=ingest_in_bot,
        max_entries_per_feed=sources.count("max_entries_per_feed", 30),
        use_seeds=sources.get("use_seeds", bool, False),
        user_feeds=sources.get("user_feeds", bool, True),
        max_feeds_per_chat=sources.count("max_feeds_per_chat", 20),
        digest=_digest(root),
        fetch=_fetch(root),
        admin_chat_ids=_chat_ids(bot, "admin_chat_ids"),
        allowed_chat_ids=_chat_ids(bot, "allowed_chat_ids"),
        token=(environ.get("TELEGRAM_BOT_TOKEN") or "").strip() or None,  # a pasted newline too
        database_url=database_url,
        api_base_url=_api_url(environ, "TELEGRAM_API_BASE_URL"),
        api_base_file_url=_api_url(environ, "TELEGRAM_API_BASE_FILE_URL"),
    )


def load_settings(path: str | Path, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and validate the configuration file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if "topics" not in data and path.resolve() != BUNDLED_CONFIG.resolve():
        data = {**_shipped_topics_and_feeds(data), **data}
    return parse_settings(data, base=path.resolve().parent, path=path, environ=environ)


def _shipped_topics_and_feeds(data: Mapping[str, Any]) -> dict[str, Any]:
    """What a file without ``[[topics]]`` takes from the shipped one: its topics, and its
    feeds too unless the file lists its own (they name the shipped topics), so a file of
    only the settings an operator changed gives the bot the README promises."""
    shipped = tomllib.loads(BUNDLED_CONFIG.read_text(encoding="utf-8"))
    taken = {"topics": shipped.get("topics", [])}
    if "feeds" not in data:
        taken["feeds"] = shipped.get("feeds", [])
    return taken
