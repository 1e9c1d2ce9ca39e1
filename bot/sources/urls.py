"""Canonical article URLs and the stable ids derived from them.

The same story reaches the bot under many URLs: with campaign parameters, with and
without a trailing slash, with ``:443``. ``canonical_url`` folds those together so an
article is stored (and delivered) once; ``article_id`` names it by that URL.
"""

from __future__ import annotations

import hashlib
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which page they get.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "icid",
        "ncid",
        "xtor",
        "_ga",
        "_gl",
        "mkt_tok",
        "smid",
        "sr_share",
    }
)
TRACKING_PREFIXES = ("utm_", "at_")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    # Parameters are kept byte for byte (re-encoding could change what a server sees);
    # only their order and the tracking ones change. The sort is stable, so repeated
    # keys keep their relative order.
    kept: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name = unquote_plus(piece.split("=", 1)[0])
        if not _is_tracking(name):
            kept.append((name, piece))
    kept.sort(key=lambda item: item[0])
    return "&".join(piece for _, piece in kept)


def _netloc(parts: SplitResult, scheme: str, port: int | None) -> str:
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    return f"{userinfo}@{netloc}" if at else netloc


def canonical_url(url: str) -> str:
    """The canonical form of an http(s) URL; other text comes back only stripped.

    Lower-case scheme and host, no default port, no fragment (except ``#!`` routes),
    no tracking parameters, the remaining parameters sorted, no trailing slash (except
    the root path ``/``).
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number in range: not a URL we can fold
        return url
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit(
        (scheme, _netloc(parts, scheme, port), path, _clean_query(parts.query), fragment)
    )


def article_id(canonical: str) -> str:
    """A stable 16-character id for an article, from its canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
