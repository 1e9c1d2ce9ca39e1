"""Configuration loading and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_settings
from bot.paths import BUNDLED_CONFIG, BUNDLED_SEEDS

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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["world"]\n'
         '[[feeds]]\nurl = "https://b.example/rss"\ntopics = ["world"]\n'
         '[[feeds]]\nurl = "ftp://c.example/rss"\ntopics = ["world"]\n',
         "feeds[2].url is not an http(s) URL"),
        (MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["sports"]\n',
         "feeds[0].topics[0] 'sports' is not a configured topic"),
        (MINIMAL + '[[feeds]]\nurl = "https://a.example/rss"\ntopics = ["world"]\n'
         'language = "klingon"\n', "feeds[0].language"),
        (MINIMAL + '[delivery]\ntime = "25:00"\n', "delivery.time must be a 24-hour time"),
        (MINIMAL + '[delivery]\ntimezone = "Mars/Olympus"\n', "delivery.timezone is not an IANA"),
        (MINIMAL + "[digest]\nmax_items = 0\n", "digest.max_items must be greater than zero"),
        (MINIMAL + '[digest]\nmax_items = "ten"\n', "digest.max_items must be a number"),
        (MINIMAL + "[fetch]\nallow_private_addresses = 1\n",
         "fetch.allow_private_addresses must be true or false"),
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
    assert settings.data_file == Path("/srv/data/newsdigest.json")
