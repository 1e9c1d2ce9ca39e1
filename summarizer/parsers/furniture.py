"""Page furniture that text extraction lets through: lines that are not the article.

News pages surround the article with datelines, bylines, time stamps, reading times,
photo captions and credits, breadcrumbs and "originally appeared on" notes. An extractor
keeps some of them because they sit inside the article's container. None of them belongs
in a summary, and a reader notices at once when one does. The rules below look at the
shape of a line (what words it is made of), never at which site it comes from.
"""

from __future__ import annotations

import re

# Month and weekday names (English, German, French, Spanish, Italian, Dutch).
_CALENDAR_NAMES = """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    januar jänner februar märz april mai juni juli oktober dezember
    janvier février mars avril juin juillet août septembre octobre novembre décembre
    enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
    gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre
    januari februari maart mei augustus
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur
    thurs fri sat sun montag dienstag mittwoch donnerstag freitag samstag sonntag
    lundi mardi mercredi jeudi vendredi samedi dimanche
"""
_CALENDAR = frozenset(_CALENDAR_NAMES.split())
# Words that only ever surround a date or a time ("Updated", "Uhr", "ago", "Lesezeit").
_DATE_FILLERS = """
    published updated posted modified last edited date datum stand veröffentlicht
    aktualisiert zuletzt publié publiée mis à jour le la du de am um an at on the of et
    and und uhr h am pm a.m. p.m. a.m p.m hours hour hrs minutes minute mins min ago
    vor stunden stunde minuten read reading lesezeit lecture time today heute yesterday
    gestern hier aujourd'hui since seit
"""
_DATE_WORDS = _CALENDAR | frozenset(_DATE_FILLERS.split())
_DATE_TOKEN = re.compile(
    r"\d{1,4}(?:st|nd|rd|th|er|e|\.)?|\d{1,2}[:.h]\d{2}(?:[:.]\d{2})?(?:am|pm|h)?"
    r"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|[A-Z]{2,4}|\d+/\d+"
)
_PUNCT = ".,;:()[]|/-–—•·"

_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
_NAMES = rf"{_NAME}(?:\s+(?:{_NAME}|van|von|de|der|den|da|di|du|la|le|bin))*"
_NAME_LIST = rf"{_NAMES}(?:\s*(?:,|&|\band\b|\bund\b|\bet\b|\by\b)\s*{_NAMES})*"
_BYLINE = re.compile(rf"^\W*(?i:by|von|par|por|door|di|av|af)\s+{_NAME_LIST}\W*$")
_BYLINE_LABEL = re.compile(
    r"^\W*(?:written by|words by|author|authors|autor|autorin|autoren|auteur|auteurs|text|"
    r"texte|reporter|redaktion)\s*:\s*\S.{0,80}$",
    re.IGNORECASE,
)
_CREDIT_START = re.compile(
    r"^\W*(?:photo(?:graph)?s?|images?|pictures?|fotos?|bild(?:er)?|credits?|crédits?|"
    r"sources?|quelle|illustrations?|grafik|header image|featured image|beitragsbild|"
    r"titelbild|image illustrative|image d'illustration|vidéo|video)"
    r"(?:\s+credits?)?\s*(?::|©|\bby\b|\bvon\b|\bpar\b)"
    r"|^\W*©"
    r"|^\W*\(?via\s"
    r"|^\W*(?:additional\s+)?(?:reporting|editing|writing|research|compiled|translated)"
    r"(?:\s+and\s+\w+)?\s+by\s+(?-i:[A-ZÀ-Þ])"
    r"|^\W*courtesy of\b",
    re.IGNORECASE,
)
# A caption that ends with its credit: "... on Monday. Photo: AP", "... (Foto: dpa)".
_CREDIT_END = re.compile(
    r"(?:^|[.!?)\s])(?:photo(?:graph)?|foto|bild|image|credit|crédit|picture)s?\s*"
    r"(?::|©|\bby\b)\s*[^.!?]{1,80}[.)]?\s*$"
    r"|\((?:photo|foto|bild|image|credit|crédit)s?\b[^()]{0,80}\)\s*$",
    re.IGNORECASE,
)
_READING_TIME = re.compile(
    r"^\W*(?:\d+\s*(?:min(?:ute)?s?|minuten)\.?\s*(?:read|lesezeit|de lecture)"
    r"|(?:reading time|read time|lesezeit|lesedauer|temps de lecture)\s*:?\s*\d+)",
    re.IGNORECASE,
)
_REPUBLISHED = re.compile(
    r"^\W*(?:this|the)\s+(?:article|story|post|piece|column|report)\s+(?:was\s+|is\s+)?"
    r"(?:originally|first)\s+(?:appeared|published|ran|posted)\b",
    re.IGNORECASE,
)
_BREADCRUMB_SEPARATOR = re.compile(r"\s*[>›»/|]\s*")
# A pointer to other pages: "Read more ...", "See also: ...", "Lire aussi : ..."
_CROSS_REFERENCE = re.compile(
    r"^\W*(?:read (?:more|also)|see also|related(?: stories| articles)?\s*:|more on this|"
    r"lire aussi|à lire aussi|voir aussi|lesen sie (?:auch|mehr)|mehr zum thema|"
    r"leer más|lea también|ver también|leggi anche|leia também|veja também|"
    r"читайте (?:также|також)|см\. также)\b",
    re.IGNORECASE,
)
# A row of sharing buttons, as text: "Share this article", "Facebook Twitter WhatsApp Email".
_SHARING = """share this article story page post facebook twitter x whatsapp email e-mail
    mail linkedin telegram reddit pinterest threads bluesky mastodon messenger print copy
    link teilen artikel seite drucken partager cet imprimer compartir este artículo
    imprimir condividi questo articolo stampa compartilhar"""
_SHARING_WORDS = frozenset(_SHARING.split())
# A press release's label line.
_RELEASE_LABEL = re.compile(
    r"^\W*(?:for immediate release|press release|news release|embargoed until\b.{0,60})\W*$",
    re.IGNORECASE,
)
# A cookie banner's sentence: cookies, in words addressed to the visitor ("we use",
# "you agree"). An article about cookie rules speaks of them otherwise, and stays.
_COOKIES = re.compile(r"\bcookies?\b", re.IGNORECASE)
_CONSENT = re.compile(
    r"\b(?:we use|(?:this|our) (?:site|website) uses|our use of|you (?:agree|accept|consent)|"
    r"by (?:continuing|using this)|accept all|manage (?:preferences|settings|cookies))\b",
    re.IGNORECASE,
)

# "LOS ANGELES (Reuters) - ", "Frankfurt/Main (dpa) - ", "(CNN) -- ", "BERLIN, June 3 (AP) —".
# Also "MADRID, 5 de mayo (EFE).- " and a wire between slashes, "SAN JOSE, Calif., March
# 4, 2025 /PRNewswire/ -- ".
_DATELINE = re.compile(
    r"^(?P<place>[^\s()][^()]{0,60}?)?\s*"
    r"(?:\((?P<agency>[A-Za-z][^()]{0,30})\)|/(?P<wire>[A-Za-z][^/\s]{0,30})/)"
    r"\.?\s*[-–—:]+\s*"
)
# "PARIS — ", "NEW YORK, June 3 - ": a place in capitals and a dash.
_CAPITAL_DATELINE = re.compile(
    r"^[A-ZÀ-Þ]{2,}(?:[ ./-]+[A-ZÀ-Þ]{2,}){0,3}(?:,\s*[A-Z][a-z]+\.?(?:\s+\d{1,2})?)?"
    r"\s+[-–—]+\s+"
)


def _is_date_only(text: str) -> bool:
    tokens = [t.strip(_PUNCT) for t in text.split()]
    tokens = [t for t in tokens if t]
    if not tokens:
        return False
    dated = False
    for token in tokens:
        low = token.casefold()
        if low in _DATE_WORDS or _DATE_TOKEN.fullmatch(token):
            dated = dated or any(c.isdigit() for c in token) or low in _CALENDAR
            continue
        return False
    return dated


def _is_byline(text: str) -> bool:
    return bool(_BYLINE_LABEL.match(text) or _BYLINE.match(text))


def _is_breadcrumb(text: str) -> bool:
    parts = [p for p in _BREADCRUMB_SEPARATOR.split(text) if p]
    return (
        len(parts) >= 3
        and all(len(p.split()) <= 4 for p in parts)
        and not text.rstrip().endswith((".", "!", "?"))
    )


def is_furniture(text: str) -> bool:
    """True for a line that is page furniture rather than article text: a date or time,
    a byline, a dateline alone, a credit or a captioned credit, a reading time, a
    breadcrumb trail, a note that the article appeared elsewhere first, a pointer to
    other pages ("Read more ...") or a cookie banner's sentence."""
    text = text.strip()
    if not text:
        return True
    if _CREDIT_START.match(text) or _READING_TIME.match(text) or _REPUBLISHED.match(text):
        return True
    if len(text) < 200 and (_CROSS_REFERENCE.match(text) or _RELEASE_LABEL.match(text)):
        return True
    words = [w.strip(_PUNCT + " ").casefold() for w in text.split()]
    if len(words) <= 8 and all(w in _SHARING_WORDS for w in words if w):
        return True
    if len(text) < 300 and _COOKIES.search(text) and _CONSENT.search(text):
        return True
    if len(text) < 200 and _CREDIT_END.search(text):
        return True
    if _is_breadcrumb(text):
        return True
    parts = [p for p in re.split(r"\s*[|•·]\s*|\s+[-–—]\s+", text) if p.strip(_PUNCT + " ")]
    if parts and all(_is_date_only(p) or _is_byline(p) for p in parts):
        return True
    return not strip_dateline(text)


def strip_dateline(text: str) -> str:
    """The paragraph without a dateline in front ("LOS ANGELES (Reuters) - South
    Korean..." -> "South Korean..."); unchanged when it has none."""
    match = _DATELINE.match(text)
    if match:
        place = (match["place"] or "").strip(" ,")
        agency = match["agency"] or match["wire"]
        rest = text[match.end() :]
        if (
            len(place.split()) <= 6
            and (not place or place[0].isupper())
            and len(agency.split()) <= 4
            and (not rest or rest[0].isupper() or rest[0] in "\"“„«'‘")
        ):
            return rest
    match = _CAPITAL_DATELINE.match(text)
    if match and text[match.end() : match.end() + 1].isupper():
        return text[match.end() :]
    return text


# Datelines open an article: only its first few paragraphs are looked at.
DATELINE_PARAGRAPHS = 3


def article_line(line: str, position: int) -> str | None:
    """A paragraph as article text: without its dateline when it is one of the first
    ``DATELINE_PARAGRAPHS`` (``position`` counts the paragraphs kept before it), or None
    when it is furniture (the rule of pages and of pasted text alike)."""
    if position < DATELINE_PARAGRAPHS:
        line = strip_dateline(line)
    return None if is_furniture(line) else line
