"""Fetching pages and feeds over HTTP(S), bounded and guarded.

Every request: only http(s); the host is resolved and checked by the SSRF guard and the
connection pinned to the checked address; redirects are followed by hand so each hop is
checked too; the whole exchange has one deadline (a server that trickles bytes forever
still times out); the body is read as a stream and decompressed here with a cap on both
the bytes on the wire and the *decompressed* size, so a small gzip bomb cannot expand
past ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field

import httpx

from ..config import DEFAULT_USER_AGENT, FetchSettings, parse_networks
from ..weburl import web_url_problem
from .netguard import BlockedAddressError, IPAddress, ResolutionError, resolve

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch.

    ``allowed_networks`` names private addresses or networks that may be fetched even
    though ``allow_private`` is off (e.g. ``("192.168.1.10",)`` for a LAN feed server).
    """

    timeout: float = 15.0
    max_bytes: int = 5_000_000
    user_agent: str = DEFAULT_USER_AGENT
    max_redirects: int = 5
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_networks(self.allowed_networks)  # fail at configuration time, not per fetch

    @classmethod
    def for_feeds(cls, settings: FetchSettings) -> FetchLimits:
        """Limits for the configured feeds: the operator's ``allowed_networks`` apply."""
        return cls(
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
            user_agent=settings.user_agent,
            allow_private=settings.allow_private_addresses,
            allowed_networks=settings.allowed_networks,
        )

    @classmethod
    def for_links(cls, settings: FetchSettings) -> FetchLimits:
        """Limits for links that come from users and from feed entries' pages.

        ``allowed_networks`` is an exception the operator makes for their own feeds (an RSS
        bridge on the LAN); it must not open that host, on any port, to whoever sends a
        link. Only ``allow_private_addresses`` (a trial setup) lets links reach private
        addresses.
        """
        return cls(
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
            user_agent=settings.user_agent,
            allow_private=settings.allow_private_addresses,
        )


class FetchError(Exception):
    """A fetch failed; ``kind`` names the failure for statistics.

    ``status`` is the HTTP status for ``kind == "http_status"`` answers, else ``None``.
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    """A fetched body (empty when the server answered 304 Not Modified)."""

    url: str
    final_url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional request."""
        return self.status == 304


class _Decoder:
    """Content-Encoding decoding with a cap on the decoded size."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._raw_deflate = False
        encoding = encoding.strip().lower()
        self._z: zlib._Decompress | None
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            # 47 = 32 + 15: accept both gzip and zlib headers.
            self._z = zlib.decompressobj(47)
            self._raw_deflate = encoding == "deflate"
        else:
            raise FetchError("decode", f"unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes) -> bytes:
        if self._z is None:
            out = chunk
        elif self._z.eof:
            # Bytes after the end of the compressed stream would pile up in
            # ``unused_data``; they carry nothing we would read, so drop them.
            return b""
        else:
            try:
                out = self._z.decompress(chunk, self.limit - self.size + 1)
            except zlib.error:
                if not self._raw_deflate or self.size:
                    raise FetchError("decode", "the compressed body is corrupt") from None
                # Some servers send raw deflate without the zlib header.
                self._z = zlib.decompressobj(-15)
                self._raw_deflate = False
                return self.feed(chunk)
            if self._z.unconsumed_tail:
                raise FetchError("too_large", f"body expands past {self.limit} bytes")
        self.size += len(out)
        if self.size > self.limit:
            raise FetchError("too_large", f"body is larger than {self.limit} bytes")
        return out


def _check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError("bad_url", f"not a valid URL: {url[:200]}") from exc
    problem = web_url_problem(url)
    if problem is not None:
        raise FetchError("bad_url", f"the link {problem}: {url[:200]}")
    return parsed


async def _request_pinned(
    client: httpx.AsyncClient,
    url: httpx.URL,
    address: IPAddress,
    headers: dict[str, str],
    limits: FetchLimits,
) -> tuple[int, dict[str, str], bytes]:
    # The ASCII (IDNA) host: what the Host header, the certificate check and DNS must
    # all agree on. ``url.host`` is the Unicode form, which Python's resolver would
    # encode with the older IDNA 2003 rules and could turn into a different name.
    ascii_host = url.raw_host.decode("ascii")
    pinned = url.copy_with(host=str(address))
    request_headers = {**headers, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": ascii_host} if url.scheme == "https" else {}
    async with client.stream(
        "GET", pinned, headers=request_headers, extensions=extensions, follow_redirects=False
    ) as response:
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        status = response.status_code
        if status in REDIRECT_CODES or status == 304:
            return status, response_headers, b""
        if status >= 400:
            raise FetchError(
                "http_status", f"the server answered {status} for {url}", status=status
            )
        declared = response_headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchError("too_large", f"body is larger than {limits.max_bytes} bytes")
        decoder = _Decoder(response_headers.get("content-encoding", ""), limits.max_bytes)
        parts: list[bytes] = []
        wire = 0
        async for chunk in response.aiter_raw():
            # Compressed bytes count too: junk after a gzip stream decodes to nothing
            # but would otherwise be downloaded until the deadline.
            wire += len(chunk)
            if wire > limits.max_bytes:
                raise FetchError("too_large", f"body is larger than {limits.max_bytes} bytes")
            parts.append(decoder.feed(chunk))
        return status, response_headers, b"".join(parts)


async def _fetch_once(
    client: httpx.AsyncClient,
    url: httpx.URL,
    headers: dict[str, str],
    limits: FetchLimits,
) -> tuple[int, dict[str, str], bytes]:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        resolved = await resolve(
            url.raw_host.decode("ascii"),
            port,
            allow_private=limits.allow_private,
            allowed_networks=parse_networks(limits.allowed_networks),
        )
    except ResolutionError as exc:
        raise FetchError("network", str(exc)) from exc
    except BlockedAddressError as exc:
        raise FetchError("blocked", str(exc)) from exc
    # Every address passed the guard; try them in the resolver's order so a host whose
    # first address is unreachable (IPv6 on an IPv4-only machine) still works.
    for address in resolved.addresses[:-1]:
        try:
            return await _request_pinned(client, url, address, headers, limits)
        except httpx.ConnectError:
            continue
    return await _request_pinned(client, url, resolved.addresses[-1], headers, limits)


async def fetch(
    url: str,
    limits: FetchLimits,
    client: httpx.AsyncClient,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "*/*",
) -> FetchResult:
    """GET a URL within the limits, following checked redirects; raise ``FetchError``.

    A 304 answer is returned (``not_modified``), not raised; other 4xx/5xx answers raise
    ``FetchError("http_status")``.
    """
    current = _check_url(url)
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": accept,
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen: set[str] = set()
    try:
        async with asyncio.timeout(limits.timeout):
            for _ in range(limits.max_redirects + 1):
                seen.add(str(current))
                status, response_headers, body = await _fetch_once(client, current, headers, limits)
                if status not in REDIRECT_CODES:
                    return FetchResult(url, str(current), status, body, response_headers)
                location = response_headers.get("location")
                if not location:
                    raise FetchError("http_status", f"redirect without a Location from {current}")
                current = _check_url(str(current.join(location)))
                if str(current) in seen:
                    raise FetchError("redirects", f"redirect loop at {current}")
    except (TimeoutError, httpx.TimeoutException):
        raise FetchError("timeout", f"no complete answer within {limits.timeout:g} s") from None
    except httpx.HTTPError as exc:
        detail = str(exc) or type(exc).__name__
        raise FetchError("network", f"could not reach {current.host}: {detail}") from exc
    raise FetchError("redirects", f"more than {limits.max_redirects} redirects")


def new_client(limits: FetchLimits) -> httpx.AsyncClient:
    """An HTTP client suited to ``fetch``: no environment proxies, its own timeouts.

    Connections are not kept alive: ``fetch`` connects to an IP address, so the pool
    would key connections by address alone and could hand a TLS connection verified for
    one host name to a request for another host on the same address.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(limits.timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
        follow_redirects=False,
    )
