"""What makes a text a link the bot can fetch: one rule for the configuration, the command
line and the links users send."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Characters no host name holds: white space, and the escapes and separators of a URL
# ("exa mple.org" would be looked up as "exa%20mple.org").
_NOT_IN_HOST = re.compile(r"[\s%/\\@?#]")


def web_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an http(s) link, in words, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of range (":99999") or not a number raises
    except ValueError as exc:  # "Port out of range 0-65535": the reason names no secret
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http(s) URL"
    host = parts.hostname or ""
    if not host:
        return "names no site"
    if _NOT_IN_HOST.search(host):
        return f"names no valid site ({host!r} is not a host name)"
    if port == 0:
        return "names port 0, which no site uses"
    return None
