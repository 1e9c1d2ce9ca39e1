"""The offline sentence splitter and word tokenizer."""

from __future__ import annotations

import pytest

from summarizer.nlp.languages import SUPPORTED, get_language, normalize_language
from summarizer.nlp.tokenize import split_sentences, terms, words

EN = get_language("en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "The U.S. economy grew. Growth was 3.5% in May.",
            ["The U.S. economy grew.", "Growth was 3.5% in May."],
            id="abbreviation-and-decimal",
        ),
        pytest.param(
            "Gen. Smith met Dr. Jones on Monday. They talked.",
            ["Gen. Smith met Dr. Jones on Monday.", "They talked."],
            id="titles",
        ),
        pytest.param(
            "Apple Inc. reported profits, e.g. from phones. Shares rose.",
            ["Apple Inc. reported profits, e.g. from phones.", "Shares rose."],
            id="inc-and-eg",
        ),
        pytest.param(
            "The novel by J. K. Rowling sold well. Critics agreed.",
            ["The novel by J. K. Rowling sold well.", "Critics agreed."],
            id="initials",
        ),
        pytest.param(
            '"We will win," she said. "It is over." He left.',
            ['"We will win," she said.', '"It is over."', "He left."],
            id="quotes",
        ),
        pytest.param(
            "Sanctions hit the U.S. The move angered Beijing.",
            ["Sanctions hit the U.S.", "The move angered Beijing."],
            id="abbreviation-ending-a-sentence",
        ),
        pytest.param(
            "The minister fell ill. Her deputy took over. Reviewers miss. But tools do not.",
            [
                "The minister fell ill.",
                "Her deputy took over.",
                "Reviewers miss.",
                "But tools do not.",
            ],
            id="words-that-look-like-abbreviations",
        ),
        pytest.param(
            "Was it planned? Nobody knows! Wait... it went on.",
            ["Was it planned?", "Nobody knows!", "Wait... it went on."],
            id="question-exclamation-ellipsis",
        ),
    ],
)
def test_english_sentences(text: str, expected: list[str]) -> None:
    """Sentences are cut where a reader would cut them, and kept verbatim."""
    assert split_sentences(text, EN) == expected


def test_chinese_sentences_and_bigrams() -> None:
    """Chinese is split on full-width terminators and compared by character bigrams."""
    zh = get_language("zh")
    assert split_sentences("我们今天去北京。他说好！然后走了", zh) == [
        "我们今天去北京。",
        "他说好！",
        "然后走了",
    ]
    assert words("北京大学", zh) == ["北京", "京大", "大学"]


def test_terms_are_stemmed_without_stop_words() -> None:
    """Terms drop stop words and numbers and stem what remains."""
    assert terms("The runners were running in 2024 elections", EN) == ["runner", "run", "elect"]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("en", "english"),
        ("en-GB", "english"),
        ("French", "french"),
        ("pt_BR", "portuguese"),
        ("xx", "generic"),
        ("", "generic"),
        (None, "generic"),
        ("klingon", "generic"),
    ],
)
def test_language_names(value: str | None, name: str) -> None:
    """Codes, regional codes and names map to one language; unknown ones to generic."""
    assert normalize_language(value) == name


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_every_supported_language_has_resources(name: str) -> None:
    """Each supported language loads a working stemmer without any download."""
    language = get_language(name)
    assert language.name == name
    assert isinstance(language.stemmer("testing"), str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Am 12. März 2024 beschloss das Kabinett einen Gesetzentwurf. Die 2. Lesung ist "
            "für den 20. Juni geplant.",
            [
                "Am 12. März 2024 beschloss das Kabinett einen Gesetzentwurf.",
                "Die 2. Lesung ist für den 20. Juni geplant.",
            ],
            id="dates-and-ordinals",
        ),
        pytest.param(
            "Im 19. Jahrhundert war das anders. Heute nicht.",
            ["Im 19. Jahrhundert war das anders.", "Heute nicht."],
            id="century",
        ),
        pytest.param(
            "Die Zahl der Verletzten stieg auf 12. Die Polizei ermittelt.",
            ["Die Zahl der Verletzten stieg auf 12.", "Die Polizei ermittelt."],
            id="a-number-that-ends-a-sentence",
        ),
        pytest.param(
            "Das war 2023. Dann kam 2024.",
            ["Das war 2023.", "Dann kam 2024."],
            id="a-year",
        ),
    ],
)
def test_german_ordinals_stay_in_their_sentence(text: str, expected: list[str]) -> None:
    """Found by a reader: "Am 12. März 2024 beschloss ..." was cut after "12.", and the
    summary showed "März 2024 beschloss ..." with "Am 12." lost as a fragment; "Die 2.
    Lesung ist für den 20. Juni geplant." became three pieces."""
    assert split_sentences(text, get_language("de")) == expected


def test_an_initial_that_ends_a_sentence_keeps_both_periods_and_the_break() -> None:
    """Found by a reader: "... von Pavel K.. Diese Firma ..." was one sentence."""
    text = (
        "Er war Geschäftsführer der Firma von Pavel K.. Diese Firma hat IP-Adressen protokolliert."
    )
    assert split_sentences(text, get_language("de")) == [
        "Er war Geschäftsführer der Firma von Pavel K..",
        "Diese Firma hat IP-Adressen protokolliert.",
    ]
    assert split_sentences("Wait.. it went on. Then.. Nothing.", EN) == [
        "Wait.. it went on.",
        "Then..",
        "Nothing.",
    ]


def test_an_english_number_before_a_capital_still_ends_a_sentence() -> None:
    """The ordinal rule is German's: in English a number and a period end a sentence."""
    assert split_sentences("The score was 12. Fans left early.", EN) == [
        "The score was 12.",
        "Fans left early.",
    ]


def test_french_opening_quote_starts_the_next_sentence() -> None:
    """« opens the quoted sentence; it is not left at the end of the previous one."""
    text = "Il y avait 1 200 spectateurs. « Je dédie ce prix à ma mère », a-t-elle dit."
    assert split_sentences(text, get_language("fr")) == [
        "Il y avait 1 200 spectateurs.",
        "« Je dédie ce prix à ma mère », a-t-elle dit.",
    ]
