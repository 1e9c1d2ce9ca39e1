"""What a sentence needs from its neighbours to be read on its own.

An extractive summary copies sentences out of their context. Two things then break for
the reader: a sentence that opens with a pronoun or a connective ("She said...", "But the
plan...") leans on the sentence before it, and a quotation that the article spreads over
several sentences is cut in half. This module finds both, so the selection can take the
neighbour along or leave the sentence out; it never changes a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum

from .languages import Language
from .tokenize import starts_lower_case

# Fewer words than this is a label or a fragment, not a sentence a reader can use.
MIN_WORDS = 4

# Words that, opening a sentence, point back at something said before. References
# (personal and possessive pronouns of the third person, demonstratives, and German
# pronominal adverbs such as "dabei") leave the reader asking who or what is meant;
# connectives that contrast or add to the previous sentence ("But", "Aber", "Mais") only
# hide what the sentence answers. Kept to words that are rarely anything else in that
# position ("There", "Then" or German "Das" are often not references, so they are out).
_REFERENCES: dict[str, str] = {
    "english": "he she they it his her their its this these that those",
    "german": "er sie es ihr ihre ihm ihn ihnen sein seine seiner dies diese dieser dieses "
    "dabei damit dadurch dafür darüber",
    "french": "il elle ils elles cela ceci ça celui celle ceux celles son sa ses leur leurs",
    "spanish": "él ella ellos ellas esto eso este esta estos estas ese esa su sus",
    "italian": "lui lei loro egli ella esso essa questo questa questi queste quello quella "
    "ciò suo sua suoi sue",
    "portuguese": "ele ela eles elas isto isso este esta estes estas seu sua seus suas",
    "dutch": "hij zij ze het zijn haar hun dit deze die dat",
}
_CONNECTIVES: dict[str, str] = {
    "english": "but however also still yet",
    "german": "deshalb deswegen daher trotzdem dennoch doch aber allerdings jedoch zudem "
    "außerdem auch ebenfalls",
    "french": "mais cependant pourtant toutefois néanmoins aussi donc ainsi",
    "spanish": "pero también además",
    "italian": "ma però tuttavia inoltre anche",
    "portuguese": "mas porém contudo também além",
    "dutch": "maar echter ook bovendien toch",
}
_REFERENCE_SETS = {lang: frozenset(words.split()) for lang, words in _REFERENCES.items()}
_CONNECTIVE_SETS = {lang: frozenset(words.split()) for lang, words in _CONNECTIVES.items()}
# Two-word connectives ("sin embargo", "en outre"), each with the word that, right after
# it, makes it a phrase of the sentence's own instead ("In addition to the fee, ...",
# "De plus en plus de ...").
_CONNECTIVE_PAIRS: dict[str, str] = {
    "sin embargo": "",
    "en outre": "",
    "de plus": "en",
    "par ailleurs": "",
    "in addition": "to",
}
# A connective followed within this many words by a reference leans on the sentence
# before for its subject too ("But he said...", "Jedoch sagte er...").
_SUBJECT_WINDOW = 3


class Lean(IntEnum):
    """How much a sentence needs the sentence before it to be understood."""

    NONE = 0
    # Opens with a connective and names its own subject ("But the council said..."): the
    # reader misses what it contrasts with, not what it is about.
    CONNECTIVE = 1
    # Opens with a pronoun or demonstrative (or a connective followed by one), or quotes a
    # bare pronoun ("..., he said."): the reader cannot tell who or what it is about.
    REFERENCE = 2


# A quotation attributed to a bare pronoun: '"...," he said.' or '..., sagte er.'
_ATTRIBUTION: dict[str, re.Pattern[str]] = {
    "english": re.compile(
        r"\b(?:he|she|they)\s+(?:\w+ly\s+)?(?:said|says|added|adds|told|tells|explained|"
        r"noted|continued|wrote|writes|argued|insisted|warned|stressed|recalled|asked|"
        r"claimed|explains|notes|continues|argues|insists|warns|recalls|asks|claims)\b"
        # Inverted ('"...," said he.'), not reported speech ("Mr Lee said he would go").
        r"|\b(?:said|added|explained|noted|wrote|continued)\s+(?:he|she)\s*(?:[.,;:!?]|$)",
        re.IGNORECASE,
    ),
    "german": re.compile(
        r"\b(?:sagte|sagt|erklärte|erklärt|betonte|betont|fügte|schrieb|meinte|meint)"
        r"\s+(?:er|sie)\b|[,\"“”]\s*so\s+(?:er|sie)\b",
        re.IGNORECASE,
    ),
    "french": re.compile(
        r"\b(?:a-t-(?:il|elle)|dit-(?:il|elle)|explique-t-(?:il|elle)|"
        r"ajoute-t-(?:il|elle)|estime-t-(?:il|elle)|selon (?:lui|elle|eux))\b",
        re.IGNORECASE,
    ),
}
_LEADING = "\"'“‘«„»‹(["
_FIRST_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_APOSTROPHE = re.compile(r"['’]")

_QUOTES = frozenset('"“”„«»')
_OPEN_BEFORE = frozenset("([{/-–—")
_CLOSE_AFTER = frozenset(".,;:!?)]}/-–—…'’")


def lean(sentence: str, language: Language) -> Lean:
    """How the sentence leans on the one before it: not at all, through an opening
    connective, or through a reference (pronoun, demonstrative, bare-pronoun speaker)."""
    start = sentence.lstrip().lstrip(_LEADING).lstrip()
    first = _FIRST_WORDS.findall(start[:80])
    references = _REFERENCE_SETS.get(language.name, frozenset())
    if first and first[0][:1].isupper():  # a capitalized opener, not a word cut out
        # "It's", "That's": the word before the apostrophe. A two-word connective and the
        # words that may hold a reference after it are all that is looked at.
        lowered = [_APOSTROPHE.split(w, 1)[0].lower() for w in first[: 2 + _SUBJECT_WINDOW]]
        if lowered[0] in references:
            return Lean.REFERENCE
        rest: list[str] | None = None
        if lowered[0] in _CONNECTIVE_SETS.get(language.name, frozenset()):
            rest = lowered[1:]
        elif len(lowered) > 1:
            pair = f"{lowered[0]} {lowered[1]}"
            phrase = _CONNECTIVE_PAIRS.get(pair)
            if phrase is not None and (not phrase or lowered[2:3] != [phrase]):
                rest = lowered[2:]
        if rest is not None:
            if references.intersection(rest[:_SUBJECT_WINDOW]):
                return Lean.REFERENCE
            return Lean.CONNECTIVE
    pattern = _ATTRIBUTION.get(language.name)
    if pattern and pattern.search(sentence):
        return Lean.REFERENCE
    return Lean.NONE


def leans_back(sentence: str, language: Language) -> bool:
    """True if the sentence points back at the one before it in any way."""
    return lean(sentence, language) is not Lean.NONE


def is_fragment(sentence: str, n_words: int) -> bool:
    """A line too short to stand as a sentence, or a piece cut out of a longer one."""
    return n_words < MIN_WORDS or starts_lower_case(sentence)


def _role(char: str, before: str, after: str, inside: bool) -> int:
    """+1 if this quotation mark opens a quotation, -1 if it closes one.

    Marks are judged by what stands next to them (an opening mark follows a space and
    precedes a word, a closing one the reverse), which copes with “…”, „…“, «…», »…« and
    straight quotes alike; when the neighbours do not tell, the mark's usual role decides.
    """
    if char == "„":
        return 1
    space_before = not before or before.isspace() or before in _OPEN_BEFORE
    space_after = not after or after.isspace() or after in _CLOSE_AFTER
    if space_before and not space_after:
        return 1
    if space_after and not space_before:
        return -1
    if char in "“«":
        return 1
    if char in "”»":
        return -1
    return -1 if inside else 1


def quote_steps(sentence: str, depth: int = 0) -> tuple[int, int]:
    """Follow the quotation marks of a sentence entered at ``depth``: the lowest depth
    reached and the depth at its end. A negative lowest depth closes a quotation that
    was opened before the sentence."""
    lowest = depth
    for i, char in enumerate(sentence):
        if char not in _QUOTES:
            continue
        before = sentence[i - 1] if i else ""
        after = sentence[i + 1] if i + 1 < len(sentence) else ""
        depth += _role(char, before, after, depth > 0)
        lowest = min(lowest, depth)
    return lowest, depth


def quote_groups(paragraph_sentences: Sequence[str], max_sentences: int) -> list[int | None]:
    """For each sentence of one paragraph, the index (in the paragraph) of the first
    sentence of its quotation group: sentences of one group must be taken together.
    ``None`` marks a sentence whose quotation does not close (or closes one that never
    opened) within ``max_sentences`` sentences of the paragraph.

    A group is a run of consecutive sentences that opens and closes its quotations; most
    sentences are a group of their own.
    """
    groups: list[int | None] = [None] * len(paragraph_sentences)
    steps = [quote_steps(sentence) for sentence in paragraph_sentences]
    i = 0
    while i < len(paragraph_sentences):
        depth = 0
        for j in range(i, min(len(paragraph_sentences), i + max_sentences)):
            lowest, depth = quote_steps(paragraph_sentences[j], depth) if depth else steps[j]
            if lowest < 0:
                break  # closes a quotation opened before sentence i
            if depth == 0:
                groups[i : j + 1] = [i] * (j + 1 - i)
                i = j
                break
        # Unresolved: sentence i stays None and the next one is tried as a start.
        i += 1
    return groups
