"""A programmable HTTP server on a loopback address, for tests that fetch over the network.

Each test registers routes (a fixed ``Reply`` or a function of the ``Request``) and reads
back what the server saw: the requests with their headers, and how many were in flight
at once. Replies can be delayed, trickled a byte at a time forever, compressed, or
redirected. The server runs in threads; ``stop`` ends trickling replies promptly.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Reply:
    """What a route answers.

    ``delay`` waits before the status line; ``trickle`` sends the body one byte per
    ``trickle`` seconds and, with ``forever``, keeps sending bytes until the client
    leaves. Without ``content_length`` the body ends when the connection closes.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float | None = None
    forever: bool = False
    content_length: bool = True


Handler = Callable[[Request], Reply]


def redirect(location: str, status: int = 302) -> Reply:
    """A redirect to ``location``."""
    return Reply(status=status, headers={"Location": location})


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes (about a thousandth of that on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = []
    remaining = size
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(body: bytes) -> bytes:
    """``body`` gzip-compressed."""
    return gzip.compress(body)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(http.server.ThreadingHTTPServer):
    # The bot polls every feed at once: the default backlog of 5 would drop connections.
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False
    owner: FeedServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class FeedServer:
    """A threaded HTTP/1.0 server on ``host`` (an ephemeral port) with programmable routes."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, 0), _Handler)
        self._server.owner = self
        self.host = host
        self.port: int = self._server.server_address[1]
        self._routes: dict[str, Reply | Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    # --- life cycle

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- programming it

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def route(self, path: str, reply: Reply | Handler) -> str:
        """Answer GET ``path`` (matched with its query, else without) and return its URL."""
        self._routes[path] = reply
        return self.url(path)

    def serve(self, path: str, body: bytes | str = b"", **reply: Any) -> str:
        """Shorthand for ``route(path, Reply(body=..., ...))``."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.route(path, Reply(body=data, **reply))

    def hits(self, path: str) -> int:
        """How many requests asked for ``path`` (query included if given)."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path or r.path.split("?")[0] == path)

    def last(self, path: str) -> Request:
        """The most recent request for ``path``."""
        with self._lock:
            matching = [r for r in self.requests if r.path.split("?")[0] == path.split("?")[0]]
        return matching[-1]

    # --- serving

    def _reply_for(self, request: Request) -> Reply:
        route = self._routes.get(request.path) or self._routes.get(request.path.split("?")[0])
        if route is None:
            return Reply(status=404, body=b"not found")
        return route(request) if callable(route) else route

    def _serve(self, handler: _Handler) -> None:
        request = Request(
            handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}
        )
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._write(handler, self._reply_for(request))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, which is what several tests are about
        finally:
            with self._lock:
                self.in_flight -= 1

    def _write(self, handler: _Handler, reply: Reply) -> None:
        if reply.delay and self._stopping.wait(reply.delay):
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.content_length and not reply.forever:
            handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if reply.trickle is None:
            handler.wfile.write(reply.body)
            return
        for byte in self._trickled(reply):
            if self._stopping.wait(reply.trickle):
                return
            handler.wfile.write(byte)
            handler.wfile.flush()

    @staticmethod
    def _trickled(reply: Reply) -> Iterator[bytes]:
        for index in range(len(reply.body)):
            yield reply.body[index : index + 1]
        while reply.forever:
            yield b"x"


def ipv6_loopback_available() -> bool:
    """True when this machine can listen on ``::1``."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True
