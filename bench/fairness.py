"""Fairness: how long another user waits for /settings while slow links are being fetched.

    python bench/fairness.py            # about 30 seconds

The real PTB ``Application`` (``build_application``) against ``FakeBotAPI`` on 127.0.0.1,
a real ``Store`` in a temporary folder, and a loopback web server whose page answers only
after ``--hold`` seconds (a slow site). Three phases, each measuring ``--samples`` round
trips of a second user's ``/settings`` (sent, answered by the bot, seen by the server):

* **baseline**: nobody else is using the bot;
* **one attacker**: one user has sent six ``/summarize <slow link>`` (one is fetched, the
  other five are refused as "still working");
* **six attackers**: six users each have a slow link in flight.

It prints the median and the worst latency of each phase and their ratio to the
baseline, and exits 1 if the worst latency under attack is 1 s or more (the target).
Before this change the bot handled updates one at a time and the same /settings waited
for every queued link (89 s with six 15 s links, as reported in issue 8).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and bench/summarizer.py would shadow
# the summarizer package that bot.app imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from bot.config import load_settings  # noqa: E402
from bot.paths import BUNDLED_CONFIG  # noqa: E402
from bot.store import EmbeddedStore  # noqa: E402
from bot.telegram.app import Options, build_application  # noqa: E402  (after the path fix)
from bot.telegram.lifecycle import running  # noqa: E402
from fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH-token"
VICTIM = 5000
ATTACKER = 6000
PAGE = (
    "<html><head><title>Slow page</title></head><body><article><p>"
    + "The council met again on Tuesday to discuss the bridge. " * 20
    + "</p></article></body></html>"
).encode()


@contextmanager
def slow_site(hold: float) -> Iterator[str]:
    """A loopback web server whose every page takes ``hold`` seconds to answer."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if stop.wait(hold):
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


async def settings_latency(api: FakeBotAPI, samples: int) -> list[float]:
    """Round trips of the victim's /settings, one after the other."""
    times = []
    for _ in range(samples):
        before = len(api.messages(VICTIM))
        started = time.perf_counter()
        api.user_sends(VICTIM, VICTIM, "/settings")
        await api.wait_for_messages(VICTIM, before + 1, timeout=120)
        times.append(time.perf_counter() - started)
    return times


async def measure(samples: int, hold: float) -> dict[str, list[float]]:
    """The three phases against one bot."""
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder, slow_site(hold) as url:
        base = load_settings(BUNDLED_CONFIG, {})
        settings = replace(
            base,
            data_file=Path(folder) / "newsdigest.json",
            feeds=(),
            fetch=replace(base.fetch, allow_private_addresses=True, timeout=hold + 30),
        )
        with EmbeddedStore.open(settings.data_file) as store:
            async with FakeBotAPI() as api:
                options = Options(run_jobs=False, rates={})
                app = build_application(
                    settings,
                    store,
                    token=TOKEN,
                    options=options,
                    base_url=api.base_url,
                    base_file_url=api.base_file_url,
                )
                async with running(app):
                    await settings_latency(api, 3)  # warm up
                    results["baseline"] = await settings_latency(api, samples)
                    for n in range(6):
                        api.user_sends(ATTACKER, ATTACKER, f"/summarize {url}?n={n}")
                    await asyncio.sleep(0.5)
                    results["one attacker, six slow links"] = await settings_latency(api, samples)
                    for n in range(6):
                        user = ATTACKER + 10 + n
                        api.user_sends(user, user, f"/summarize {url}?user={n}")
                    await asyncio.sleep(0.5)
                    results["six attackers, one slow link each"] = await settings_latency(
                        api, samples
                    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20, help="round trips per phase")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds a slow page takes")
    args = parser.parse_args()
    results = asyncio.run(measure(args.samples, args.hold))
    baseline = statistics.median(results["baseline"])
    print(
        f"/settings round trip of another user, {args.samples} samples per phase, "
        f"slow pages held {args.hold:g} s:"
    )
    print(f"{'phase':<36} {'median':>9} {'worst':>9} {'median/baseline':>16}")
    worst_under_attack = 0.0
    for phase, times in results.items():
        median, worst = statistics.median(times), max(times)
        if phase != "baseline":
            worst_under_attack = max(worst_under_attack, worst)
        print(
            f"{phase:<36} {1000 * median:7.1f} ms {1000 * worst:7.1f} ms {median / baseline:15.2f}x"
        )
    met = worst_under_attack < 1.0
    print(f"target: worst under attack < 1 s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
