"""The ``newsdigest`` command line: summarize and eval."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.wording import counted

EVAL_ROWS = [
    {
        "id": "t1",
        "title": "Harbour reopens",
        "text": "The harbour reopened on Monday after a week of storms.\n\n"
        "Ships queued outside the port for days. Officials said repairs cost millions. "
        "Fishermen welcomed the news.",
        "summary": "The harbour reopened on Monday after a week of storms.",
    },
    {
        "id": "t2",
        "title": "School budget",
        "text": "The council approved a larger school budget. Teachers will get new books. "
        "Parents had campaigned for months.\n\nThe vote was close.",
        "summary": "The council approved a larger school budget.\nParents had campaigned.",
    },
]


def test_summarize_the_bundled_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """With no argument the bundled seed is summarized: title, then three bullet sentences."""
    assert main(["summarize"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Netanyahu and Trump")
    bullets = [line for line in out if line.startswith("- ")]
    assert len(bullets) == 3
    assert not any("Reading time" in line or line == "Alliance" for line in out)


def test_summarize_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-`` reads pasted text from standard input."""
    text = "The council met on Tuesday. It approved the budget. Critics were unhappy."
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["summarize", "-", "--sentences", "1"]) == 0
    assert capsys.readouterr().out.count("- ") == 1


@pytest.fixture
def page_server() -> Iterator[str]:
    """An article page served from 127.0.0.1."""
    page = (
        b"<html lang='en'><head><title>Bridge opens</title></head><body><article>"
        b"<h1>Bridge opens</h1><p>The new bridge opened to traffic on Sunday after four years "
        b"of work. Thousands of people walked across it in the morning.</p><p>The mayor said "
        b"the bridge would cut travel times by half for commuters from the east side.</p>"
        b"</article></body></html>"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bridge"
    server.shutdown()
    server.server_close()


def test_summarize_url_from_loopback(page_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A URL is fetched and its main text summarized (loopback allowed explicitly)."""
    assert main(["summarize", page_server, "--allow-private-addresses", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Bridge opens")
    assert "The new bridge opened to traffic on Sunday" in out


def test_summarize_takes_what_the_options_do_not_say_from_the_configuration(
    page_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a stranger: `summarize` used its own defaults (15 s, 3 sentences, links
    to loopback refused) whatever the configuration given with --config said."""
    config = tmp_path / "mine.toml"
    config.write_text(
        '[storage]\ndata_file = "data.json"\n[digest]\nsentences = 1\n'
        "[fetch]\nallow_private_addresses = true\n"
    )
    assert main(["--config", str(config), "summarize", page_server]) == 0
    bullets = [line for line in capsys.readouterr().out.splitlines() if line.startswith("- ")]
    assert len(bullets) == 1
    assert main(["--config", str(config), "summarize", page_server, "-n", "2"]) == 0
    assert len([line for line in capsys.readouterr().out.splitlines() if line[:2] == "- "]) == 2


def test_summarize_gives_up_after_the_configured_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fetch.timeout_seconds bounds a fetch of `summarize` (a server that never answers)."""
    from tests.feedserver import FeedServer, Reply

    config = tmp_path / "mine.toml"
    config.write_text(
        '[storage]\ndata_file = "data.json"\n'
        "[fetch]\nallow_private_addresses = true\ntimeout_seconds = 1\n"
    )
    with FeedServer() as server:
        url = server.route("/slow", Reply(body=b"<p>late</p>", delay=4))
        assert main(["--config", str(config), "summarize", url]) != 0
    assert "no complete answer within 1 s" in capsys.readouterr().err


def test_config_and_verbose_are_taken_after_the_command_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a stranger: "newsdigest digest --config X" and "run -v" were refused as
    unrecognized arguments; after the command's name, they win over the ones before."""
    config = tmp_path / "mine.toml"
    config.write_text('[storage]\ndata_file = "data.json"\n[digest]\nsentences = 1\n')
    page = tmp_path / "page.txt"
    page.write_text(
        "The council met on Monday. It voted to rebuild the pier. Work starts in spring. "
        "Crews welcomed the plan. The cost is shared with the region."
    )
    assert (
        main(["--config", "/nonexistent.toml", "summarize", str(page), "--config", str(config)])
        == 0
    )
    assert len([line for line in capsys.readouterr().out.splitlines() if line[:2] == "- "]) == 1
    assert main(["summarize", str(page), "-v", "-n", "2"]) == 0


def test_eval_json_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``eval --json`` prints fractions and milliseconds for each method asked for."""
    data = tmp_path / "set.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in EVAL_ROWS) + "\n")
    assert main(["eval", str(data), "--methods", "default,lead", "--sentences", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"newsrank", "lead"}
    for scores in result.values():
        assert set(scores) == {"rouge1", "rouge2", "rougeL", "ms_per_article"}
        assert 0.0 <= scores["rouge1"] <= 1.0
        assert scores["ms_per_article"] >= 0.0
    # Lead-1 is exactly the first reference sentence of t1.
    assert result["lead"]["rouge1"] > 0.5


def test_eval_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json, eval prints a table with one row per method."""
    data = tmp_path / "set.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in EVAL_ROWS) + "\n")
    assert main(["eval", str(data), "--methods", "lexrank,luhn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["method", "ROUGE-1", "ROUGE-2", "ROUGE-L"]
    assert [line.split()[0] for line in lines[2:]] == ["lexrank", "luhn"]


def test_eval_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed evaluation file names the line that is wrong."""
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "a"}\n')
    assert main(["eval", str(data)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("number", "noun", "shown"),
    [
        (1, "article", "1 article"),
        (0, "article", "0 articles"),
        (2, "feed", "2 feeds"),
        (12345, "entry", "12,345 entries"),
    ],
)
def test_numbers_of_things_are_worded_as_people_write_them(
    number: int, noun: str, shown: str
) -> None:
    """The worker logged "1 feeds" and eval printed "1 articles"."""
    plural = "entries" if noun == "entry" else ""
    assert counted(number, noun, plural) == shown
