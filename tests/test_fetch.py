"""The SSRF guard and the bounded fetcher, against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import parse_networks
from bot.sources.fetch import FetchError, FetchLimits, FetchResult, fetch, new_client
from bot.sources.netguard import (
    BlockedAddressError,
    ResolutionError,
    Resolved,
    _lookup_failure,
    check_addresses,
    refusal_reason,
    resolve,
)
from tests.feedserver import (
    FeedServer,
    Reply,
    Request,
    gzip_bomb,
    gzipped,
    ipv6_loopback_available,
    redirect,
)

LOOPBACK = FetchLimits(allow_private=True, timeout=5.0)
# Only the test server's address is let through: every other private address stays refused.
LOOPBACK_ONLY = FetchLimits(allowed_networks=("127.0.0.1",), timeout=5.0)

needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(LOOPBACK) as http:
        yield http


class RecordingTransport(httpx.AsyncBaseTransport):
    """A real transport that remembers every request it was asked to send."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def fetch_within(url: str, limits: FetchLimits, client: httpx.AsyncClient) -> FetchResult:
    """Fetch, failing the test (instead of hanging it) if the fetch outlives its own limit."""
    async with asyncio.timeout(limits.timeout * 10):
        return await fetch(url, limits, client)


async def fetch_error(url: str, limits: FetchLimits, client: httpx.AsyncClient) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetch_within(url, limits, client)
    return caught.value


# --- the guard, without connecting anywhere -----------------------------------------


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00:ec2::254", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.1.2.3", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of the metadata service
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("100.64.0.1", None),  # carrier-grade NAT
        ("192.0.0.8", None),
        ("198.18.0.1", None),
        ("240.0.0.1", None),
        ("255.255.255.255", None),
        ("2001:db8::1", None),
        ("::127.0.0.1", None),  # deprecated IPv4-compatible form
    ],
)
def test_guard_refuses_non_public_addresses(address: str, label: str | None) -> None:
    """Loopback, private, link-local, multicast, reserved and embedded-IPv4 forms of
    them are refused, and the reason names the kind of address."""
    reason = refusal_reason(ipaddress.ip_address(address))
    assert reason is not None
    if label:
        assert reason.startswith(label)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_guard_allows_public_addresses(address: str) -> None:
    """Public unicast addresses, also when written as IPv4-mapped or NAT64 IPv6, pass."""
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_guard_refuses_a_host_if_any_of_its_addresses_is_private() -> None:
    """A name resolving to one public and one private address is refused: the client
    could connect to either."""
    addresses = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.1")]
    with pytest.raises(BlockedAddressError, match=re.escape("10.0.0.1")):
        check_addresses("mixed.example", addresses, allow_private=False)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "no such host"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "did not answer"),
        (UnicodeError("label too long"), "not a valid host name"),
    ],
)
def test_a_name_that_does_not_resolve_is_said_in_words(error: Exception, said: str) -> None:
    """Operators and readers saw "[Errno -2] Name or service not known": the lookup's
    failure is said in words (decided from the error, no lookup made)."""
    reason = _lookup_failure(error)  # type: ignore[arg-type]  # the two kinds it is given
    assert said in reason
    assert "Errno" not in reason


async def test_a_host_name_too_long_to_look_up_is_refused_in_words() -> None:
    """A label over 63 letters cannot be encoded for a lookup: refused before any."""
    with pytest.raises(ResolutionError, match="not a valid host name"):
        await resolve("a" * 70 + ".example", 80, allow_private=False)


async def test_a_link_without_a_site_is_refused_saying_so() -> None:
    """ "http://:80/" is an http link: the refusal says it names no site."""
    async with new_client(FetchLimits()) as client:
        with pytest.raises(FetchError, match="names no site"):
            await fetch("http://:80/", FetchLimits(), client)


def test_guard_allow_private_lets_everything_through() -> None:
    """With allow_private the guard only checks that the name resolved at all."""
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("169.254.169.254")]
    resolved = check_addresses("lan.example", addresses, allow_private=True)
    assert resolved.addresses == tuple(addresses)


def test_guard_allowed_networks_are_exceptions_not_a_switch() -> None:
    """An allowed network lets its own addresses through; other private ones stay refused."""
    allowed = parse_networks(["192.168.1.0/24"])
    ok = [ipaddress.ip_address("192.168.1.10"), ipaddress.ip_address("::ffff:192.168.1.11")]
    check_addresses("bridge.lan", ok, allow_private=False, allowed_networks=allowed)
    with pytest.raises(BlockedAddressError, match=re.escape("169.254.169.254")):
        check_addresses(
            "metadata",
            [ipaddress.ip_address("169.254.169.254")],
            allow_private=False,
            allowed_networks=allowed,
        )


def test_guard_no_addresses_is_a_resolution_failure() -> None:
    """A name with no addresses is reported as a resolution failure, not a refusal."""
    with pytest.raises(ResolutionError):
        check_addresses("empty.example", [], allow_private=True)


@pytest.mark.parametrize("entry", ["nonsense", "10.0.0.0/33", ""])
def test_bad_allowed_networks_fail_when_limits_are_built(entry: str) -> None:
    """A mistyped allowed network is a configuration error naming the entry."""
    with pytest.raises(ValueError, match="not an IP address or network"):
        FetchLimits(allowed_networks=(entry,))


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "::ffff:127.0.0.1", "localhost"])
async def test_resolve_refuses_loopback_literals_and_localhost(host: str) -> None:
    """Literal loopback addresses (any spelling) and the name localhost are refused."""
    with pytest.raises(BlockedAddressError, match="loopback"):
        await resolve(host, 80, allow_private=False)


async def test_resolve_literal_public_address_needs_no_lookup() -> None:
    """A literal public address is checked as it is (no DNS query is made for it)."""
    resolved = await resolve("8.8.8.8", 443, allow_private=False)
    assert resolved.addresses == (ipaddress.ip_address("8.8.8.8"),)


async def test_resolve_localhost_with_allow_private_gives_loopback_addresses() -> None:
    """With allow_private, localhost resolves to loopback addresses only."""
    resolved = await resolve("localhost", 80, allow_private=True)
    assert resolved.addresses
    assert all(address.is_loopback for address in resolved.addresses)


# --- fetch: guard integration --------------------------------------------------------


async def test_fetch_refuses_loopback_by_default(server: FeedServer) -> None:
    """With default limits the loopback server is never contacted."""
    url = server.serve("/feed", b"secret")
    async with new_client(FetchLimits()) as http:
        error = await fetch_error(url, FetchLimits(timeout=5.0), http)
    assert error.kind == "blocked"
    assert server.requests == []


async def test_fetch_with_allow_private_reads_the_body(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """With allow_private the body, status and headers come back."""
    url = server.serve("/page", b"hello", headers={"Content-Type": "text/plain"})
    result = await fetch_within(url, LOOPBACK, client)
    assert (result.status, result.content, result.final_url) == (200, b"hello", url)
    assert result.headers["content-type"] == "text/plain"
    assert not result.not_modified


async def test_pinned_request_sends_the_name_as_host_and_the_user_agent(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """The connection goes to the checked IP but the request names the host the URL named,
    so virtual hosts work; the configured User-Agent identifies the bot."""
    server.serve("/vhost", b"ok")
    limits = FetchLimits(allow_private=True, timeout=5.0, user_agent="digest-test/1.0")
    await fetch_within(f"http://localhost:{server.port}/vhost", limits, client)
    seen = server.last("/vhost")
    assert seen.headers["host"] == f"localhost:{server.port}"
    assert seen.headers["user-agent"] == "digest-test/1.0"


@needs_ipv6
async def test_fetch_over_ipv6_literal(client: httpx.AsyncClient) -> None:
    """An IPv6 literal URL is fetched and its Host header keeps the brackets."""
    with FeedServer("::1") as server6:
        url = server6.serve("/six", b"v6")
        result = await fetch_within(url, LOOPBACK, client)
        assert result.content == b"v6"
        assert server6.last("/six").headers["host"] == f"[::1]:{server6.port}"


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Make ``fetch`` resolve names from ``answers`` (still through the real guard)."""

    async def resolve_fake(
        host: str, port: int, *, allow_private: bool, allowed_networks: object = ()
    ) -> Resolved:
        addresses = [ipaddress.ip_address(a) for a in answers[host]]
        return check_addresses(host, addresses, allow_private=allow_private)

    monkeypatch.setattr("bot.sources.fetch.resolve", resolve_fake)


async def test_fetch_tries_every_checked_address(
    server: FeedServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: only the first resolved address was tried, so a host whose first
    address is unreachable (IPv6 on an IPv4-only network) could not be fetched."""
    fake_dns(monkeypatch, {"dual.test": ["127.0.0.2", "127.0.0.1"]})  # .2: nobody listens
    server.serve("/both", b"found")
    result = await fetch_within(f"http://dual.test:{server.port}/both", LOOPBACK, client)
    assert result.content == b"found"
    assert server.last("/both").headers["host"] == f"dual.test:{server.port}"


async def test_name_resolving_to_a_private_address_is_refused(
    server: FeedServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is judged by what it resolves to: a public answer mixed with a private one
    (as a rebinding attacker would serve) is refused before any connection."""
    fake_dns(monkeypatch, {"rebind.test": ["93.184.215.14", "127.0.0.1"]})
    url = f"http://rebind.test:{server.port}/"
    error = await fetch_error(url, FetchLimits(timeout=5.0), client)
    assert error.kind == "blocked"
    assert server.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0:8080/",
    ],
)
async def test_redirect_to_a_private_address_is_refused_before_connecting(
    server: FeedServer, target: str
) -> None:
    """A public-looking URL that redirects to a private address is refused by the guard:
    the only request ever sent is the one to the (explicitly allowed) first server."""
    url = server.route("/jump", redirect(target))
    transport = RecordingTransport()
    async with httpx.AsyncClient(transport=transport, trust_env=False) as http:
        error = await fetch_error(url, LOOPBACK_ONLY, http)
    assert error.kind == "blocked"
    assert [str(sent) for sent in transport.sent] == [url]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://x/"])
async def test_redirect_to_another_scheme_is_refused(
    server: FeedServer, client: httpx.AsyncClient, target: str
) -> None:
    """Redirects can only lead to http(s) URLs."""
    url = server.route("/scheme", redirect(target))
    assert (await fetch_error(url, LOOPBACK, client)).kind == "bad_url"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed",
        "not a url",
        "http://",
        "/relative",
        # Found by an operator: an 'unexpected error (ExceptionGroup ...)' at connecting,
        # and a lookup of 'exa%20mple.org'.
        "http://127.0.0.1:99999/feed",
        "http://exa mple.org/feed",
    ],
)
async def test_bad_urls_are_refused(client: httpx.AsyncClient, url: str) -> None:
    """Only absolute http(s) URLs of a valid host and port are fetched."""
    assert (await fetch_error(url, LOOPBACK, client)).kind == "bad_url"


# --- fetch: redirects -------------------------------------------------------------


async def test_redirects_are_followed_to_the_final_url(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Absolute and relative redirects are followed; final_url names the last one."""
    start = server.route("/a", redirect(server.url("/b"), 301))
    server.route("/b", redirect("c", 307))
    final = server.serve("/c", b"end")
    result = await fetch_within(start, LOOPBACK, client)
    assert (result.content, result.url, result.final_url) == (b"end", start, final)


@pytest.mark.parametrize(
    "routes",
    [
        {"/loop": "/loop"},
        {"/ping": "/pong", "/pong": "/ping"},
    ],
)
async def test_redirect_loops_are_detected(
    server: FeedServer, client: httpx.AsyncClient, routes: dict[str, str]
) -> None:
    """A redirect back to a URL already visited stops at once."""
    for path, target in routes.items():
        server.route(path, redirect(target))
    first = next(iter(routes))
    error = await fetch_error(server.url(first), LOOPBACK, client)
    assert error.kind == "redirects"
    assert len(server.requests) == len(routes)


async def test_too_many_redirects(server: FeedServer, client: httpx.AsyncClient) -> None:
    """A chain longer than max_redirects stops after max_redirects hops."""
    for hop in range(10):
        server.route(f"/hop{hop}", redirect(f"/hop{hop + 1}"))
    limits = FetchLimits(allow_private=True, timeout=5.0, max_redirects=3)
    error = await fetch_error(server.url("/hop0"), limits, client)
    assert error.kind == "redirects"
    assert len(server.requests) == 4


async def test_redirect_without_location(server: FeedServer, client: httpx.AsyncClient) -> None:
    """A redirect status with no Location is a broken answer, not a hang or a crash."""
    url = server.route("/nowhere", Reply(status=302))
    assert (await fetch_error(url, LOOPBACK, client)).kind == "http_status"


# --- fetch: status codes and conditional GET -----------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_statuses(server: FeedServer, client: httpx.AsyncClient, status: int) -> None:
    """4xx and 5xx answers raise http_status carrying the status code."""
    url = server.serve("/err", b"nope", status=status)
    error = await fetch_error(url, LOOPBACK, client)
    assert (error.kind, error.status) == ("http_status", status)
    assert str(status) in str(error)


def conditional(request: Request) -> Reply:
    """A resource with validators that answers 304 when the client already has it."""
    validators = {"ETag": '"v1"', "Last-Modified": "Mon, 11 Nov 2024 12:00:00 GMT"}
    if request.headers.get("if-none-match") == '"v1"' or (
        request.headers.get("if-modified-since") == validators["Last-Modified"]
    ):
        return Reply(status=304, headers=validators)
    return Reply(body=b"<rss/>", headers=validators)


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [('"v1"', None), (None, "Mon, 11 Nov 2024 12:00:00 GMT")],
)
async def test_conditional_get_returns_not_modified(
    server: FeedServer,
    client: httpx.AsyncClient,
    etag: str | None,
    last_modified: str | None,
) -> None:
    """The validators are sent; a 304 comes back as an empty not_modified result."""
    url = server.route("/cond", conditional)
    first = await fetch(url, LOOPBACK, client)
    assert (first.status, first.headers["etag"]) == (200, '"v1"')
    second = await fetch(url, LOOPBACK, client, etag=etag, last_modified=last_modified)
    assert second.not_modified
    assert second.content == b""


# --- fetch: bounds ------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
async def test_body_larger_than_the_cap(
    server: FeedServer, client: httpx.AsyncClient, content_length: bool
) -> None:
    """A body over max_bytes is refused, whether or not its length was announced."""
    url = server.serve("/big", b"x" * 5000, content_length=content_length)
    limits = FetchLimits(allow_private=True, timeout=5.0, max_bytes=4096)
    assert (await fetch_error(url, limits, client)).kind == "too_large"


async def test_body_exactly_at_the_cap_is_read(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """max_bytes is inclusive."""
    url = server.serve("/exact", b"y" * 4096)
    limits = FetchLimits(allow_private=True, timeout=5.0, max_bytes=4096)
    assert len((await fetch_within(url, limits, client)).content) == 4096


async def test_gzip_bomb_is_stopped_at_the_cap(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """About 100 KB of gzip that expands to 100 MB stops at max_bytes of output."""
    bomb = gzip_bomb(100_000_000)
    assert len(bomb) < 200_000
    url = server.serve("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    limits = FetchLimits(allow_private=True, timeout=5.0, max_bytes=1_000_000)
    assert (await fetch_error(url, limits, client)).kind == "too_large"


async def test_data_after_the_gzip_stream_counts_toward_the_cap(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Regression: bytes after the end of a gzip stream decoded to nothing and were not
    counted, so a server could send an endless tail that piled up in memory."""
    body = gzipped(b"small") + bytes(200_000)
    url = server.serve("/tail", body, headers={"Content-Encoding": "gzip"}, content_length=False)
    limits = FetchLimits(allow_private=True, timeout=5.0, max_bytes=100_000)
    assert (await fetch_error(url, limits, client)).kind == "too_large"


def raw_deflate(data: bytes) -> bytes:
    """Deflate without the zlib header, as some servers send ``Content-Encoding: deflate``."""
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzipped),
        ("x-gzip", gzipped),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("identity", lambda data: data),
    ],
)
async def test_compressed_bodies_are_decoded(
    server: FeedServer, client: httpx.AsyncClient, encoding: str, compress: object
) -> None:
    """gzip, zlib-wrapped and raw deflate bodies come back decoded."""
    assert callable(compress)
    body = b"<rss>" + b"news " * 1000 + b"</rss>"
    url = server.serve("/enc", compress(body), headers={"Content-Encoding": encoding})
    assert (await fetch_within(url, LOOPBACK, client)).content == body


@pytest.mark.parametrize(
    ("encoding", "body"), [("gzip", b"definitely not gzip"), ("br", b"\x0b\x02\x80")]
)
async def test_undecodable_bodies(
    server: FeedServer, client: httpx.AsyncClient, encoding: str, body: bytes
) -> None:
    """A corrupt compressed body or an encoding we never asked for is a decode error."""
    url = server.serve("/bad", body, headers={"Content-Encoding": encoding})
    assert (await fetch_error(url, LOOPBACK, client)).kind == "decode"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(delay=60.0),  # never answers
        Reply(body=b"<rss>", trickle=0.05, forever=True),  # answers, never finishes
    ],
    ids=["silent", "trickle"],
)
async def test_one_deadline_covers_the_whole_exchange(
    server: FeedServer, client: httpx.AsyncClient, reply: Reply
) -> None:
    """A server that is silent, or that trickles a byte at a time forever (which would
    reset a per-read timeout each time), is cut off by the overall deadline."""
    url = server.route("/slow", reply)
    limits = FetchLimits(allow_private=True, timeout=0.5)
    assert (await fetch_error(url, limits, client)).kind == "timeout"


async def test_connection_refused_is_a_network_error(client: httpx.AsyncClient) -> None:
    """Nothing listening on the port is a network failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await fetch_error(f"http://127.0.0.1:{port}/", LOOPBACK, client)
    assert error.kind == "network"
