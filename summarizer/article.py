"""The article model every parser produces and every summarizer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One news article: metadata plus body paragraphs.

    Section headings are kept apart from the paragraphs so they can never end up inside a
    summary sentence.
    """

    title: str
    paragraphs: tuple[str, ...]
    headings: tuple[str, ...] = ()
    published: datetime | None = None
    source: str = ""
    url: str = ""
    language: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """The body as plain text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    def with_language(self, language: str | None) -> Article:
        """A copy with the language set."""
        return replace(self, language=language)
