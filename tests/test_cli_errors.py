"""Every ``newsdigest`` command, given bad arguments or a broken environment, answers with
one line on standard error and the right exit code: 2 for what the caller gave
(arguments, files, configuration), 1 for failures around the command. Never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.paths import PROJECT_ROOT

BAD_CALLS: list[tuple[list[str], int, str]] = [
    # (arguments, exit code, a fragment of the one line)
    ([], 2, "required: COMMAND"),
    (["frobnicate"], 2, "invalid choice"),
    (["--config", "{tmp}/missing.toml", "digest"], 2, "cannot read"),
    (["--config", "{tmp}/broken.toml", "digest"], 2, "not valid TOML"),
    (["--config", "{tmp}/noseeds.toml", "digest"], 2, "seeds_dir) does not exist"),
    (["digest", "--timezone", "Mars/Olympus"], 2, "not a time zone"),
    (["digest", "--timezone", "Berlin"], 2, "Did you mean Europe/Berlin?"),
    (["digest", "--hours", "99999999999"], 2, "--hours: must be from 1"),
    (["digest", "--hours", "-5"], 2, "--hours: must be from 1"),
    (["digest", "--hours", "soon"], 2, "not a whole number"),
    (["digest", "--items", "0"], 2, "--items: must be from 1"),
    (["digest", "--items", "-3"], 2, "--items: must be from 1"),
    (["digest", "--items", "51"], 2, "--items: must be from 1 to 50, not 51"),
    (["digest", "--topics", "astrology"], 2, "unknown topic astrology"),
    # Found by a stranger: it said "newsdigest: Keywords are..." where every other bad
    # option names the command and the option, and "I know. (see" ran two sentences on.
    (["digest", "--follow", "a.b"], 2, "newsdigest digest: argument --follow: Keywords are plain"),
    (["digest", "--exclude", "x,🙂"], 2, "--exclude: Keywords are plain words"),
    (["digest", "--timezone", "Mars/X"], 2, "“Mars/X” is not a time zone I know (see newsdigest"),
    (["summarize", "{tmp}/missing.txt"], 2, "no such file"),
    (["summarize", "{tmp}"], 2, "is a folder"),
    (["summarize", "{tmp}/binary.bin"], 2, "binary file"),
    (["summarize", "/dev/zero"], 2, "is not a file"),  # endless: refused, not read
    (["summarize", "{tmp}/huge.txt"], 2, "over 10 MB"),
    (["summarize", "{tmp}/empty.txt"], 2, "empty"),
    (["summarize", "ftp://example.org/a.txt"], 2, "only http(s) links"),
    (["summarize", "file:///etc/hostname"], 2, "only http(s) links"),
    (["summarize", "http://127.0.0.1:9/page"], 2, "--allow-private-addresses"),
    (["summarize", "http://[::1"], 2, "not a valid URL"),
    (["summarize", "--method", "nope"], 2, "not a method"),
    (["summarize", "--language", "klingon"], 2, "not a language I know"),
    (["summarize", "--sentences", "0"], 2, "--sentences: must be from 1"),
    (["summarize", "--max-chars", "-1"], 2, "--max-chars: must be from"),
    (["summarize", "--timeout", "-1"], 2, "--timeout: must be above 0"),
    (["summarize", "--max-bytes", "-5"], 2, "--max-bytes: must be from 1"),
    (
        ["summarize", "http://127.0.0.1:9/page", "--allow-private-addresses", "--timeout", "2"],
        1,
        "could not reach",
    ),
    (["eval", "{tmp}/missing.jsonl"], 2, "cannot read"),
    (["eval", "{tmp}/binary.bin"], 2, "not a UTF-8 text file"),
    (["eval", "{tmp}/empty.txt"], 2, "holds no evaluation records"),
    (["eval", "{tmp}/bad.jsonl"], 2, 'bad.jsonl:1: not an evaluation record (it has no "summary")'),
    (["eval", "{tmp}/list.jsonl"], 2, "a JSON object with"),
    (["eval", "{tmp}/numbers.jsonl"], 2, 'its "text" is not a text'),
    # Found by a stranger: an empty text scored 0 and pulled the mean down, unsaid.
    (["eval", "{tmp}/blank.jsonl"], 2, 'blank.jsonl:2: not an evaluation record (its "text" is'),
    (["eval", "{tmp}/bad.jsonl", "--limit", "-1"], 2, "--limit: must be from 1"),
    (["eval", "{tmp}/bad.jsonl", "--methods", "nope"], 2, "nope"),
    (["run"], 2, "TELEGRAM_BOT_TOKEN is not set"),
    (["run", "--port", "70000"], 2, "--port: must be from 1"),
    (["run", "--port", "8443"], 2, "--port: for webhook mode only; give --webhook-url too"),
    (["run", "--listen", "0.0.0.0", "--webhook-path", "x"], 2, "--listen, --webhook-path: for"),
    (["chat", "--data-file", "/proc/newsdigest/demo.json"], 1, "cannot create"),
    (["ingest", "--seeds-only"], 2, "unrecognized arguments"),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """The bad inputs the calls above name."""
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "huge.txt").write_bytes(b"Words in a sentence. " * 500_000)
    (tmp_path / "bad.jsonl").write_text('{"text": "no summary"}\n')
    (tmp_path / "list.jsonl").write_text("[1]\n")
    (tmp_path / "numbers.jsonl").write_text('{"text": 1, "summary": 2}\n')
    (tmp_path / "blank.jsonl").write_text(
        '{"text": "The council met.", "summary": "It met."}\n{"text": " ", "summary": "x"}\n'
    )
    (tmp_path / "broken.toml").write_text("[storage\n")
    (tmp_path / "noseeds.toml").write_text(
        f'[storage]\ndata_file = "{tmp_path}/nd.json"\n[sources]\nseeds_dir = "{tmp_path}/none"\n'
    )
    return tmp_path


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``main(argv)`` in this process: its exit code and standard error."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    BAD_CALLS,
    ids=[" ".join(a) or "no-arguments" for a, _, _ in BAD_CALLS],
)
def test_bad_input_is_one_line_with_the_right_exit_code(
    argv: list[str],
    code: int,
    fragment: str,
    files: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression (issue 9: 30-line tracebacks, silently accepted bad values): each bad
    call prints one line naming the problem and exits 2 (input) or 1 (environment)."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("NEWSDIGEST_DATA_FILE", str(files / "newsdigest.json"))
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    exit_code, err = run_main(argv, capsys)
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert exit_code == code, err


def _cli(*args: str, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """Regression (issue 9): ``newsdigest digest | head -1`` ends without "Broken pipe" or
    a traceback, and with exit code 0, like other Unix tools."""
    env = {**os.environ, "NEWSDIGEST_DATA_FILE": str(tmp_path / "newsdigest.json")}
    proc = subprocess.Popen(
        _cli("digest"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=PROJECT_ROOT
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Broken pipe" not in err
    assert "Traceback" not in err


def test_ingest_exits_non_zero_when_every_source_failed(tmp_path: Path) -> None:
    """Regression (issue 9): an ingest in which every feed failed exits 1 and names them;
    the same run's counts still go to standard output."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\ndata_file = "newsdigest.json"\n'
        "[fetch]\nallow_private_addresses = true\ntimeout_seconds = 3\n"
        '[[topics]]\nname = "world"\nkeywords = ["minister"]\n'
        '[[feeds]]\nurl = "http://127.0.0.1:9/rss"\nname = "Closed port"\ntopics = ["world"]\n'
    )
    result = subprocess.run(
        _cli("--config", str(config), "ingest"),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Closed port: FAILED" in result.stdout
    assert "1 source(s) failed: Closed port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("token", ["garbage", "123456:has space", ":abc", "12345"])
def test_a_token_that_is_not_a_bot_token_is_refused_without_showing_it(
    token: str, files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` with a TELEGRAM_BOT_TOKEN that is not shaped like one (it retried forever)
    says so in one line, exit 2, without printing the secret."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    monkeypatch.setenv("NEWSDIGEST_DATA_FILE", str(files / "newsdigest.json"))
    code, err = run_main(["run"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "newsdigest: TELEGRAM_BOT_TOKEN does not look like a bot token (@BotFather gives one "
        "like 123456789:AAH..., digits, a colon, then letters): check what was exported"
    ]
    assert token not in err.replace("123456789", "")
