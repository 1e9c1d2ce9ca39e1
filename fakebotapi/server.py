"""The fake's HTTP/1.1 server on the running asyncio loop, and the Bot API dispatch.

``asyncio.start_server`` with keep-alive and no threads. Each request to
``/bot<token>/<method>`` is recorded as a :class:`~fakebotapi.records.BotCall` in the
:class:`~fakebotapi.state.State`, checked against the injected faults and the flood model,
then answered by its handler in :data:`~fakebotapi.methods.METHODS` as Telegram answers:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}``.

HTTP pipelining is not supported (httpx does not pipeline): a connection that sends data
while its request is pending is closed, and so is the pending request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import unquote

from .errors import ApiError, ClientGone
from .faults import Fault, Faults
from .methods import METHODS, Handler, Request
from .params import decode_params
from .records import BotCall, JSONDict
from .state import State

__all__ = ["Server"]

_LOGGER = logging.getLogger(__name__)

_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)")
_FILE_PATH = re.compile(r"/file/bot([^/]+)/(.+)")
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


class _HttpError(Exception):
    """A request that is not valid HTTP; answered, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


# --------------------------------------------------------------------------- HTTP


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _HttpRequest | None:
    """The next request on the connection, or ``None`` when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _HttpError(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _HttpError(400, "malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _HttpError(400, "malformed header")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 connections persist unless closed; HTTP/1.0 ones only when asked.
    keep_alive = "keep-alive" in connection if parts[2] == "HTTP/1.0" else "close" not in connection
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return _HttpRequest(
        parts[0].upper(), parts[1], headers, await _read_body(reader, headers), keep_alive
    )


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise _HttpError(400, "bad Content-Length")
    length = int(length_text)
    if length > _MAX_BODY:
        raise _HttpError(413, "request body too large")
    return await reader.readexactly(length) if length else b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise _HttpError(400, "bad chunk size") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > _MAX_BODY:
            raise _HttpError(413, "request body too large")
        body += (await reader.readexactly(size + 2))[:-2]


def _http_response(
    status: int, payload: JSONDict | bytes, keep_alive: bool, content_type: str = "application/json"
) -> bytes:
    if isinstance(payload, bytes):  # a file download
        body = payload
    else:
        # ASCII escapes: an update may carry an unpaired surrogate (from a broken client),
        # which JSON can express ("\ud83d") but UTF-8 cannot.
        body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: newsdigest-fakeapi\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


# --------------------------------------------------------------------------- the server


class Server:
    """Serves the Bot API over HTTP for a :class:`State`, with its :class:`Faults`.

    ``expected_token`` makes every other token get ``401 Unauthorized``.
    """

    def __init__(self, state: State, faults: Faults, *, expected_token: str | None) -> None:
        self.expected_token = expected_token
        self.connections = 0
        self._state = state
        self._faults = faults
        self._server: asyncio.Server | None = None
        self._host = ""
        self._port = 0
        self._stopping = False
        self._stopped = asyncio.Event()
        self._conn_tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0: any free port) on the running loop."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._stopping = False
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._on_connection, host, port, limit=_MAX_HEAD)
        address = self._server.sockets[0].getsockname()
        self._host, self._port = str(address[0]), int(address[1])

    async def stop(self) -> None:
        """Stop listening, end pending long polls and held requests, close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        self._stopped.set()
        self._state.updates_pulse.fire()
        server.close()
        for writer in list(self._writers):
            writer.close()
        if self._conn_tasks:
            _, pending = await asyncio.wait(set(self._conn_tasks), timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await server.wait_closed()

    def origin(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not running; call start() first")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    # ----------------------------------------------------------------- connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            if task is not None:
                self._conn_tasks.discard(task)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while not self._stopping:
            try:
                request = await _read_request(reader, writer)
            except _HttpError as exc:
                error = ApiError(exc.status, str(exc))
                writer.write(_http_response(exc.status, error.payload(), False))
                await writer.drain()
                return
            if request is None:
                return
            download = self._download(request)
            if download is not None:
                writer.write(download)
                await writer.drain()
                continue
            try:
                status, payload = await self._handle(request, reader)
            except ClientGone:
                return
            keep_alive = request.keep_alive and not self._stopping
            writer.write(_http_response(status, payload, keep_alive))
            await writer.drain()
            if not keep_alive:
                return

    async def _wait_connected(
        self, reader: asyncio.StreamReader, waiter: Awaitable[object], within: float | None
    ) -> Literal["done", "timeout"]:
        """Wait for ``waiter`` while watching the client; raise :class:`ClientGone` if it
        hangs up (or sends anything: no pipelining) or the server stops."""
        main = asyncio.ensure_future(waiter)
        watch = asyncio.ensure_future(reader.read(1))
        stop = asyncio.ensure_future(self._stopped.wait())
        try:
            done, _ = await asyncio.wait(
                (main, watch, stop), timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (main, watch, stop):
                task.cancel()
            # The reader must be free of the watcher before the next request is read.
            await asyncio.gather(main, watch, stop, return_exceptions=True)
        if watch in done or stop in done:
            raise ClientGone
        return "done" if main in done else "timeout"

    # ----------------------------------------------------------------- dispatch

    def _download(self, request: _HttpRequest) -> bytes | None:
        """The answer to a file download (``/file/bot<token>/<file_path>``), or None when
        the request is not one."""
        match = _FILE_PATH.fullmatch(request.target.partition("?")[0])
        if match is None:
            return None
        token, path = unquote(match.group(1)), unquote(match.group(2))
        stored = next((f for f in self._state.files.values() if f.file_path == path), None)
        allowed = self.expected_token is None or token == self.expected_token
        if stored is None or not allowed or request.method != "GET":
            status = 404 if allowed else 401
            error = ApiError(status, "Not Found" if allowed else "Unauthorized").payload()
            return _http_response(status, error, request.keep_alive)
        return _http_response(200, stored.content, request.keep_alive, "application/octet-stream")

    async def _handle(
        self, request: _HttpRequest, reader: asyncio.StreamReader
    ) -> tuple[int, JSONDict]:
        """Record the call, then answer it: its result, or its error as Telegram words it."""
        path, _, query = request.target.partition("?")
        match = _API_PATH.fullmatch(path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = unquote(match.group(1)), match.group(2)
        state = self._state
        if token not in state.tokens:
            state.tokens.append(token)
        known = METHODS.get(name.lower())
        call = BotCall(known[0] if known else name, {}, token, asyncio.get_running_loop().time())
        state.calls.append(call)
        state.changed.fire()
        try:
            if self.expected_token is not None and token != self.expected_token:
                raise ApiError(401, "Unauthorized")
            if request.method not in ("GET", "POST"):
                raise ApiError(405, "Method Not Allowed")
            content_type = request.headers.get("content-type", "")
            call.params = decode_params(query, content_type, request.body)
            if known is None:
                raise ApiError(404, "Not Found")
            hold = functools.partial(self._wait_connected, reader)
            result = await self._run(Request(call, state.bot_user(token), hold), known[1])
        except ApiError as error:
            return self._answer(call, error.code, error.payload())
        except ClientGone:
            self._answer(call, 499, {"ok": False, "description": "client closed the request"})
            raise
        except Exception:
            _LOGGER.exception("fake Bot API failed on %s", call.method)
            return self._answer(call, 500, ApiError(500, "Internal Server Error").payload())
        return self._answer(call, 200, {"ok": True, "result": result})

    def _answer(self, call: BotCall, status: int, payload: JSONDict) -> tuple[int, JSONDict]:
        call.status = status
        if status != 200:
            call.description = payload.get("description")
        self._state.changed.fire()
        return status, payload

    async def _run(self, rq: Request, handler: Handler) -> Any:
        fault = self._faults.check(rq.call)
        if fault is None:
            return await handler(self._state, rq)
        return await self._hold(rq, handler, fault)

    async def _hold(self, rq: Request, handler: Handler, fault: Fault) -> Any:
        """A ``timeout`` fault: the answer comes ``fault.delay`` seconds late (the call
        takes effect first if ``performed``, else only if the client still waits)."""
        if not fault.performed:
            await rq.hold(asyncio.sleep(fault.delay), None)
            return await handler(self._state, rq)
        try:
            result = await handler(self._state, rq)
        except ApiError as error:
            await rq.hold(asyncio.sleep(fault.delay), None)
            raise error from None
        await rq.hold(asyncio.sleep(fault.delay), None)
        return result
