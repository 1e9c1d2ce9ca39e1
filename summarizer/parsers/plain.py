"""Plain text: paragraphs separated by blank lines (or one per line)."""

from __future__ import annotations

import re

from ..article import Article
from ..errors import SummarizerError
from .furniture import article_line, is_furniture
from .lines import clean_text, collapse_spaces, is_heading

_BLANK_LINE = re.compile(r"\n\s*\n")


def parse_plain(text: str, *, title: str = "", source: str = "", url: str = "") -> Article:
    """Parse pasted or plain text. A short first line without final punctuation is the title."""
    text = clean_text(text).strip()
    if not text:
        raise SummarizerError("nothing to summarize: the text is empty")
    if _BLANK_LINE.search(text):
        blocks = [b.strip() for b in _BLANK_LINE.split(text)]
        # Inside a block, single newlines are line wrapping unless the line is a heading.
        lines: list[str] = []
        for block in blocks:
            block_lines = [line.strip() for line in block.split("\n") if line.strip()]
            if len(block_lines) > 1 and is_heading(block_lines[0]):
                lines.append(block_lines[0])
                block_lines = block_lines[1:]
            if block_lines:
                lines.append(" ".join(block_lines))
    else:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
    # Lines of furniture above the headline (a byline, a date, "FOR IMMEDIATE RELEASE")
    # are not the title: the first line after them may be.
    lead = 0
    while lead < len(lines) - 1 and is_furniture(collapse_spaces(lines[lead])):
        lead += 1
    if not title and len(lines) - lead > 1 and is_heading(lines[lead]):
        title, lines = lines[lead], lines[:lead] + lines[lead + 1 :]
    paragraphs: list[str] = []
    headings: list[str] = []
    for index, line in enumerate(lines):
        if index < len(lines) - 1 and is_heading(line) and paragraphs:
            headings.append(collapse_spaces(line))
            continue
        # Text copied from a page carries its furniture too: datelines, bylines, credits.
        kept = article_line(collapse_spaces(line), len(paragraphs))
        if kept is not None:
            paragraphs.append(kept)
    if not paragraphs:  # nothing but furniture: summarized as given rather than refused
        paragraphs = [collapse_spaces(line) for line in lines]
    return Article(
        title=collapse_spaces(title),
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        source=source,
        url=url,
    )
