"""Feed markup to plain text: what a reader would see of an HTML fragment.

Feeds put HTML (or double-escaped HTML) in titles and bodies; everything here is
untrusted. Scripts, styles and other non-text elements disappear with their content,
entities are decoded once, block elements end paragraphs, white space collapses.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from summarizer import Article

MAX_TITLE_CHARS = 300
# A body shorter than this, or with fewer sentences, is a teaser worth replacing.
TEASER_CHARS = 500
TEASER_SENTENCES = 3

# Elements whose content is never reader-visible text.
_DROP_ELEMENTS = (
    "head",
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "button",
    "select",
    "textarea",
)
# Elements that end a paragraph.
_BLOCK_ELEMENTS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_LEFTOVER_TAG = re.compile(r"<[A-Za-z/!?]")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*(?=\s|$)")


def _text_pieces(root: Any) -> list[str]:
    pieces: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        is_block = isinstance(element.tag, str) and element.tag.lower() in _BLOCK_ELEMENTS
        if event == "start":
            if is_block:
                pieces.append("\n\n")
            if element.text:
                pieces.append(element.text)
        else:
            if is_block:
                pieces.append("\n\n")
            if element.tail and element is not root:
                pieces.append(element.tail)
    return pieces


def html_paragraphs(markup: str) -> list[str]:
    """The reader-visible text of an HTML fragment, one string per paragraph.

    Scripts, styles and other non-text elements disappear with their content; entities
    are decoded once; block elements and ``<br>`` end paragraphs; white space collapses.
    """
    # lxml refuses Unicode text that declares an encoding, so the declaration goes.
    markup = _XML_DECLARATION.sub("", _CONTROL.sub(" ", markup))
    if not markup.strip():
        return []
    try:
        root = lxml_html.document_fromstring(markup)
    except (etree.LxmlError, ValueError):
        return []
    etree.strip_elements(
        root, etree.Comment, etree.ProcessingInstruction, *_DROP_ELEMENTS, with_tail=False
    )
    text = "".join(_text_pieces(root))
    paragraphs = (" ".join(block.split()) for block in PARAGRAPH_BREAK.split(text))
    return [p for p in paragraphs if p]


def plain_title(markup: str, *, limit: int = MAX_TITLE_CHARS) -> str:
    """A title as one line of plain text, whatever markup or entities the feed put in it."""
    title = " ".join(html_paragraphs(markup))
    if _LEFTOVER_TAG.search(title):
        # Double-escaped markup ("&amp;lt;b&amp;gt;") decodes to tags the first time round.
        title = " ".join(html_paragraphs(title))
    if len(title) > limit:
        title = title[: limit - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return title


def sentence_count(text: str) -> int:
    """A rough count of sentences: final punctuation marks, plus an unterminated tail."""
    text = text.strip()
    if not text:
        return 0
    ends = list(_SENTENCE_END.finditer(text))
    tail = text[ends[-1].end() :].strip() if ends else text
    return len(ends) + (1 if tail else 0)


def is_teaser(article: Article) -> bool:
    """True when the body is too short to be the article itself."""
    text = article.text
    return len(text) < TEASER_CHARS or sentence_count(text) < TEASER_SENTENCES
