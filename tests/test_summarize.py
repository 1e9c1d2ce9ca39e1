"""Summaries: every method, the budget, bad input, languages and offline operation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paths import SEED_ARTICLE
from summarizer import (
    METHODS,
    NO_SENTENCE_BREAKS,
    Article,
    Summarizer,
    SummarizerError,
    UnknownMethodError,
    parse_file,
    parse_plain,
    summarize,
)

SEED = parse_file(SEED_ARTICLE)


def _sentences_in_order(article: Article, sentences: tuple[str, ...]) -> bool:
    body = article.text
    positions = [body.find(s) for s in sentences]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


def test_seed_summary_is_clean() -> None:
    """The seed's default summary: 3 verbatim body sentences, no metadata or headings."""
    summary = summarize(SEED)
    assert len(summary.sentences) == 3
    assert _sentences_in_order(SEED, summary.sentences)
    for noise in ("November 11", "12:13", "Reading time", *SEED.headings):
        assert noise not in summary.text
    assert len(summary.text) <= 600
    assert summary.language == "english"


@pytest.mark.parametrize("method", [*METHODS, "default"])
def test_every_method_summarizes_the_seed(method: str) -> None:
    """Each method returns verbatim sentences, in source order, within the budget."""
    summary = summarize(SEED, method=method, sentences=3, max_chars=600)
    assert 1 <= len(summary.sentences) <= 3
    assert _sentences_in_order(SEED, summary.sentences)
    assert len(summary.text) <= 600


@pytest.mark.parametrize("count", [1, 2, 5])
def test_sentence_count_without_budget(count: int) -> None:
    """Without a character budget the summary has exactly the sentences asked for."""
    summary = summarize(SEED, sentences=count, max_chars=None)
    assert len(summary.sentences) == count


def test_budget_prefers_shorter_sentences_to_overflowing() -> None:
    """A tight budget is met; a lone over-long sentence is shortened with an ellipsis."""
    tight = summarize(SEED, sentences=3, max_chars=200)
    assert 0 < len(tight.text) <= 200
    long_one = parse_plain("word " * 200 + "end.")
    cut = summarize(long_one, max_chars=100)
    assert len(cut.text) <= 100
    assert cut.text.endswith("…")


def test_a_summary_says_when_the_text_was_within_its_budget() -> None:
    """``short_text``: the text had no more sentences and no more characters than the
    summary may take, so there was nothing to shorten; not so for an article, nor for one
    sentence longer than the budget."""
    assert summarize(parse_plain("The bridge is shut. Ferries run.")).short_text
    assert summarize(parse_plain("The harbour bridge is shut for a week.")).short_text
    assert not summarize(SEED).short_text
    assert not summarize(parse_plain("word " * 200 + "end."), max_chars=100).short_text
    four = parse_plain(
        "Rain fell on Monday. Rivers rose on Tuesday. Roads closed on Wednesday. "
        "Schools shut on Thursday."
    )
    assert not summarize(four, sentences=3).short_text
    assert summarize(four, sentences=4).short_text


def test_unknown_method_lists_the_choices() -> None:
    """A typo in the method name says which names exist."""
    with pytest.raises(UnknownMethodError, match="lexrank"):
        Summarizer("lexrnak")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "!!! ??? ... 12345 67890", "—— •• ——"],
)
def test_text_without_sentences_is_a_clear_error(text: str) -> None:
    """Nothing to summarize is said in words."""
    with pytest.raises(SummarizerError, match="nothing to summarize"):
        summarize(Article(title="", paragraphs=(text,)))


def test_ten_megabytes_of_text_is_bounded() -> None:
    """A 10 MB paste gives a bounded summary of its beginning, flagged as truncated."""
    sentence = "The council approved a new budget for schools and roads on Tuesday. "
    text = sentence * (10_000_000 // len(sentence))
    article = parse_plain(text)
    summary = summarize(article)
    assert summary.truncated_input
    assert 1 <= len(summary.sentences) <= 3
    assert len(summary.text) <= 600


def test_one_ten_megabyte_line_without_periods() -> None:
    """A wall of text without sentence ends is refused in words, without hanging, saying
    what it lacks (it has words: "no sentences with words" misled)."""
    for text in ("lorem ipsum dolor " * 600_000, "council approves budget " * 200):
        with pytest.raises(SummarizerError) as refused:
            summarize(parse_plain(text))
        assert str(refused.value) == NO_SENTENCE_BREAKS
        assert "no sentence breaks" in NO_SENTENCE_BREAKS


FRENCH = (
    "Le gouvernement a présenté mardi un nouveau plan pour les transports publics. "
    "Le ministre a déclaré que les prix des billets baisseront dès le mois de janvier. "
    "Les syndicats ont salué une décision attendue depuis longtemps par les usagers. "
    "Mais l'opposition estime que le financement du plan reste flou et incomplet."
)


def test_language_is_detected_and_used() -> None:
    """French text is detected as French and summarized with French resources."""
    summary = summarize(parse_plain(FRENCH), sentences=2)
    assert summary.language == "french"
    assert len(summary.sentences) == 2


def test_unsupported_language_falls_back() -> None:
    """An unsupported language (Esperanto) is summarized with the generic fallback."""
    text = (
        "La urbo konstruis novan ponton super la rivero. Multaj homoj venis por vidi ĝin. "
        "La urbestro diris ke la ponto helpos la komercon. La laboro daŭris du jarojn."
    )
    summary = summarize(parse_plain(text), sentences=2, language="eo")
    assert summary.language == "generic"
    assert len(summary.sentences) == 2


@pytest.mark.parametrize("language", ["zh", "ja", "ko", "ar", "he", "th", "el", "uk", "ru", "pl"])
def test_other_scripts_never_crash(language: str) -> None:
    """Every language sumy ships resources for summarizes without optional packages."""
    samples = {
        "zh": "今天北京下雨了。很多人带了伞。地铁很拥挤。",
        "ja": "今日は東京で雨が降りました。多くの人が傘を持っていました。電車は混んでいました。",
        "ko": "오늘 서울에 비가 왔습니다. 많은 사람들이 우산을 가져왔습니다. 지하철은 붐볐습니다.",
        "ar": "هطلت الأمطار في القاهرة اليوم. حمل كثير من الناس مظلات. كان المترو مزدحما.",
        "he": "היום ירד גשם בתל אביב. אנשים רבים הביאו מטריות. הרכבת הייתה עמוסה.",
        "th": "วันนี้ฝนตกในกรุงเทพ  หลายคนนำร่มมาด้วย  รถไฟฟ้าแน่นมาก",
        "el": "Σήμερα έβρεξε στην Αθήνα. Πολλοί άνθρωποι είχαν ομπρέλες. Το μετρό ήταν γεμάτο.",
        "uk": "Сьогодні в Києві йшов дощ. Багато людей мали парасолі. Метро було переповнене.",
        "ru": "Сегодня в Москве шёл дождь. Многие люди взяли зонты. Метро было переполнено.",
        "pl": "Dzisiaj w Warszawie padał deszcz. Wielu ludzi miało parasole. Metro było pełne.",
    }
    article = parse_plain(samples[language])
    summary = summarize(article, sentences=2, language=language)
    assert 1 <= len(summary.sentences) <= 2
    assert all(s in article.text for s in summary.sentences)


def test_summary_works_with_no_nltk_data(tmp_path: Path) -> None:
    """With NLTK_DATA pointing at an empty folder, summarizing still works (no punkt)."""
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    env = {
        **os.environ,
        "NLTK_DATA": str(empty),
        "HOME": str(tmp_path),  # nltk also looks in ~/nltk_data
    }
    code = (
        "import nltk, sys\n"
        "try:\n"
        "    nltk.data.find('tokenizers/punkt_tab')\n"
        "    sys.exit('punkt is installed: this test would prove nothing')\n"
        "except LookupError:\n"
        "    pass\n"
        "from summarizer import parse_file, summarize, METHODS\n"
        f"article = parse_file({str(SEED_ARTICLE)!r})\n"
        "for method in METHODS:\n"
        "    assert len(summarize(article, method=method).sentences) >= 1, method\n"
        "print(summarize(article).text)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Netanyahu" in result.stdout
