"""What a digest is: the stories chosen for one chat, before they become messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class DigestItem:
    """One story in a digest: the article chosen for it and the other outlets that ran it."""

    article_id: str
    title: str
    url: str
    source: str
    when: datetime
    summary: tuple[str, ...]
    also: tuple[tuple[str, str], ...] = ()


class Digest(NamedTuple):
    """What one chat receives: a heading and its items (a named tuple: a delivery run makes
    one per reader, and one is made in half the time of a frozen dataclass)."""

    chat_id: int
    items: tuple[DigestItem, ...]
    timezone: str = "UTC"
    created: datetime | None = None
    topics: tuple[str, ...] = ()
    language: str = "en"
    # A reader's first digest: the hours it looks back (it has no last digest to start
    # from); None for the others.
    first_hours: int | None = None

    @property
    def empty(self) -> bool:
        """True when there is nothing to send."""
        return not self.items
