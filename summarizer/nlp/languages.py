"""Per-language resources (stemmer, stop words, abbreviations), all shipped offline.

Every language sumy ships a stemmer or a stop-word list for is supported. Anything else
falls back to the *generic* language: lower-casing instead of stemming, no stop words and
the language-neutral sentence splitter. The summary is still produced, just with a little
less precision in which words count as the same. The same fallback (lower-casing) is
used for Greek and Polish stemming unless the optional packages sumy needs for them are
installed (``pip install greek-stemmer-pos pystempel``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from sumy.nlp.stemmers import Stemmer as SumyStemmer
from sumy.utils import get_stop_words

GENERIC = "generic"

# ISO 639-1 codes (and a few common aliases) to the language names sumy uses.
ISO_CODES: dict[str, str] = {
    "ar": "arabic",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "he": "hebrew",
    "iw": "hebrew",
    "hu": "hungarian",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sk": "slovak",
    "sv": "swedish",
    "th": "thai",
    "uk": "ukrainian",
    "zh": "chinese",
}

SUPPORTED: frozenset[str] = frozenset(ISO_CODES.values())

# How text in a language is cut into sentences and words.
CJK_LANGUAGES = frozenset({"chinese", "japanese"})
UNSPACED_LANGUAGES = frozenset({"thai"})

# Abbreviations after which a period does not end a sentence (lower case, without the
# final period, as Punkt expects them). Abbreviations that are also common words (ill,
# miss, art, sun, wed, mass, ore, ...) are left out: such a word ends sentences far more
# often than it abbreviates anything.
_ENGLISH_ABBREVIATIONS = (
    "mr mrs ms dr prof sr jr st mt ft gen lt col maj capt cmdr adm sgt cpl pvt gov sen rep "
    "pres supt det insp rev hon messrs mme mlle "
    "inc corp ltd co bros plc llc dept univ assn est approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "mon tue tues thu thur thurs fri "
    "no nos vol vols fig figs p pp eds ch sec "
    "e.g i.e etc vs v al cf ca viz "
    "u.s u.k u.n u.s.a e.u d.c n.y l.a a.m p.m "
    "ala ariz ark calif colo conn fla ga ind kan ky md mich minn "
    "neb nev okla tenn tex vt wis wyo"
)
_ABBREVIATIONS: dict[str, str] = {
    "english": _ENGLISH_ABBREVIATIONS,
    "german": "z.b d.h u.a usw bzw vgl ca nr dr prof hr fr str jh mio mrd inkl evtl ggf s z.t u.s",
    "french": "m mm mme mlle dr pr st ste av apr j.-c etc cf p ex env n°",
    "spanish": "sr sra srta dr dra ud uds etc p.ej pág núm av ee.uu",
    "italian": "sig sigg dott prof ing avv on es ecc pag n",
    "portuguese": "sr sra dr dra prof av etc p.ex pág n",
    "dutch": "dhr mevr dr prof bijv o.a d.w.z enz nr ca",
    "swedish": "t.ex bl.a s.k d.v.s osv nr ca",
    "danish": "f.eks bl.a dvs osv nr ca hr",
    "norwegian": "f.eks bl.a dvs osv nr ca",
    "czech": "tzv atd apod např mj resp č",
    "slovak": "tzv atď napr resp č",
    "polish": "np itd itp tzw ok godz ul prof dr nr",
    "russian": "т.е т.д т.п г гг ул им др см",
    "ukrainian": "ім о вул просп бул пров пл г р див п с м т.д т.п",
    "greek": "π.χ κ.α κ.λπ κ.τ.λ δηλ βλ σελ κεφ τηλ",
}


@dataclass(frozen=True)
class Language:
    """What the summarizer needs to know about one language."""

    name: str
    stemmer: Callable[[str], str]
    stop_words: frozenset[str]
    abbreviations: frozenset[str]

    @property
    def is_generic(self) -> bool:
        """True for the fallback used when the language is unknown or unsupported."""
        return self.name == GENERIC


def normalize_language(value: str | None) -> str:
    """Map 'en', 'en-US', 'English' or 'english' to a supported name, else GENERIC."""
    if not value:
        return GENERIC
    key = value.strip().lower().replace("_", "-")
    if key in SUPPORTED:
        return key
    return ISO_CODES.get(key.split("-")[0], GENERIC)


def _lowercase(word: str) -> str:
    return word.lower()


@functools.cache
def get_language(value: str | None) -> Language:
    """Resources for a language name or code; unknown names get the generic fallback."""
    name = normalize_language(value)
    if name == GENERIC:
        return Language(GENERIC, _lowercase, frozenset(), frozenset())
    sumy_stem: Callable[[str], str]
    try:
        sumy_stem = SumyStemmer(name)
        # Greek and Polish stemmers need optional packages (greek-stemmer-pos, pystempel)
        # that sumy imports on first use: probe now so a missing one falls back here.
        sumy_stem("test")
    except (LookupError, ValueError, ImportError):
        sumy_stem = _lowercase
    try:
        stop_words = frozenset(w.lower() for w in get_stop_words(name))
    except LookupError:
        stop_words = frozenset()
    # Stemming is the costliest step per word; news repeats its words a lot.
    stemmer = functools.lru_cache(maxsize=200_000)(sumy_stem)
    abbreviations = frozenset(_ABBREVIATIONS.get(name, "").split())
    return Language(name, stemmer, stop_words, abbreviations)
