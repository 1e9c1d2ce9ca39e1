"""How the command line words numbers of things (the bot's messages use Babel's plurals)."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str = "") -> str:
    """ "1 article", "2 articles", "0 articles" (``plural`` when adding an s will not do)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
