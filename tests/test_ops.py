"""Operating newsdigest: what an operator runs and reads.

The version, the systemd unit, backups restored elsewhere, start-up refusing damaged files
in one line, and the README and LICENSE agreeing with the code. Commands run as real
processes (``python -m bot.cli``), as an operator would run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.cli.parser import build_parser
from bot.models import Subscriber
from bot.paths import PROJECT_ROOT
from bot.store import SCHEMA, EmbeddedStore
from bot.telegram.lifecycle import STOP_GRACE

README = (PROJECT_ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
UNIT = PROJECT_ROOT / "deploy" / "newsdigest.service"
TOKEN = "123456:AAH-not-a-real-token"

CONFIG = """
[storage]
data_file = "data/newsdigest.json"

[[topics]]
name = "world"
keywords = ["minister"]
"""


def newsdigest(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line as its own process, as an operator would."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSDIGEST_"))
    }
    # Should a test's bot ever get as far as calling Telegram: a closed loopback port.
    environ["TELEGRAM_API_BASE_URL"] = "http://127.0.0.1:9/bot"
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration whose data file is ``data/newsdigest.json`` next to it."""
    path = tmp_path / "newsdigest.toml"
    path.write_text(CONFIG)
    return path


def subscribers(n: int) -> list[Subscriber]:
    """``n`` subscribers that differ in every field a restore could get wrong."""
    zones = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
    return [
        Subscriber(
            chat_id=1000 + i if i % 2 else -1001000 - i,
            topics=("world",),
            follow=(f"word{i}",),
            times=(f"{6 + i % 12:02d}:{i % 60:02d}",),
            timezone=zones[i % len(zones)],
            thread_id=i if i % 3 == 0 else None,
        )
        for i in range(n)
    ]


# -- version -----------------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    """``newsdigest --version`` prints the installed version, the one pyproject declares."""
    done = newsdigest("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"newsdigest {PYPROJECT['project']['version']}\n"


# -- damaged files stop the start in one line --------------------------------------------------


def _store_with(path: Path, people: list[Subscriber]) -> None:
    with EmbeddedStore.open(path) as store:
        for person in people:
            store.put_subscriber(person)


@pytest.mark.parametrize(
    "damage",
    ["broken-record", "journal-emptied", "journal-cut", "data-file-is-a-folder", "config"],
)
def test_run_refuses_damage_in_one_line(config: Path, damage: str) -> None:
    """``newsdigest run`` with a damaged data file or configuration stops before it
    contacts Telegram, with one line that names the file and what is wrong (exit status 2
    for the configuration, which the operator gave; 1 for a damaged data file): no
    traceback, never a silently emptied store."""
    data = config.parent / "data" / "newsdigest.json"
    journal = data.with_name("newsdigest.json.journal.1")
    people = subscribers(6)
    expected: str
    if damage == "data-file-is-a-folder":
        data.mkdir(parents=True)
        expected = f"config error: storage.data_file {data} is a folder"
    elif damage == "config":
        config.write_text(
            CONFIG + '[[feeds]]\nurl = "https://a.example/rss"\nname = "Wire"\ntopics = []\n'
        )
        expected = "config error: feeds[0] (Wire).topics must not be empty"
    else:
        _store_with(data, people)
        lines = journal.read_bytes().splitlines(keepends=True)
        if damage == "broken-record":
            change, record = json.loads(lines[3])
            record[3]["times"] = ["99:99"]
            lines[3] = json.dumps([change, record]).encode() + b"\n"
            journal.write_bytes(b"".join(lines))
            expected = (
                f"{journal}: line 4 of 7: subscriber {people[2].chat_id}: times[0] '99:99' is "
                "not a 24-hour time"
            )
        elif damage == "journal-emptied":
            journal.write_bytes(b"")
            expected = f"{journal}: it has no header line"
        else:
            journal.write_bytes(b"".join(lines[:4]))
            expected = f"{journal}: it was cut short: it ends at change 3, but changes up to 6"
    before = sorted(p.name for p in config.parent.rglob("*"))
    done = newsdigest(
        "--config", str(config), "run", cwd=config.parent, env={"TELEGRAM_BOT_TOKEN": TOKEN}
    )
    assert done.returncode == (2 if expected.startswith("config error") else 1), done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"newsdigest: {expected}"), done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in config.parent.rglob("*")) == before


# -- backups -----------------------------------------------------------------------------------


def _restore(backup: Path, data_folder: Path) -> None:
    """The README's restore: the backup's data file and journal into the data folder."""
    data_folder.mkdir(parents=True, exist_ok=True)
    for file in backup.glob("newsdigest.json*"):
        if not file.name.endswith(".lock"):
            shutil.copy2(file, data_folder / file.name)


def test_backup_while_running_and_restore_elsewhere(config: Path, tmp_path: Path) -> None:
    """``newsdigest backup FOLDER`` works while the bot has the store open (here: this
    process holds it, lock and all, mid-write); the backup restored into a fresh folder, as
    the README says, opens with every subscriber and every field."""
    data = config.parent / "data" / "newsdigest.json"
    people = subscribers(25)
    with EmbeddedStore.open(data) as running:
        for person in people:
            running.put_subscriber(person)
        running.compact()  # some subscribers in the snapshot, the rest in the journal
        late = Subscriber(chat_id=4242, topics=("world",), times=("21:45",))
        running.put_subscriber(late)
        done = newsdigest("--config", str(config), "backup", str(tmp_path / "backup"), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Backed up 26 subscribers and 0 articles")
        running.put_subscriber(Subscriber(chat_id=5555))  # after the backup: not in it
    restored = tmp_path / "elsewhere" / "newsdigest.json"
    _restore(tmp_path / "backup", restored.parent)
    with EmbeddedStore.open(restored) as store:
        got = sorted(store.subscribers(), key=lambda s: s.chat_id)
    assert got == sorted([*people, late], key=lambda s: s.chat_id)


def test_copy_of_a_stopped_store_and_restore_in_place(config: Path, tmp_path: Path) -> None:
    """With the bot stopped, copying the data folder's files is a backup too. Restoring it
    in place after later changes: the newer files are moved away (lock file included, as
    the README says) and the copy opens with exactly the subscribers it had; copying it
    over the newer files but keeping their lock file is refused, in one line that says
    what to do."""
    data = config.parent / "data" / "newsdigest.json"
    people = subscribers(6)
    _store_with(data, people)
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in data.parent.iterdir():
        shutil.copy2(file, copy / file.name)
    _store_with(data, [Subscriber(chat_id=77), Subscriber(chat_id=78)])  # changes 7 and 8
    _restore(copy, data.parent)  # over the newer files, whose lock file marks change 8
    done = newsdigest(
        "--config", str(config), "run", cwd=tmp_path, env={"TELEGRAM_BOT_TOKEN": TOKEN}
    )
    assert done.returncode == 1
    assert "delete newsdigest.json.lock with newsdigest stopped" in done.stderr
    assert done.stderr.count("\n") == 1
    moved = tmp_path / "moved-away"
    moved.mkdir()
    for file in data.parent.glob("newsdigest.json*"):
        file.rename(moved / file.name)
    _restore(copy, data.parent)
    with EmbeddedStore.open(data) as store:
        assert sorted(store.subscribers(), key=lambda s: s.chat_id) == sorted(
            people, key=lambda s: s.chat_id
        )


# -- the systemd unit --------------------------------------------------------------------------


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file's settings by section; a key set twice keeps both values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), "keep settings on one line"
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a unit file line: {raw!r}"
        assert current is not None, f"a setting before the first section: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(span: str) -> float:
    """A systemd time span such as ``30s``, ``2min`` or ``1min 30s``."""
    units = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", span)
    assert parts, span
    return sum(float(n) * units[u] for n, u in parts)


def test_the_systemd_unit_runs_the_bot_hardened_and_restartable() -> None:
    """deploy/newsdigest.service runs ``newsdigest run`` as its own user with the token
    from an environment file (never in the unit), restarts after a failure but not for a
    bad token, waits long enough for a clean stop, and is sandboxed."""
    unit = read_unit(UNIT)
    service = unit["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["ExecStart"].split()[-1] == "run"
    assert "--config /etc/newsdigest/newsdigest.toml" in one["ExecStart"]
    assert one["User"] not in ("", "root", "0")
    assert one["EnvironmentFile"] == "/etc/newsdigest/newsdigest.env"
    assert not any("TOKEN" in value for value in service.get("Environment", []))
    assert one["Restart"] in ("on-failure", "always")
    assert seconds(one["RestartSec"]) >= 1
    assert "2" in one["RestartPreventExitStatus"].split()
    # Deliveries in flight get STOP_GRACE seconds after SIGTERM; the unit must wait longer
    # than that, with room for the rest of the shutdown.
    assert seconds(one["TimeoutStopSec"]) >= 2 * STOP_GRACE
    assert one["KillSignal"] == "SIGTERM"
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "RestrictNamespaces": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "SystemCallArchitectures": "native",
    }
    assert {key: one.get(key) for key in hardening} == hardening
    assert service["SystemCallFilter"][0] == "@system-service"
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    # The data file lives in the state directory, the one place ProtectSystem leaves writable.
    assert one["StateDirectory"] == "newsdigest"
    assert "NEWSDIGEST_DATA_FILE=/var/lib/newsdigest/newsdigest.json" in service["Environment"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    # The environment file the unit names is the example's destination.
    example = (PROJECT_ROOT / "deploy" / "newsdigest.env.example").read_text()
    assert "/etc/newsdigest/newsdigest.env" in example
    assert re.search(r"^TELEGRAM_BOT_TOKEN=", example, re.MULTILINE)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` accepts the unit without a single warning (an unknown key
    or a bad value is only a warning there, so the output must be empty), with ExecStart
    pointed at this installation's ``newsdigest``; ``systemd-analyze security`` rates its
    sandbox at an exposure of 2.0 or less (0 is fully sandboxed, 10 not at all)."""
    program = shutil.which("newsdigest", path=str(Path(sys.executable).parent))
    assert program is not None
    unit = tmp_path / "newsdigest.service"
    unit.write_text(UNIT.read_text().replace("/opt/newsdigest/.venv/bin/newsdigest", program))
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for newsdigest\.service: (\d+\.\d)", security.stdout)
    assert found, security.stdout + security.stderr
    print(f"\nsystemd-analyze security: exposure {found[1]}")
    assert float(found[1]) <= 2.0


# -- the README and the LICENSE ------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Running as a service",
        "Backups and restore",
        "Upgrading",
        "Logs",
        "Finding your chat id for `admin_chat_ids`",
    ],
)
def test_the_readme_has_the_operations_sections(title: str) -> None:
    """Each operations topic has its own README section."""
    assert re.search(rf"^##+ {re.escape(title)}$", README, re.MULTILINE), title


def test_the_readme_states_the_supported_python_and_the_store_schema() -> None:
    """The README's Python version is pyproject's requires-python, and "Upgrading" names
    the store's current schema version."""
    minimum = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert f"Python {minimum} or newer" in README
    upgrading = README.split("## Upgrading", 1)[1].split("\n## ", 1)[0]
    assert f"schema {SCHEMA}" in upgrading


def test_every_command_is_in_the_readme() -> None:
    """Each ``newsdigest`` subcommand has a row in the README's command table."""
    parser = build_parser()
    commands = next(
        a
        for a in parser._actions
        if a.dest == "command"  # argparse keeps subparsers here
    ).choices
    assert commands is not None
    for name in commands:
        assert f"| `newsdigest {name}" in README, name
    assert "newsdigest --version" in README


def test_the_license_is_the_one_pyproject_declares() -> None:
    """LICENSE holds the MIT license text that pyproject's license field names (an SPDX
    expression, with the file listed)."""
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (PROJECT_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
