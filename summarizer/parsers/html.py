"""HTML pages: the article's text, headline, date, site and language (no network).

trafilatura finds the main text. Around it, this module mends what a reader of the
summary would otherwise notice:

- drop caps set apart from their word ("T" + "urkey, Poland...") are joined back;
- containers that are named as furniture (related stories, share bars, captions,
  comments...) are removed before extraction;
- block elements stay apart (a quote's paragraphs, lines broken by ``<br>``), so
  sentences never run together across them, and a block repeated by the page counts once;
- datelines, bylines, time stamps, credits and captions are kept out of the paragraphs
  (``furniture``), short lines without final punctuation become headings;
- when the page's visible text is a fraction of the article its structured data
  (JSON-LD ``articleBody``) holds, that text is used;
- the headline is chosen among the page's ``<h1>``, social and structured-data titles
  and ``<title>``, without the site's name (``title``).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.settings import Document

from ..article import Article
from ..errors import SummarizerError
from .furniture import article_line
from .lines import collapse_spaces, is_heading
from .title import TitleSources, choose_title

logger = logging.getLogger(__name__)

_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": False,
}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# Invisible characters that split words for the tokenizer: soft hyphen, zero-width ones.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# Class or id words that name page furniture: a whole word of the attribute, maybe with a
# short prefix ("c-", "js-") and a kind of container after it ("related-posts").
_FURNITURE_NAMES = re.compile(
    r"^(?:[a-z]{1,3}[-_])?(?:related|recommend(?:ed|ations?)?|more-?stories|"
    r"next-?stor(?:y|ies)|nextpost|next-?posts?|read-?more|also-?read|newsletter|"
    r"share|sharing|social|comments?|disqus|breadcrumbs?|byline|author-?bio|caption|"
    r"credits?|advertisement|sponsored|outbrain|taboola|sidebar)"
    r"(?:[-_]+(?:posts?|stories|articles?|links?|list|box|container|wrapper|area|section|"
    r"block|module|items?|bar|buttons?|tools|icons?|widget|form|signup))?$",
    re.IGNORECASE,
)
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})
_ARTICLE_TYPES = re.compile(r"(?:Article|Posting|Report|NewsArticle|BlogPosting)$")
# A block shorter than this share of the structured data's body means the visible page
# did not carry the article.
_STRUCTURED_BODY_SHARE = 0.5
_PARAGRAPH_TAGS = frozenset({"p", "item", "cell"})
_CONTAINER_TAGS = frozenset({"quote", "list", "div", "table", "row", "section"})
_FINAL = tuple(".!?:;…\"”’'»)")
# A line break of the page's source: white space to a reader.
_SOURCE_BREAK = re.compile(r"[\r\n]+")
# Text made this much of the page's link texts is a list of links (a site's front page, a
# folder listing), not an article. Over 38 real article pages the share was at most 0.1,
# over a folder listing 0.95.
_LINK_LIST_SHARE = 0.6
LINK_LIST = "the page is a list of links, not an article"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _page_tree(html: str) -> lxml_html.HtmlElement | None:
    # lxml refuses a str that declares its own encoding.
    text = _XML_DECLARATION.sub("", html, count=1)
    try:
        return lxml_html.document_fromstring(text)
    except (ValueError, TypeError, etree.ParserError):
        return None


def _page_language(tree: lxml_html.HtmlElement | None) -> str | None:
    if tree is None:
        return None
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
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


def _single_letter(element: lxml_html.HtmlElement) -> str | None:
    """The letter a drop-cap element shows, if that is all it shows."""
    if element.tag == "img":
        alt = (element.get("alt") or "").strip()
        return alt if len(alt) == 1 and alt.isalpha() else None
    text = element.text_content().strip()
    return text if len(text) == 1 and text.isalpha() and text.isupper() else None


def _mend_drop_caps(tree: lxml_html.HtmlElement) -> None:
    """Join a drop cap that sits in its own element back to the rest of its word."""
    for element in list(tree.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        letter = _single_letter(element)
        if letter is None:
            continue
        tail = element.tail or ""
        if tail[:1].islower():
            element.tail = letter + tail
            element.drop_tree()
            continue
        following = element.getnext()
        if tail.strip() or following is None:
            continue
        # The letter as a block of its own, the word's rest opening the next block.
        target = following
        while not (target.text or "").strip() and len(target):
            target = target[0]
        text = (target.text or "").lstrip()
        if text[:1].islower():
            target.text = letter + text
            element.drop_tree()


def _paragraph_text(element: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content()) for p in element.iter("p"))


def _prune_furniture(tree: lxml_html.HtmlElement) -> None:
    """Remove containers whose class or id names them as furniture, and captions."""
    total = _paragraph_text(tree)
    for element in list(tree.iter()):
        if not isinstance(element.tag, str) or element.tag in _KEEP_TAGS:
            continue
        if element.getparent() is None:
            continue
        names = f"{element.get('class') or ''} {element.get('id') or ''}".split()
        if element.tag == "figcaption" or (
            any(_FURNITURE_NAMES.match(name) for name in names)
            # A container holding much of the page's text is the page, whatever its name.
            and _paragraph_text(element) < 0.3 * total
        ):
            element.drop_tree()


def _structured_items(tree: lxml_html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page, nested graphs included."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                stack.extend(v for k, v in item.items() if k in {"@graph", "mainEntity"})


def _is_article_type(item: dict[str, Any]) -> bool:
    kinds = item.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(n, str) and _ARTICLE_TYPES.search(n) for n in names)


def _text_of(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _structured_body(items: list[dict[str, Any]]) -> list[str]:
    """The paragraphs of the longest ``articleBody`` (plain text or HTML)."""
    bodies = [_text_of(i.get("articleBody")) for i in items if _is_article_type(i)]
    body = max(bodies, key=len, default="")
    if not body:
        return []
    if re.search(r"<(?:p|br|div)\b", body, re.IGNORECASE):
        fragment = lxml_html.fragment_fromstring(body, create_parent="div")
        for br in fragment.iter("br"):
            br.tail = "\n" + (br.tail or "")
        blocks = [e.text_content() for e in fragment.iter("p", "li", "h2", "h3", "div")]
        body = "\n\n".join(b for b in blocks if b.strip()) or fragment.text_content()
    return [p.strip() for p in re.split(r"\n\s*\n|\n", body) if p.strip()]


def _source_text(text: str | None) -> str:
    """Text as a browser shows it: a newline of the page's source is a space (only a
    ``<br>``, which the extractor makes ``<lb/>``, breaks a line)."""
    return _SOURCE_BREAK.sub(" ", text) if text else ""


def _inline_text(element: etree._Element) -> str:
    """The text of a block; a line break (``<lb/>``) becomes a newline."""
    parts = [_source_text(element.text)]
    for child in element:
        parts.append("\n" if child.tag == "lb" else _inline_text(child))
        parts.append(_source_text(child.tail))
    return "".join(parts)


def _blocks(element: etree._Element) -> Iterator[tuple[str, str]]:
    """(kind, text) of each block under an extracted body, in order: ``head`` for
    headings, ``p`` for everything else. Containers yield their blocks, never their
    text as a whole, so nothing is repeated and nothing runs together."""
    for child in element:
        tag = child.tag
        has_blocks = any(
            c.tag in _PARAGRAPH_TAGS or c.tag in _CONTAINER_TAGS or c.tag == "head" for c in child
        )
        if tag in _CONTAINER_TAGS or (tag in _PARAGRAPH_TAGS and has_blocks):
            if (child.text or "").strip():
                yield "p", _source_text(child.text)
            yield from _blocks(child)
        elif tag == "head":
            yield "head", _inline_text(child)
        elif tag in _PARAGRAPH_TAGS or tag not in {"lb", "graphic"}:
            yield "p", _inline_text(child)
        if (child.tail or "").strip():
            yield "p", _source_text(child.tail)


def _lines(text: str) -> list[str]:
    """A block's lines, a line joined to the next when the next continues its sentence."""
    lines: list[str] = []
    for raw in text.translate(_INVISIBLE).split("\n"):
        line = collapse_spaces(raw)
        if not line:
            continue
        if lines and not lines[-1].endswith(_FINAL) and line[:1].islower():
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def _sort_blocks(blocks: list[tuple[str, str]], title: str) -> tuple[list[str], list[str]]:
    """Paragraphs and headings out of raw blocks: furniture dropped, datelines taken off
    the opening paragraphs, repeated blocks counted once."""
    paragraphs: list[str] = []
    headings: list[str] = []
    seen: set[str] = set()
    title_key = title.casefold()
    for kind, raw in blocks:
        for line in _lines(raw):
            key = line.casefold()
            if key in seen or key == title_key:
                continue
            seen.add(key)
            if kind == "head" or is_heading(line):
                headings.append(line)
                continue
            text = article_line(line, len(paragraphs))
            if text is not None:
                paragraphs.append(text)
    return paragraphs, headings


def _link_share(tree: lxml_html.HtmlElement, paragraphs: list[str]) -> float:
    """The share of the paragraphs' characters (spaces aside) that are the whole text of
    one of the page's links, matched word by word."""
    links: dict[str, set[tuple[str, ...]]] = {}
    for anchor in tree.iter("a"):
        link = tuple(anchor.text_content().split())
        if link:
            links.setdefault(link[0], set()).add(link)
    longest_first = {first: sorted(found, key=len, reverse=True) for first, found in links.items()}
    total = covered = 0
    for paragraph in paragraphs:
        words = paragraph.split()
        total += sum(map(len, words))
        at = 0
        while at < len(words):
            step = 1
            for link in longest_first.get(words[at], ()):
                if tuple(words[at : at + len(link)]) == link:
                    covered += sum(map(len, link))
                    step = len(link)
                    break
            at += step
    return covered / total if total else 0.0


def _meta(tree: lxml_html.HtmlElement, *names: str) -> list[str]:
    out: list[str] = []
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or ""
        if key.lower() in names and (element.get("content") or "").strip():
            out.append(element.get("content") or "")
    return out


def _host_names(*urls: str) -> list[str]:
    names: list[str] = []
    for url in urls:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        if host:
            labels = host.split(".")
            names.extend([host, *labels[:-1]])
    return names


def _title(
    tree: lxml_html.HtmlElement | None,
    items: list[dict[str, Any]],
    document: Document,
    body: str,
    url: str,
) -> str:
    fallback = collapse_spaces(document.title or "")
    if tree is None:
        return fallback
    headings = [collapse_spaces(h.text_content()) for h in tree.iter("h1")]
    head = tree.find("head")
    tab = [] if head is None else [e.text_content() for e in head.iter("title")][:1]
    structured = [_text_of(i.get("headline")) for i in items if _is_article_type(i)]
    metadata = [
        *_meta(tree, "og:title"),
        *structured,
        *_meta(tree, "twitter:title"),
        *tab,
        fallback,
    ]
    canonical = [e.get("href") or "" for e in tree.iter("link") if e.get("rel") == "canonical"]
    publisher = [
        _text_of(p.get("name")) for i in items if isinstance(p := i.get("publisher"), dict)
    ]
    sites = [
        *_meta(tree, "og:site_name", "application-name", "twitter:site"),
        *publisher,
        collapse_spaces(document.sitename or ""),
        *_host_names(url, *_meta(tree, "og:url"), *canonical),
    ]
    sources = TitleSources(
        headings=headings,
        metadata=[m.translate(_INVISIBLE) for m in metadata],
        site_names=[s.lstrip("@") for s in sites if s],
        body=body,
    )
    return choose_title(sources) or fallback


def parse_html(html: str, *, url: str = "", source: str = "") -> Article:
    """Extract the main text of a page with its title, date, site name and language."""
    # Characters XML cannot hold make lxml (and trafilatura through it) raise; no reader
    # sees them in a page anyway.
    html = _NOT_XML.sub(" ", html)
    if not html.strip():
        raise SummarizerError("nothing to summarize: the page is empty")
    tree = _page_tree(html)
    if tree is not None:
        work: Any = copy.deepcopy(tree)
        _mend_drop_caps(work)
        _prune_furniture(work)
    else:
        work = html
    document = trafilatura.bare_extraction(
        work,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(document, Document) or document.body is None:
        raise SummarizerError("no article text found on the page")
    items = list(_structured_items(tree)) if tree is not None else []
    blocks = list(_blocks(document.body))
    visible = sum(len(text) for kind, text in blocks if kind == "p")
    structured = _structured_body(items)
    if structured and (
        visible < _STRUCTURED_BODY_SHARE * sum(len(p) for p in structured)
        # The same text as one block: the structured data keeps its paragraphs.
        or "".join("".join(text.split()) for kind, text in blocks if kind == "p")
        == "".join("".join(p.split()) for p in structured)
    ):
        blocks = [("p", p) for p in structured]
    body_text = " ".join(text for _, text in blocks)[:3000]
    title = _title(tree, items, document, body_text, url)
    paragraphs, headings = _sort_blocks(blocks, title)
    if not paragraphs:
        raise SummarizerError("no article text found on the page")
    if tree is not None and _link_share(tree, paragraphs) >= _LINK_LIST_SHARE:
        raise SummarizerError(LINK_LIST)
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        published=_parse_date(document.date),
        source=source or collapse_spaces(document.sitename or ""),
        url=url or (document.url or ""),
        language=_page_language(tree) or document.language,
    )
