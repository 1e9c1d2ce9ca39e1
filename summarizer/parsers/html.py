"""HTML pages, through trafilatura's main-text extraction (no network: bytes in, article out)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import trafilatura
from lxml import html as lxml_html
from trafilatura.settings import Document

from ..article import Article
from ..errors import SummarizerError
from .lines import collapse_spaces

logger = logging.getLogger(__name__)

_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": False,
}


def _page_language(html: str) -> str | None:
    try:
        root = lxml_html.fromstring(html[:200_000])
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return None
    lang = root.get("lang") or root.get("xml:lang")
    return lang.strip() if lang and lang.strip() else None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def parse_html(html: str, *, url: str = "", source: str = "") -> Article:
    """Extract the main text of a page with its title, date, site name and language."""
    if not html.strip():
        raise SummarizerError("nothing to summarize: the page is empty")
    document = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(document, Document) or document.body is None:
        raise SummarizerError("no article text found on the page")
    title = collapse_spaces(document.title or "")
    paragraphs: list[str] = []
    headings: list[str] = []
    for element in document.body.iter("p", "head", "item", "quote"):
        text = collapse_spaces("".join(element.itertext()))
        if not text:
            continue
        if element.tag == "head":
            if text != title:
                headings.append(text)
        else:
            paragraphs.append(text)
    if not paragraphs:
        raise SummarizerError("no article text found on the page")
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        published=_parse_date(document.date),
        source=source or collapse_spaces(document.sitename or ""),
        url=url or (document.url or ""),
        language=_page_language(html) or document.language,
    )
