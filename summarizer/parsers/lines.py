"""Line-level rules shared by the text parsers."""

from __future__ import annotations

import re

_FINAL_PUNCTUATION = tuple(".!?:;…,\"”’'»)]")
_MAX_HEADING_WORDS = 14
_MAX_HEADING_CHARS = 110
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_heading(line: str) -> bool:
    """A short line that starts with a capital or digit and has no final punctuation.

    Such lines are section headings ("Strengthening the U.S.-Israel Alliance"); they
    describe the text but are not part of it, so they must never enter a summary.
    """
    line = line.strip()
    if not line or len(line) > _MAX_HEADING_CHARS:
        return False
    if len(line.split()) > _MAX_HEADING_WORDS:
        return False
    if line.endswith(_FINAL_PUNCTUATION):
        return False
    first = line[0]
    return first.isupper() or first.isdigit() or not first.isalpha()


def clean_text(text: str) -> str:
    """Normalize line endings and drop control characters and the BOM."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return _CONTROL.sub("", text)


def collapse_spaces(text: str) -> str:
    """Collapse runs of white space inside a paragraph into single spaces."""
    return " ".join(text.split())
