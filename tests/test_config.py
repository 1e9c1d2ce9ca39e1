"""Configuration loading and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_settings
from bot.i18n import LANGUAGES
from bot.paths import BUNDLED_CONFIG, BUNDLED_SEEDS, DEFAULT_DATA_FILE
from bot.timeparse import ScheduleError, parse_clock, parse_timezone

MINIMAL = """
[[topics]]
name = "world"
keywords = ["minister"]
"""


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "newsdigest.toml"
    path.write_text(text)
    return load_settings(path, environ or {})


def test_shipped_config_is_valid() -> None:
    """The shipped file loads, has every topic with a feed, and points at the seeds."""
    settings = load_settings(BUNDLED_CONFIG, {})
    assert settings.seeds_dir == BUNDLED_SEEDS
    assert {t for f in settings.feeds for t in f.topics} == set(settings.topic_names)
    assert settings.fetch.allow_private_addresses is False
    assert settings.token is None


def test_secrets_and_overrides_come_from_the_environment(tmp_path: Path) -> None:
    """The token and API base URL are read from the environment mapping, never the file."""
    settings = _load(
        tmp_path,
        MINIMAL,
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "NEWSDIGEST_DATA_FILE": "/tmp/x.json",
        },
    )
    assert settings.token == "123:abc"
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.data_file == Path("/tmp/x.json")


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    """data_file and seeds_dir resolve against the config file's folder, not the cwd."""
    settings = _load(tmp_path, '[storage]\ndata_file = "db/nd.json"\n' + MINIMAL)
    assert settings.data_file == tmp_path / "db" / "nd.json"


def test_a_relative_data_file_in_the_environment_is_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEWSDIGEST_DATA_FILE=data/x.json, typed in a shell, means ./data/x.json there, as
    any command's path does; a path in the file stays relative to the file."""
    here = tmp_path / "where-the-command-runs"
    here.mkdir()
    monkeypatch.chdir(here)
    settings = _load(tmp_path, MINIMAL, {"NEWSDIGEST_DATA_FILE": "data/x.json"})
    assert settings.data_file == here / "data" / "x.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["world"]\n'
            '[[feeds]]\nurl = "https://b.example/rss"\ntopics = ["world"]\n'
            '[[feeds]]\nurl = "ftp://c.example/rss"\ntopics = ["world"]\n',
            "feeds[2] (ftp://c.example/rss).url is not an http(s) URL",
        ),
        (
            MINIMAL + '[[feeds]]\nurl = "http://127.0.0.1:99999/feed"\ntopics = ["world"]\n',
            "feeds[0] (http://127.0.0.1:99999/feed).url is not a valid URL",
        ),
        (
            MINIMAL + '[[feeds]]\nurl = "http://exa mple.org/feed"\ntopics = ["world"]\n',
            "feeds[0] (http://exa mple.org/feed).url names no valid site",
        ),
        (
            MINIMAL + '[storage]\nurl = "postgresql://u:secret@[bad/db"\n',
            "storage.url is not a valid URL (Invalid IPv6 URL)",
        ),
        (
            MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["sports"]\n',
            "feeds[0] (https://a.example/rss).topics[0] 'sports' is not a configured topic",
        ),
        (
            MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["world"]\n'
            'name = "Wire"\nlanguage = "klingon"\n',
            "feeds[0] (Wire).language",
        ),
        (MINIMAL + '[delivery]\ntime = "25:00"\n', "delivery.time must be a 24-hour time"),
        (MINIMAL + '[delivery]\ntimezone = "Mars/Olympus"\n', "delivery.timezone is not an IANA"),
        (MINIMAL + "[digest]\nmax_items = 0\n", "digest.max_items must be greater than zero"),
        (MINIMAL + '[digest]\nmax_items = "ten"\n', "digest.max_items must be a number"),
        (
            '[[topics]]\nname = "world"\nkeywords = ["war"]\nlabels = { xx = "Welt" }\n',
            "topics[0] (world).labels.xx: 'xx' is not a language of the bot",
        ),
        (
            '[[topics]]\nname = "world"\nkeywords = ["war"]\nlabels = { de = "" }\n',
            "topics[0] (world).labels.de must not be empty",
        ),
        (
            # Found by a stranger: accepted, and the bot then never fetched anything.
            MINIMAL + "[sources]\ningest_in_bot = false\n",
            "sources.ingest_in_bot = false needs the store in PostgreSQL",
        ),
        (MINIMAL + "[fetch]\ntimeout_seconds = nan\n", "fetch.timeout_seconds must be a number"),
        (MINIMAL + "[fetch]\ntimeout_seconds = inf\n", "fetch.timeout_seconds must be a number"),
        (MINIMAL + "[fetch]\ntimeout_seconds = 301\n", "fetch.timeout_seconds must be at most 300"),
        (
            MINIMAL + "[fetch]\nmax_bytes = 100_000_001\n",
            "fetch.max_bytes must be at most 100000000",
        ),
        (MINIMAL + "[delivery]\ngrace_hours = 1e11\n", "delivery.grace_hours must be at most 24"),
        (MINIMAL + "[delivery]\ngrace_hours = -inf\n", "delivery.grace_hours must be a number"),
        (
            MINIMAL + "[sources]\ningest_interval_minutes = 1441\n",
            "sources.ingest_interval_minutes must be at most 1440",
        ),
        (MINIMAL + "[digest]\nmax_items = 51\n", "digest.max_items must be between 1 and 50"),
        (MINIMAL + "[digest]\nsentences = 21\n", "digest.sentences must be between 1 and 20"),
        (MINIMAL + "[digest]\nmax_chars = 79\n", "digest.max_chars must be between 80 and 3000"),
        (MINIMAL + "[digest]\nmax_chars = 3001\n", "digest.max_chars must be between 80 and 3000"),
        (
            # more than the articles are kept; a window of 10^14 hours overflowed the clock
            MINIMAL + "[digest]\nwindow_hours = 100000000000000\n",
            "digest.window_hours must be between 1 and 336, not 100000000000000",
        ),
        (
            MINIMAL + "[fetch]\nallow_private_addresses = 1\n",
            "fetch.allow_private_addresses must be true or false",
        ),
        (MINIMAL + '[bot]\nadmin_chat_ids = ["me"]\n', "bot.admin_chat_ids[0] must be a numeric"),
        (MINIMAL + "[fetch]\ntimeout = 3\n", "fetch.timeout is not a known setting"),
        ('[[topics]]\nname = "World News"\n', "topics[0].name must be lower-case"),
        (MINIMAL + MINIMAL, "topics[1].name 'world' is defined twice"),
        ("[storage\n", "is not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    """Each invalid setting is reported with its key path and a plain explanation."""
    with pytest.raises(ConfigError, match=r"^config error: .*" + re.escape(message)):
        _load(tmp_path, text)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing file is a one-line error naming the path."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.toml", {})


def test_defaults_without_any_table() -> None:
    """An empty document gives working defaults."""
    settings = parse_settings({}, base=Path("/srv/nd"), path=None, environ={})
    assert settings.default_time == "08:00"
    assert settings.digest.max_chars == 600
    # Found by strangers: a file of a few settings kept elsewhere made a data/ folder
    # beside its folder and looked for ../seeds there; it uses what the shipped
    # configuration uses, wherever the file is.
    assert settings.data_file == DEFAULT_DATA_FILE
    assert settings.seeds_dir == BUNDLED_SEEDS
    named = parse_settings(
        {"storage": {"data_file": "../data/x.json"}}, base=Path("/srv/nd"), path=None, environ={}
    )
    assert named.data_file == Path("/srv/data/x.json")  # a path given is the file's own


FEED_A = '[[feeds]]\nurl = "https://a.example/rss"\nname = "Wire A"\ntopics = ["world"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            MINIMAL + FEED_A + FEED_A.replace("Wire A", "BBC World"),
            "config error: feeds[1] (BBC World).url https://a.example/rss is listed twice "
            "(also feeds[0] (Wire A))",
            id="duplicate-feed-url",
        ),
        pytest.param(
            MINIMAL + FEED_A + '[[feeds]]\nurl = "HTTPS://A.EXAMPLE/rss"\ntopics = ["world"]\n',
            "config error: feeds[1] (HTTPS://A.EXAMPLE/rss).url HTTPS://A.EXAMPLE/rss is "
            "listed twice (also feeds[0] (Wire A))",
            id="duplicate-feed-url-other-case",
        ),
        pytest.param(
            MINIMAL + "[digest]\nmax_items = 8.5\n",
            "config error: digest.max_items must be a whole number, not 8.5",
            id="fractional-count",
        ),
        pytest.param(
            MINIMAL + "[sources]\ningest_interval_minutes = 30.0\n",
            "config error: sources.ingest_interval_minutes must be a whole number, not 30.0",
            id="float-count",
        ),
        pytest.param(
            MINIMAL + "[delivery]\ngrace_hours = -3\n",
            "config error: delivery.grace_hours must be zero or more, not -3",
            id="negative-grace",
        ),
        pytest.param(
            MINIMAL + '[fetch]\nuser_agent = ""\n',
            "config error: fetch.user_agent must not be empty",
            id="empty-user-agent",
        ),
        pytest.param(
            MINIMAL + '[fetch]\nuser_agent = "   "\n',
            "config error: fetch.user_agent must not be empty",
            id="blank-user-agent",
        ),
        pytest.param(
            MINIMAL + '[fetch]\nuser_agent = "bot/1\\r\\nX-Injected: 1"\n',
            "config error: fetch.user_agent must not contain control characters",
            id="header-injection-user-agent",
        ),
        pytest.param(
            MINIMAL + '[[topics]]\nname = "science"\nkeywords = []\n',
            "config error: topics[1] (science).keywords must not be empty",
            id="topic-without-keywords",
        ),
        pytest.param(
            MINIMAL + '[[topics]]\nname = "science"\n',
            "config error: topics[1] (science).keywords is missing",
            id="topic-keywords-missing",
        ),
        pytest.param(
            MINIMAL + FEED_A + '[[feeds]]\nurl = "https://b.example/rss"\nname = "BBC World"\n'
            "topics = []\n",
            "config error: feeds[1] (BBC World).topics must not be empty",
            id="feed-without-topics",
        ),
        pytest.param(
            MINIMAL + '[[feeds]]\nurl = "https://b.example/rss"\n',
            "config error: feeds[0] (https://b.example/rss).topics is missing",
            id="feed-topics-missing-named-by-url",
        ),
        pytest.param(
            MINIMAL + '[[feeds]]\nname = "Nameless Wire"\ntopics = ["world"]\n',
            "config error: feeds[0] (Nameless Wire).url is missing",
            id="feed-url-missing-named-by-name",
        ),
        pytest.param(
            MINIMAL + '[[feeds]]\nurl = "https://b.example/rss"\ntopics = ["world"]\nfull = 1\n',
            "config error: feeds[0] (https://b.example/rss).full is not a known setting",
            id="unknown-feed-key",
        ),
    ],
)
def test_silently_accepted_values_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """Values that used to load and misbehave later are refused at start, in one line
    naming the key, and a feed by its name (or URL) as well as its position."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_a_data_file_that_is_a_folder_has_its_own_message(tmp_path: Path) -> None:
    """A folder given as the data file is named as such (with a file to use instead), for
    the key in the file and for the environment override, instead of the advice for a
    corrupt file."""
    folder = tmp_path / "data"
    folder.mkdir()
    expected = f"is a folder; give the path of a file in it, such as {folder / 'newsdigest.json'}"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[storage]\ndata_file = "data"\n' + MINIMAL)
    assert str(caught.value) == f"config error: storage.data_file {folder} {expected}"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, MINIMAL, {"NEWSDIGEST_DATA_FILE": str(folder)})
    assert str(caught.value) == f"config error: NEWSDIGEST_DATA_FILE {folder} {expected}"


def test_repr_of_the_settings_never_shows_the_token(tmp_path: Path) -> None:
    """The token is read, but neither repr() nor str() of the settings contains it (they
    end up in logs and tracebacks)."""
    token = "123456:AAH-secret-token-value"
    settings = _load(tmp_path, MINIMAL, {"TELEGRAM_BOT_TOKEN": token})
    assert settings.token == token
    assert token not in repr(settings)
    assert token not in str(settings)
    assert "secret" not in f"{settings!r} {settings}"


@pytest.mark.parametrize(
    "text",
    [
        "7.30",
        "7:30",
        "07:30",
        "7h30",
        " 7 : 30 ",
        "23:59",
        "0:00",
        "24:00",
        "7:60",
        "7",
        "",
        "730",
        "7:3",
        "12:30pm",
        "seven",
    ],
)
def test_delivery_time_accepts_what_time_accepts(tmp_path: Path, text: str) -> None:
    """delivery.time and the bot's /time use one parser: the same text is accepted by
    both (as the same time) or refused by both."""
    config = MINIMAL + f'[delivery]\ntime = "{text}"\n'
    try:
        expected = parse_clock(text)
    except ScheduleError:
        with pytest.raises(ConfigError, match=r"^config error: delivery\.time must be a 24-hour"):
            _load(tmp_path, config)
    else:
        assert _load(tmp_path, config).default_time == expected


@pytest.mark.parametrize(
    "text",
    [
        "Europe/Berlin",
        "europe/berlin",
        "America/New York",
        "UTC",
        "utc",
        "Etc/UTC",
        "EST5EDT",
        "CET",
        "GMT",
        "Japan",
        "Europe",
        "Berlin",
        "Mars/Olympus",
        "",
        "../etc/passwd",
        "x" * 300,
    ],
)
def test_delivery_timezone_accepts_what_timezone_accepts(tmp_path: Path, text: str) -> None:
    """delivery.timezone and the bot's /timezone use one parser: the same name is accepted
    by both (in the same canonical spelling) or refused by both, old-style names like
    EST5EDT included, and a folder of the tz database ("Europe") is an error, not a crash."""
    config = MINIMAL + f'[delivery]\ntimezone = "{text}"\n'
    try:
        expected = parse_timezone(text)
    except ScheduleError:
        with pytest.raises(ConfigError, match=r"^config error: delivery\.timezone is not an IANA"):
            _load(tmp_path, config)
    else:
        assert _load(tmp_path, config).default_timezone == expected


def test_old_style_zone_is_refused_with_its_city(tmp_path: Path) -> None:
    """EST5EDT is refused by the config and by /timezone alike, and both suggest the city
    the tz database links it to."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, MINIMAL + '[delivery]\ntimezone = "EST5EDT"\n')
    assert str(caught.value) == (
        "config error: delivery.timezone is not an IANA time zone like Europe/Berlin: "
        "'EST5EDT' (did you mean America/New_York?)"
    )
    with pytest.raises(ScheduleError, match=r"old-style zone name.*Did you mean America/New_York"):
        parse_timezone("est5edt")


def test_the_database_url_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    """storage.url picks PostgreSQL; NEWSDIGEST_DATABASE_URL wins over it; neither repr()
    nor an error shows the URL, which may hold a password."""
    url = "postgresql://bot:s3cret@db.example/news"
    text = f'[storage]\nurl = "{url}"\n'
    assert _load(tmp_path, text, {}).database_url == url
    other = "postgresql://bot@/news?host=/run/pg"
    settings = _load(tmp_path, text, {"NEWSDIGEST_DATABASE_URL": other})
    assert settings.database_url == other
    assert "s3cret" not in repr(_load(tmp_path, text, {}))
    assert _load(tmp_path, MINIMAL, {}).database_url is None
    with pytest.raises(ConfigError, match=r"storage\.url must be a postgresql:// URL") as caught:
        _load(tmp_path, '[storage]\nurl = "mysql://bot:s3cret@db/news"\n', {})
    assert "s3cret" not in str(caught.value)


def test_a_database_url_that_does_not_parse_is_refused_without_its_password(
    tmp_path: Path,
) -> None:
    """Found by an operator: it said 'unexpected error (ValueError: Invalid IPv6 URL)'."""
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, MINIMAL, {"NEWSDIGEST_DATABASE_URL": "postgresql://u:secret@[bad/db"})
    assert "NEWSDIGEST_DATABASE_URL is not a valid URL (Invalid IPv6 URL)" in str(refused.value)
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("notaurl", "is not an http(s) URL"),
        ("ftp://127.0.0.1/bot", "is not an http(s) URL"),
        ("http://", "names no site"),
        ("http://127.0.0.1:99999/bot", "is not a valid URL (Port out of range 0-65535)"),
        # Found by a stranger: the token, appended, was read as the port, and the error
        # naming that port showed the token's secret part in the log.
        (
            "https://api.example",
            "must end with /bot, as in http://127.0.0.1:8081/bot (the token follows it)",
        ),
        ("http://127.0.0.1:8081/", "must end with /bot"),
    ],
)
@pytest.mark.parametrize("name", ["TELEGRAM_API_BASE_URL", "TELEGRAM_API_BASE_FILE_URL"])
def test_a_bot_api_address_that_is_no_web_address_is_refused(
    tmp_path: Path, name: str, value: str, reason: str
) -> None:
    """Found by a stranger: the bot took "notaurl" and retried it for good."""
    with pytest.raises(ConfigError, match=f"{name} {re.escape(reason)}"):
        _load(tmp_path, MINIMAL, {name: value})


def test_a_bot_api_address_is_kept_without_the_spaces_around_it(tmp_path: Path) -> None:
    settings = _load(tmp_path, MINIMAL, {"TELEGRAM_API_BASE_URL": " http://127.0.0.1:8081/bot\n"})
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.api_base_file_url is None
    templated = "http://127.0.0.1:8081/bot{token}/test"  # PTB puts the token in its place
    assert _load(tmp_path, MINIMAL, {"TELEGRAM_API_BASE_URL": templated}).api_base_url == templated


def test_a_file_without_topics_takes_the_shipped_topics_and_feeds(tmp_path: Path) -> None:
    """Found by an operator: a short file of only the settings they changed started a bot
    with no topics and no feeds, while the README gives the shipped ones as the defaults.
    A file without ``[[topics]]`` takes the shipped topics, and their feeds unless it
    lists its own; ``topics = []`` still means none."""
    shipped = load_settings(BUNDLED_CONFIG, {})
    assert len(shipped.topics) == 7
    assert len(shipped.feeds) == 17
    short = _load(tmp_path, "[digest]\nmax_items = 5\n")
    assert (short.topics, short.feeds, short.digest.max_items) == (
        shipped.topics,
        shipped.feeds,
        5,
    )
    own_feed = _load(tmp_path, '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["world"]\n')
    assert own_feed.topics == shipped.topics
    assert [f.url for f in own_feed.feeds] == ["https://a.example/rss"]
    assert _load(tmp_path, MINIMAL).feeds == ()  # topics of its own: the shipped feeds name others
    empty = _load(tmp_path, "topics = []\nfeeds = []\n")
    assert (empty.topics, empty.feeds) == ((), ())


def test_topic_labels_in_other_languages(tmp_path: Path) -> None:
    """A topic's label in the reader's language, else its label; the shipped topics are
    labelled in every language of the bot."""
    text = (
        '[[topics]]\nname = "world"\nlabel = "World"\nkeywords = ["war"]\n'
        'labels = { de = "Welt" }\n'
    )
    [world] = _load(tmp_path, text).topics
    assert (world.label_in("de"), world.label_in("fr"), world.label_in("en")) == (
        "Welt",
        "World",
        "World",
    )
    shipped = load_settings(BUNDLED_CONFIG, {})
    for topic in shipped.topics:
        assert {code for code, _label in topic.labels} == set(LANGUAGES) - {"en"}, topic.name
