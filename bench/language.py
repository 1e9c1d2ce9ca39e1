"""Language detection: the hand-written detector against maintained libraries.

    python bench/language.py

Detectors: ``handwritten`` (writing system, then function-word counts: the detector this
project had, kept below as the reference), ``shipped`` (``detect_language`` as it is now),
``py3langid`` (naive Bayes over byte n-grams, the model ships in the wheel)
and ``lingua`` (n-gram models for 75 languages, if ``lingua-language-detector`` is
installed). Each answer is mapped to the summarizer's language names, so a language the
summarizer does not support counts as ``generic``.

Test texts, with the language they are known to be in:

- ``seeds``: the bundled sample articles that declare a ``Language:`` header;
- ``pages``: the article text extracted from each real page of ``../shared/eval/pages``
  (its language from ``pages.json``; not part of this repository);
- ``paragraphs``: every paragraph of 40 characters or more of those pages, one at a time,
  as a harder test on short text (a feed's teaser is often this short).

It prints the accuracy and the time per call of each detector on each set.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and its name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from summarizer.nlp.detect import detect_language  # noqa: E402
from summarizer.nlp.languages import GENERIC, normalize_language  # noqa: E402
from summarizer.parsers import parse_file  # noqa: E402

REPO = HERE.parent
PAGES = REPO.parent / "shared" / "eval" / "pages"


# The most frequent function words of each language written in the Latin alphabet. A short
# list per language keeps languages that share words (Danish and Norwegian, Czech and
# Slovak) apart better than full stop-word lists would.
_FUNCTION_WORDS: dict[str, str] = {
    "english": "the and of to in is that for it with was on as are be this by have from at "
    "he said not has were will they an which their been",
    "french": "le la les des et est une un du dans que qui pour pas sur au avec il elle sont "
    "ce ont plus par été aux cette mais",
    "german": "der die und das ist den nicht ein eine zu mit sich auf für von dem im auch es "
    "wird sind wurde bei nach aus des",
    "spanish": "el la de que y los las en del se por con una un para es al lo como más pero "
    "sus fue ha este",
    "italian": "il di che la è per un una non sono del della con le gli si dei nel ha anche "
    "alla più questo",
    "portuguese": "o os as de que do da em um uma para com não dos das no na por mais foi ao é "
    "está",
    "swedish": "och att det som en på är av för med till den har inte om ett var men kan sig från",
    "czech": "se na je že v to s z do o jako by pro ale jsou byl bylo také které který když",
    "slovak": "sa na je že v to s z do o ako by pre ale sú bol bolo tiež ktoré ktorý keď",
    "polish": "w na z się nie że do to jest jak o po od przez dla ale są jego oraz był było",
    "dutch": "de het een en van is dat op te in voor niet met zijn er aan ook als bij door "
    "werd wordt",
    "danish": "og i at det er en til på som af med for den har de ikke var et der om fra blev",
    "norwegian": "og i det er som på til en av for med at har ikke den de var et om fra ble seg",
    "finnish": "ja on ei se että oli hän ovat mutta kun joka myös tai sen niin jo ole olla",
    "hungarian": "a az és hogy nem is egy van meg de volt csak már el ki mint még ez azt lesz",
    "romanian": "și de la în nu cu o un pe care că din se mai este pentru au fost ca sunt",
}
_WORD_SETS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kana", re.compile(r"[\u3040-\u30ff]")),
    ("han", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("korean", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff]")),
    ("hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("thai", re.compile(r"[\u0e00-\u0e7f]")),
    ("greek", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
)
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")

_SAMPLE_CHARS = 20_000


def handwritten(text: str) -> str:
    """The detector this project had before py3langid: writing system, then the most
    frequent function words of each Latin-script language."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return GENERIC
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS}
    if counts["kana"] > 0.05 * letters:
        return "japanese"
    if counts["han"] > 0.3 * letters:
        return "chinese"
    if counts["cyrillic"] > 0.3 * letters:
        return "ukrainian" if _UKRAINIAN_LETTERS.search(sample) else "russian"
    for name in ("korean", "arabic", "hebrew", "thai", "greek"):
        if counts[name] > 0.3 * letters:
            return name
    tokens = Counter(w.lower() for w in _WORD.findall(sample))
    total = sum(tokens.values())
    best, best_hits = GENERIC, 0
    for lang, words in _WORD_SETS.items():
        hits = sum(n for w, n in tokens.items() if w in words)
        if hits > best_hits:
            best, best_hits = lang, hits
    # Too few function words means a list of names, a headline, or an unknown language.
    if best_hits < 3 or best_hits < 0.08 * total:
        return GENERIC
    return best


def _handwritten() -> Callable[[str], str]:
    return handwritten


def _py3langid() -> Callable[[str], str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)

    def detect(text: str) -> str:
        return normalize_language(identifier.classify(text)[0])

    return detect


def _lingua() -> Callable[[str], str]:
    from lingua import LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return normalize_language(found.iso_code_639_1.name.lower() if found else None)

    return detect


def _samples() -> dict[str, list[tuple[str, str]]]:
    sets: dict[str, list[tuple[str, str]]] = {"seeds": [], "pages": [], "paragraphs": []}
    for path in sorted((REPO / "seeds").glob("*.txt")):
        article = parse_file(path)
        if article.language:
            text = f"{article.title}\n{article.text}"
            sets["seeds"].append((normalize_language(article.language), text))
    if (PAGES / "pages.json").is_file():
        expectations = json.loads((PAGES / "pages.json").read_text(encoding="utf-8"))
        for name, spec in expectations.items():
            article = parse_file(PAGES / "html" / name)
            language = normalize_language(spec["language"])
            sets["pages"].append((language, article.text))
            sets["paragraphs"].extend((language, p) for p in article.paragraphs if len(p) >= 40)
    return sets


def main() -> int:
    detectors: dict[str, Callable[[str], str]] = {
        "handwritten": _handwritten(),
        "shipped": detect_language,
    }
    for name, factory in (("py3langid", _py3langid), ("lingua", _lingua)):
        try:
            detectors[name] = factory()
        except ImportError:
            print(f"({name} is not installed: skipped)")
    sets = _samples()
    print(f"{'set':11} {'texts':>5}  " + "  ".join(f"{n:>22}" for n in detectors))
    for set_name, samples in sets.items():
        if not samples:
            print(f"{set_name:11} (no texts: ../shared/eval/pages missing?)")
            continue
        cells = []
        for detect in detectors.values():
            detect(samples[0][1])  # load models before timing
            start = time.perf_counter()
            right = sum(detect(text) == language for language, text in samples)
            ms = 1000 * (time.perf_counter() - start) / len(samples)
            cells.append(f"{100 * right / len(samples):6.1f}% {ms:7.2f} ms/text")
        print(f"{set_name:11} {len(samples):5}  " + "  ".join(f"{c:>22}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
